"""Fixtures of the gateway tests: the sync tests' committed database, Redis server and
child processes (the production profile), and the embedded default as a process."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.support import Embedded, embedded_env
from tests.sync.conftest import db, fresh_db, procs, redis_srv
from tests.sync.support import REPO

__all__ = ["db", "embedded", "fresh_db", "procs", "redis_srv"]


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    env = embedded_env(tmp_path)
    cmd = [sys.executable, "-m", "app.cli", "migrate"]
    await asyncio.to_thread(
        subprocess.run, cmd, env=env, cwd=REPO, check=True, capture_output=True, timeout=120
    )
    async with httpx.AsyncClient(timeout=10) as http:
        server = Embedded(tmp_path, env, http)
        try:
            yield server
        finally:
            server.stop()
            for client in server.clients:
                await client.aclose()

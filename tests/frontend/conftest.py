"""Fixtures of the 前置 tests: a stand-in platform, and ybgate in front of it as a process
(the embedded default, ``ybgate serve all``), each test on its own files and ports."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.frontend.support import Standin, start_standin
from tests.gateway.support import Embedded, embedded_env
from tests.sync.support import REPO, Admin

Front = tuple[Embedded, Standin, Admin]


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Front]]]:
    """``await front(*standin_args, **settings)``: a stand-in (``ybgate standin`` with
    these arguments), and ``ybgate serve all`` forwarding to it with these extra
    ``YBGATE_`` settings (e.g. ``HSA_UPSTREAM_TIMEOUT_S="1"``)."""
    started: list[Embedded] = []
    standins: list[Standin] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def make(*standin_args: str, **settings: str) -> Front:
            standin = await start_standin(tmp_path, http, *standin_args)
            standins.append(standin)
            extra = {"YBGATE_HSA_UPSTREAM": standin.url}
            port = str(standin.port)  # "{port}" in a setting: the stand-in's
            extra.update({f"YBGATE_{k}": v.replace("{port}", port) for k, v in settings.items()})
            env = embedded_env(tmp_path, **extra)
            cmd = [sys.executable, "-m", "app.cli", "migrate"]
            await asyncio.to_thread(
                subprocess.run, cmd, env=env, cwd=REPO, check=True, capture_output=True
            )
            server = Embedded(tmp_path, env, http)
            started.append(server)
            admin = await server.start()
            return server, standin, admin

        try:
            yield make
        finally:
            for server in started:
                server.stop()
                for client in server.clients:
                    await client.aclose()
            for standin in standins:
                standin.proc.stop()

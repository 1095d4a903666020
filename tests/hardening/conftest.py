"""The product as a subprocess (``ybgate serve …``) on a database of the test's own: the
probes talk to a real uvicorn over real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.migrate import upgrade

TOKEN = "hardening-admin-token-0123456789"  # >= 24 characters
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CLI = [sys.executable, "-m", "app.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``ybgate serve WHICH`` process (``which`` may carry options: ``"gatekeeper
    --http uvicorn"``); ``base`` is its URL."""

    def __init__(
        self, which: str, env: dict[str, str], workdir: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-{which.replace(' ', '')}-{self.port}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [*CLI, "serve", *which.split(), "--port", str(self.port), *args],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def wait_ready(self, path: str = "/healthz", within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.base + path, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server not ready: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def base_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "YBGATE_DATABASE_URL": database_url,
        "YBGATE_BOOTSTRAP_ADMIN_TOKEN": TOKEN,
        "YBGATE_DECISION_LOG_DIR": str(workdir / "decisions"),
    }
    env.pop("YBGATE_REDIS_URL", None)
    env.update(extra)
    return env


ServeFn = Callable[..., Server]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ybgate.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def fresh_pg(pg_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own at `alembic upgrade head`."""
    url = make_url(pg_url)
    name = f"h_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        db_url = url.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, db_url)
        yield db_url
    finally:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeFn]:
    """``serve(which, database_url, ready_path="/healthz", **env)`` → a ready Server."""
    started: list[Server] = []

    def start(which: str, database_url: str, ready_path: str = "/healthz", **env: str) -> Server:
        server = Server(which, base_env(database_url, tmp_path, **env), tmp_path)
        started.append(server)
        server.wait_ready(ready_path)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()

"""Helpers of the sync tests: our own Redis servers and child processes (killed at the
end of every test, also on failure), an admin client on a committed database, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.source import current_version
from app.registry.store import RegistryStore
from app.sync.follower import RedisFollower
from app.sync.probe import fingerprint
from app.sync.redis_keys import Keys, cancel_and_wait, id_version
from app.sync.relay import Relay
from app.sync.relay_config import RelayConfig
from app.sync.snapshot_store import build_from_database
from tests.conftest import TEST_SECRETS_KEY

REPO = Path(__file__).resolve().parents[2]
INST = "H33010200001"
DAY = dt.date(2026, 6, 15)
SUSPEND = {"starts_on": "2026-06-01", "ends_on": "2026-06-30", "reason": "审核"}
RESUME = {"effective_on": "2026-06-01"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    check: Callable[[], Any], within: float, what: str, interval: float = 0.02
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            for task in asyncio.all_tasks():  # where everything is stuck, for the report
                task.print_stack(limit=8, file=sys.stderr)
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


class RedisServer:
    """A redis-server of the test's own on a free loopback port (no persistence: a kill
    loses everything, the harshest case), restartable on the same port."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.dir = workdir
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.dir), *self.extra]
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("redis-server did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


class Proc:
    """A child process; stdout JSON lines (if any) collected by a thread, stderr to a log."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self.events: list[dict[str, Any]] = []
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err, start_new_session=True
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                continue

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """kill -9 (the whole process group) and reap it."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        self.kill()

    async def event(self, kind: str, within: float, **match: Any) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for e in reversed(self.events):
                if e["event"] == kind and all(e.get(k) == v for k, v in match.items()):
                    found: dict[str, Any] = e
                    return found
            if not self.alive():
                raise AssertionError(f"{self.args} exited: {self.log.read_text()[-3000:]}")
            return None

        event: dict[str, Any] = await wait_until(find, within, f"{kind} {match} from {self.args}")
        return event

    def version(self) -> int:
        """The last version it reported (load or apply)."""
        for e in reversed(self.events):
            if e["event"] in ("load", "apply"):
                return int(e["version"])
        return -1


class Procs:
    """Every child a test started; all are killed when the test ends."""

    def __init__(self, tmp: Path, db_url: str, redis_url: str) -> None:
        self.tmp = tmp
        self.db_url = db_url
        self.redis_url = redis_url
        self.started: list[Proc] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
        env.update(
            PYTHONUNBUFFERED="1",
            YBGATE_DATABASE_URL=self.db_url,
            YBGATE_REDIS_URL=self.redis_url,
            YBGATE_DECISION_LOG_DIR=str(self.tmp / "decisions"),
            YBGATE_SECRETS_KEY=TEST_SECRETS_KEY,
        )
        env.update(extra)
        return env

    def spawn(self, name: str, *args: str, **env: str) -> Proc:
        proc = Proc([sys.executable, *args], self.env(**env), self.tmp / f"{name}.log")
        self.started.append(proc)
        return proc

    def relay(self) -> Proc:
        return self.spawn("relay", "-m", "app.sync.relay")

    def probe(self, *args: str) -> Proc:
        return self.spawn("probe", "-m", "app.sync.probe", "--block-ms", "500", *args)

    def cleanup(self) -> None:
        for proc in self.started:
            proc.kill()


def judge(store: RegistryStore, code: str, inst: str = INST, day: dt.date = DAY) -> str | None:
    """The hot path's answer for one line (reason, None = accept), from memory."""
    with store.lock:
        verdict = store.registry.context(inst).judge_code(code, day)
    return verdict[0].reason


class RecordingStore(RegistryStore):
    """Remembers every version applied, to check that none is skipped or repeated."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[int] = []

    def apply(self, patch: Any) -> None:
        super().apply(patch)
        self.applied.append(patch["version"])


def consecutive(versions: list[int]) -> bool:
    return versions == list(range(versions[0], versions[0] + len(versions))) if versions else True


async def db_version(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await current_version(session)


async def fresh_fingerprint(sessions: async_sessionmaker[AsyncSession]) -> str:
    return fingerprint(await build_from_database(sessions))


class Admin:
    """The admin API (in-process, committing to the test's own database)."""

    def __init__(self, client: httpx.AsyncClient, su: dict[str, str]) -> None:
        self.c = client
        self.su = su

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.c.post(path, json=body, headers=self.su)
        assert r.status_code in (200, 201), (path, r.status_code, r.text)
        return r.json()

    async def world(self, physicians: int, first: int = 0) -> list[tuple[str, str]]:
        """Region 330100, institution INST and ``physicians`` under agreement there:
        [(code, agreement id)]."""
        await self.post(
            "/admin/v1/regions", {"code": "330100", "name": "杭州", "policy": "zhejiang-2014"}
        )
        await self.post(
            "/admin/v1/institutions",
            {
                "code": INST,
                "name": "医院",
                "region": "330100",
                "agreement_starts_on": "2024-01-01",
                "agreement_ends_on": "2027-12-31",
            },
        )
        return [await self.physician(i) for i in range(first, first + physicians)]

    async def physician(self, i: int) -> tuple[str, str]:
        doc = await self.post(
            "/admin/v1/physicians", {"certificate_no": f"3301021980{i:017d}", "name": f"医师{i}"}
        )
        ag = await self.post(
            "/admin/v1/agreements",
            {"physician_code": doc["code"], "institution_code": INST, "starts_on": "2024-01-01"},
        )
        return doc["code"], ag["id"]

    async def suspend(self, agreement: str) -> None:
        await self.post(f"/admin/v1/agreements/{agreement}/suspend", SUSPEND)

    async def resume(self, agreement: str) -> None:
        await self.post(f"/admin/v1/agreements/{agreement}/resume", RESUME)

    async def his_token(self, inst: str = INST) -> str:
        return str((await self.post(f"/admin/v1/institutions/{inst}/tokens", {}))["token"])


@asynccontextmanager
async def running_relay(
    sessions: async_sessionmaker[AsyncSession],
    redis_url: str,
    *,
    wait_ready: bool = True,
    **config: Any,
) -> AsyncIterator[Relay]:
    """A relay on this event loop (cancelled and closed on exit)."""
    relay = Relay(sessions, redis_url, RelayConfig(**config))
    task = asyncio.create_task(relay.run())
    try:
        if wait_ready:
            await asyncio.wait_for(relay.ready.wait(), 30)
        yield relay
    finally:
        await cancel_and_wait(task)
        await relay.close()


@asynccontextmanager
async def following(
    store: RegistryStore,
    redis_url: str,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    **kw: Any,
) -> AsyncIterator[RedisFollower]:
    follower = RedisFollower(store, redis_url, sessions=sessions, **kw)
    await asyncio.wait_for(follower.start(), 30)
    try:
        yield follower
    finally:
        await follower.stop()


async def stream_versions(redis: Any, keys: Keys | None = None) -> list[int]:
    return [id_version(e) for e, _ in await redis.xrange((keys or Keys()).stream)]


class HotPath:
    """Judges ``codes`` on every store, over and over, on this event loop: the in-process
    stand-in for gatekeepers under load. A judgement that raises is a failed request."""

    def __init__(self, stores: list[RegistryStore], codes: list[str]) -> None:
        self.stores = stores
        self.codes = codes
        self.judged = 0
        self.errors = 0

    async def run(self) -> None:
        while True:
            for store in self.stores:
                try:
                    for code in self.codes:
                        judge(store, code)
                    self.judged += len(self.codes)
                except Exception:
                    self.errors += 1
            await asyncio.sleep(0)


class Writer:
    """Suspends and resumes its agreements in turn, one committed write at a time."""

    def __init__(self, admin: Admin, pairs: list[tuple[str, str]], pause: float = 0.01) -> None:
        self.admin = admin
        self.agreements = [agreement for _, agreement in pairs]
        self.pause = pause
        self.writes = 0
        self.suspended: set[str] = set()

    async def run(self) -> None:
        while True:
            for agreement in self.agreements:
                resume = agreement in self.suspended
                action, body = ("resume", RESUME) if resume else ("suspend", SUSPEND)
                r = await self.admin.c.post(
                    f"/admin/v1/agreements/{agreement}/{action}", json=body, headers=self.admin.su
                )
                # 409: a write of a previous run (cancelled in flight) had already done it.
                assert r.status_code in (200, 409), r.text
                self.suspended.symmetric_difference_update({agreement})
                self.writes += r.status_code == 200
                await asyncio.sleep(self.pause)


@asynccontextmanager
async def background(*coros: Awaitable[None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run coroutines as tasks for the duration of the block; stop them all after it.
    A task that failed makes the block fail."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        yield tasks
    finally:
        await cancel_and_wait(*tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise AssertionError("a background task failed") from task.exception()

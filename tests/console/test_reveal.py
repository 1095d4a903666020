"""The one-time reveal of a minted secret across admin processes.

Two ``ybgate serve admin`` processes on one PostgreSQL database behind a small balancer
that sends every POST to the first and every GET to the second: the page after a mint's
redirect is always served by the other process. The record side (sealed, bound to the
session and scope, popped once, expiring, gone with the session) runs on the suite's
rolled-back database.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
import pytest
from selenium import webdriver
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.console import repository as repo
from app.console import reveal
from app.console import sessions as console
from app.core.migrate import upgrade
from app.core.settings import Settings
from app.models import ConsoleReveal
from app.models.base import utcnow
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreated
from app.uow import unit_of_work
from tests.conftest import TEST_SECRETS_KEY
from tests.console.browser import ROOT, Page, free_port, new_driver
from tests.console.support import sign_in, submit

TOKEN = "yba_console_reveal_bootstrap_token_0001"
SETTINGS = Settings(console_idle_minutes=30, console_max_hours=8)
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
ONCE = "令牌只显示一次"


# ---- the record side ----


async def _session_of(maker: async_sessionmaker[AsyncSession]) -> str:
    """A signed-in console session (by a new superuser token): its id hash."""
    async with unit_of_work(maker, publish=False) as uow:
        secret = (await tokens.issue(uow.session, None, "superuser")).token
        sid, _ = await console.sign_in(uow.session, secret, SETTINGS)
    return console.hash_sid(sid)


async def _hold(maker: async_sessionmaker[AsyncSession], sid_hash: str, scope: str) -> str:
    value = TokenCreated(id="t-1", token="ybo_secret_value_0001", role="operator")
    async with unit_of_work(maker, publish=False) as uow:
        return await reveal.hold(uow.session, sid_hash, scope, value)


async def _take(
    maker: async_sessionmaker[AsyncSession], handle: str, sid_hash: str, scope: str
) -> TokenCreated | None:
    async with unit_of_work(maker, publish=False) as uow:
        return await reveal.take(uow.session, handle, sid_hash, scope, TokenCreated)


async def _rows(maker: async_sessionmaker[AsyncSession]) -> list[ConsoleReveal]:
    async with maker() as s:
        return list((await s.scalars(select(ConsoleReveal))).all())


async def test_a_reveal_is_sealed_bound_and_taken_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    mine, theirs = await _session_of(sessions), await _session_of(sessions)
    handle = await _hold(sessions, mine, "admin-token")
    [row] = await _rows(sessions)
    assert "ybo_secret_value_0001" not in row.sealed and row.sealed.startswith("v1:")
    assert handle not in row.handle_hash  # the URL's handle is stored hashed only
    # Another session, another scope, a made-up handle: nothing, and the reveal stays.
    assert await _take(sessions, handle, theirs, "admin-token") is None
    assert await _take(sessions, handle, mine, "his:H1") is None
    assert await _take(sessions, "made-up", mine, "admin-token") is None
    found = await _take(sessions, handle, mine, "admin-token")
    assert found is not None and found.token == "ybo_secret_value_0001"
    assert await _take(sessions, handle, mine, "admin-token") is None  # once
    assert await _rows(sessions) == []


async def test_a_reveal_expires_and_ends_with_its_session(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sid_hash = await _session_of(sessions)
    old = await _hold(sessions, sid_hash, "admin-token")
    async with sessions() as s, s.begin():
        await s.execute(update(ConsoleReveal).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await _take(sessions, old, sid_hash, "admin-token") is None
    assert await _rows(sessions) == []
    # An expired one is removed when the next is kept, too.
    await _hold(sessions, sid_hash, "admin-token")
    async with sessions() as s, s.begin():
        await s.execute(update(ConsoleReveal).values(expires_at=utcnow() - timedelta(seconds=1)))
    await _hold(sessions, sid_hash, "admin-token")
    assert len(await _rows(sessions)) == 1
    # The session's end (sign-out, expiry, revocation) takes its reveals with it.
    async with sessions() as s, s.begin():
        await repo.delete_session(s, sid_hash)
    assert await _rows(sessions) == []


# ---- two admin processes ----


class Balancer:
    """Every POST to one backend, every GET to the other. With ``hold`` set, the redirect
    after a mint is answered with the bare page, and the address it named is kept in
    ``held`` (as if the browser had lost the way before following it)."""

    def __init__(self, get_port: int, post_port: int) -> None:
        self.ports = {"GET": get_port, "POST": post_port}
        self.hold = False
        self.held: list[str] = []
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                balancer.forward(self)

            def do_POST(self) -> None:
                balancer.forward(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[req.command], timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP}
        conn.request(req.command, req.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        req.send_response(resp.status)
        for name, value in resp.getheaders():
            if name.lower() in HOP or name.lower() == "content-length":
                continue
            if name.lower() == "location" and self.hold and "shown=" in value:
                self.held.append(value)
                value = value.split("?")[0]
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve_admin(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "admin", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("an admin process did not start: " + log.read_text(errors="replace"))


@pytest.fixture
async def two_admins(fresh_db: str, tmp_path: Path) -> AsyncIterator[tuple[Balancer, str, int]]:
    """Two admin processes on a fresh database behind the balancer: (the balancer, the
    database URL, the port of the process that takes the POSTs)."""
    await asyncio.to_thread(upgrade, fresh_db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        YBGATE_DATABASE_URL=fresh_db,
        YBGATE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
        YBGATE_SECRETS_KEY=TEST_SECRETS_KEY,
        YBGATE_DECISION_LOG_DIR=str(tmp_path / "decisions"),
    )
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        for name in ("post", "get"):  # one after the other: each makes the bootstrap token
            started.append(_serve_admin(env, tmp_path / f"admin-{name}.log"))
        balancer = Balancer(get_port=started[1][1], post_port=started[0][1])
        try:
            yield balancer, fresh_db, started[0][1]
        finally:
            balancer.close()
    finally:
        for proc, _ in started:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def browsers() -> Iterator[list[webdriver.Chrome]]:
    drivers: list[webdriver.Chrome] = []
    try:
        yield drivers
    finally:
        for d in drivers:
            d.quit()


def _mint_auditor_token(page: Page) -> None:
    page.go("/console/tokens")
    page.find("#role").send_keys("审计人员")
    submit(page, "form[action='/console/tokens'] button")


async def _in_record(db_url: str, secret: str) -> int:
    """How many rows of the reveals and of the audit log hold ``secret`` in clear."""
    url = make_url(db_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        like = f"%{secret}%"
        reveals = await conn.fetchval(
            "SELECT count(*) FROM console_reveals WHERE sealed LIKE $1", like
        )
        audit = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE before::text LIKE $1 OR after::text LIKE $1",
            like,
        )
        return int(reveals) + int(audit)
    finally:
        await conn.close()


async def test_a_token_minted_on_one_process_is_shown_by_another_once(
    two_admins: tuple[Balancer, str, int], browsers: list[webdriver.Chrome]
) -> None:
    balancer, db_url, post_port = two_admins
    owner = Page(new_driver(), balancer.base)
    browsers.append(owner.driver)
    sign_in(owner, TOKEN)
    # The POST mints on one process; the page after its redirect comes from the other.
    _mint_auditor_token(owner)
    assert "shown=" in owner.driver.current_url
    secret = owner.find("#minted-token").text.strip()
    assert secret and ONCE not in owner.text()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{post_port}") as api:
        r = await api.get("/admin/v1/policies", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200  # the token shown is the token minted
    assert await _in_record(db_url, secret) == 0
    # A reload shows it no more.
    owner.driver.refresh()
    assert owner.finds("#minted-token") == [] and ONCE in owner.text()

    # Another session (another browser, signed in with the same token) cannot take one.
    balancer.hold = True
    _mint_auditor_token(owner)
    balancer.hold = False
    assert owner.finds("#minted-token") == []
    [address] = balancer.held
    other = Page(new_driver(), balancer.base)
    browsers.append(other.driver)
    sign_in(other, TOKEN)
    other.go(address)
    assert other.finds("#minted-token") == [] and ONCE in other.text()
    # ... and its attempt left it for the session that minted it, once.
    owner.go(address)
    second = owner.find("#minted-token").text.strip()
    assert second and second != secret
    owner.driver.refresh()
    assert owner.finds("#minted-token") == [] and ONCE in owner.text()
    assert await _in_record(db_url, second) == 0

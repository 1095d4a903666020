"""The gatekeeper's own HTTP protocol (app/gatekeeper/inline.py) over real sockets.

It decides ``POST /v1/settlements/validate`` inline, without ASGI. What an HIS must not
notice: every answer is the one the ASGI app gives (differential, random settlements,
malformed ones included), pipelined requests come back in order, every answered decision
is in the journal before its answer, and the requests it does not take (bad token,
oversized, chunked, Expect: 100-continue, Connection: close) get what they always got.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.inline import GatekeeperProtocol
from tests.gatekeeper.conftest import (
    DR_ALIASED,
    DR_CANCELLED,
    DR_PLAIN,
    DR_SUSPENDED,
    DR_TERMINATED,
    DR_VISITING,
    his,
    line,
    settlement,
)
from tests.gatekeeper.test_server import read_response

URL = "/v1/settlements/validate"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def served(gk: GatekeeperApp) -> AsyncIterator[tuple[int, list[int]]]:
    """The app (lifespan already run) behind GatekeeperProtocol on a free port; the list
    counts the requests that took uvicorn's ASGI path."""
    asgi: list[int] = []
    real_start = HttpToolsProtocol._start_asgi_task

    def counting(self: Any, cycle: Any, app: Any) -> None:
        asgi.append(1)
        real_start(self, cycle, app)

    HttpToolsProtocol._start_asgi_task = counting  # type: ignore[method-assign]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        gk, http=GatekeeperProtocol, loop="asyncio", log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield sock.getsockname()[1], asgi
    finally:
        server.should_exit = True
        await task
        HttpToolsProtocol._start_asgi_task = real_start  # type: ignore[method-assign]


@pytest.fixture
async def conn(served: tuple[int, list[int]]) -> AsyncIterator[Conn]:
    reader, writer = await asyncio.open_connection("127.0.0.1", served[0])
    try:
        yield reader, writer
    finally:
        writer.close()
        await writer.wait_closed()


def post(body: bytes, token: str = "tok-h1", extra: str = "", path: str = URL) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: gk\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def without_id(body: bytes) -> Any:
    doc = json.loads(body)
    if isinstance(doc, dict):
        doc.pop("decision_id", None)
    return doc


CODES = [DR_PLAIN, DR_SUSPENDED, DR_TERMINATED, DR_CANCELLED, DR_VISITING, DR_ALIASED]
CODES += ["D330100000006", "YB123", "YB" + "9" * 24, ""]
DAYS = ["2026-01-15", "2026-03-15", "2026-06-15", "2026-11-20", "2031-01-01", "2026-02-30"]


def random_body(rng: random.Random, i: int) -> bytes:
    """A settlement, now and then malformed in one way or another."""
    n = rng.choice([1, 2, 5, 20])
    lines = [
        line(
            str(k if rng.random() > 0.05 else 0),
            rng.choice(CODES),
            rng.choice(DAYS[:4]) if rng.random() > 0.1 else rng.choice(DAYS),
            emergency=rng.random() < 0.2,
            amount=rng.choice(["10.00", "0.10", "0.20", "99999.99", None]),
        )
        for k in range(n)
    ]
    doc: dict[str, Any] = settlement(rng.choice(["H1", "H1", "H1", "H2"]), *lines, sid=f"S-{i}")
    roll = rng.random()
    if roll < 0.04:
        doc["lines"] = []
    elif roll < 0.08:
        del doc["settlement_id"]
    elif roll < 0.1:
        return b'{"settlement_id": "S", "lines": [' * 3
    elif roll < 0.12:
        doc["lines"][0]["amount"] = "-1.00"
    return json.dumps(doc).encode()


async def test_every_answer_is_the_asgi_apps_answer(
    conn: Conn, client: httpx.AsyncClient, served: tuple[int, list[int]], gk: GatekeeperApp
) -> None:
    """Differential: 300 random settlements (malformed ones included) on the inline path
    and through the ASGI app get the same status and body, except the decision id."""
    reader, writer = conn
    rng = random.Random(20261130)
    asgi = served[1]
    for i in range(300):
        body = random_body(rng, i)
        writer.write(post(body))
        status, headers, got = await read_response(reader)
        ref = await client.post(URL, content=body, headers=his())
        assert (status, without_id(got)) == (ref.status_code, without_id(ref.content)), body
        assert headers["content-type"] == ref.headers["content-type"]
    assert not asgi, "a settlement took uvicorn's ASGI path"


async def test_every_answer_is_journaled_first_then_logged_once(
    conn: Conn, gk: GatekeeperApp, gk_env: Path
) -> None:
    reader, writer = conn
    assert gk.rt is not None
    before = gk.rt.journal.appended
    ids = []
    for i in range(5):
        body = json.dumps(settlement("H1", line("1", DR_PLAIN), sid=f"J{i}")).encode()
        writer.write(post(body))
        status, _, answer = await read_response(reader)
        assert status == 200
        assert gk.rt.journal.appended >= before + i + 1  # written before it was answered
        ids.append(json.loads(answer)["decision_id"])
    for _ in range(250):
        with sqlite3.connect(gk_env) as db:
            rows = db.execute("SELECT decision_id FROM settlement_decisions").fetchall()
        if len(rows) >= 5:
            break
        await asyncio.sleep(0.02)
    assert sorted(r[0] for r in rows) == sorted(ids)


async def test_pipelined_requests_are_answered_in_order(
    conn: Conn, served: tuple[int, list[int]]
) -> None:
    reader, writer = conn
    one = json.dumps(settlement("H1", line("1", DR_PLAIN), sid="P1")).encode()
    two = json.dumps(settlement("H1", line("1", DR_SUSPENDED, "2026-03-15"), sid="P2")).encode()
    ready = b"GET /readyz HTTP/1.1\r\nHost: gk\r\n\r\n"
    writer.write(post(one) + ready + post(two) + post(b"{", token="tok-h1"))
    answers = [await read_response(reader) for _ in range(4)]
    assert [a[0] for a in answers] == [200, 200, 200, 422]
    assert json.loads(answers[0][2])["settlement_id"] == "P1"
    assert json.loads(answers[2][2])["outcome"] == "reject"
    assert json.loads(answers[2][2])["settlement_id"] == "P2"


async def test_requests_it_does_not_take_get_what_they_always_got(
    served: tuple[int, list[int]],
) -> None:
    port, asgi = served
    body = json.dumps(settlement("H1", line("1", DR_PLAIN))).encode()

    async def exchange(raw: bytes) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            return await read_response(reader)
        finally:
            writer.close()
            await writer.wait_closed()

    status, headers, _ = await exchange(post(body, token="nope"))
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    huge = (
        f"POST {URL} HTTP/1.1\r\nHost: gk\r\nAuthorization: Bearer tok-h1\r\n"
        "Content-Length: 99999999\r\n\r\n{"
    ).encode()
    assert (await exchange(huge))[0] == 413
    chunked = (
        (
            f"POST {URL} HTTP/1.1\r\nHost: gk\r\nAuthorization: Bearer tok-h1\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n{len(body):x}\r\n"
        ).encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    assert (await exchange(chunked))[0] == 200
    status, headers, _ = await exchange(post(body, extra="Connection: close\r\n"))
    assert status == 200 and headers.get("connection") == "close"
    assert len(asgi) == 4  # each of them went to the ASGI app
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(post(body, extra="Expect: 100-continue\r\n")[: -len(body)])
        assert (await reader.readline()).startswith(b"HTTP/1.1 100")
        await reader.readline()
        writer.write(body)
        assert (await read_response(reader))[0] == 200
    finally:
        writer.close()
        await writer.wait_closed()


async def test_inline_answers_are_counted_in_the_metrics(conn: Conn, gk: GatekeeperApp) -> None:
    reader, writer = conn
    before = sum(gk.metrics.validate["accept"].counts)
    for i in range(3):
        writer.write(post(json.dumps(settlement("H1", line("1", DR_PLAIN), sid=f"M{i}")).encode()))
        assert (await read_response(reader))[0] == 200
    writer.write(post(b"[]"))
    assert (await read_response(reader))[0] == 422
    assert sum(gk.metrics.validate["accept"].counts) == before + 3
    assert sum(gk.metrics.validate["422"].counts) >= 1

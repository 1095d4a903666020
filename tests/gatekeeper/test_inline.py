"""The gatekeeper's own HTTP protocol (app/gatekeeper/server/inline.py) over real sockets.

It decides ``POST /v1/settlements/validate`` inline, without ASGI. What an HIS must not
notice: every answer is the one the ASGI app gives (differential, random settlements,
malformed ones included), pipelined requests come back in order, every answered decision
is in the journal before its answer, and the requests it does not take (bad token,
oversized, chunked, Expect: 100-continue, Connection: close) get what they always got.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.server.inline import GatekeeperProtocol
from app.registry import decision_codec as codec
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
from tests.gatekeeper.test_differential import INSTITUTIONS, world
from tests.gatekeeper.test_hsa_differential import his_body
from tests.gatekeeper.test_hsa_differential import settlement as his_settlement
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
    rows: list[tuple[str]] = []
    for _ in range(250):
        await asyncio.sleep(0.02)
        with (
            contextlib.suppress(sqlite3.OperationalError),  # the log is writing
            sqlite3.connect(gk_env, timeout=0.01) as db,
        ):
            rows = db.execute("SELECT decision_id FROM settlement_decisions").fetchall()
        if len(rows) >= 5:
            break
    assert sorted(str(uuid.UUID(r[0])) for r in rows) == sorted(ids)


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


async def test_inline_answers_are_counted_in_the_metrics(
    conn: Conn, gk: GatekeeperApp, client: httpx.AsyncClient
) -> None:
    reader, writer = conn
    before = sum(gk.metrics.validate["accept"].counts)
    for i in range(3):
        writer.write(post(json.dumps(settlement("H1", line("1", DR_PLAIN), sid=f"M{i}")).encode()))
        assert (await read_response(reader))[0] == 200
    writer.write(post(b"[]"))
    assert (await read_response(reader))[0] == 422
    assert sum(gk.metrics.validate["accept"].counts) == before + 3
    assert sum(gk.metrics.validate["422"].counts) >= 1
    text = (await client.get("/metrics")).text
    appended = re.search(r"^ybgate_decision_journal_appended (\S+)$", text, re.M)
    assert appended is not None and float(appended[1]) >= 3  # the answered ones, journaled


def _stripped(answer: bytes) -> Any:
    doc = json.loads(answer)
    for key in ("inf_refmsgid", "refmsg_time", "respond_time"):
        doc.pop(key, None)
    if doc.get("output") and "ybgate" in doc["output"]:
        doc["output"]["ybgate"].pop("decision_id")
    return doc


@pytest.mark.parametrize("seed", [21, 22])
async def test_national_format_inline_is_the_asgi_answer_and_logs_the_same_inputs(
    conn: Conn,
    client: httpx.AsyncClient,
    gk: GatekeeperApp,
    gk_env: Path,
    served: tuple[int, list[int]],
    seed: int,
) -> None:
    """Random 2204/2301 messages (and broken ones) on the inline path and through the ASGI
    app: the same answer; a repeated msgid is answered from its record; and the decision
    log stores the inputs the plain format's decision of the same settlement stores."""
    facts, codes, days = world(seed, n=200)
    gk.store.replace(facts)
    rnd = random.Random(seed)
    reader, writer = conn
    sids = []
    for k, inst in enumerate(INSTITUTIONS * 3):
        token = f"tok-{inst}"
        infno = "2301" if k % 2 == 0 else "2204"
        emergency = None if infno == "2301" else rnd.random() < 0.3
        body, amounts = his_settlement(rnd, facts, codes, days, inst, f"N{seed}-{k}", emergency)
        message = his_body(body, infno, amounts, "13" if emergency else "11")
        if k % 7 == 3:
            message = message.replace(b'"fee_ocur_time": "', b'"fee_ocur_time": "x', 1)
        writer.write(post(message, token=token, path="/v1/hsa"))
        status, _, inline = await read_response(reader)
        other = message.replace(f"N{seed}-{k}".encode(), f"A{seed}-{k}".encode())
        ref = await client.post("/v1/hsa", content=other, headers=his(token))
        assert (status, _stripped(inline)) == (ref.status_code, _stripped(ref.content))
        writer.write(post(message, token=token, path="/v1/hsa"))
        assert (await read_response(reader))[2] == inline  # the msgid's record answers
        if k % 7 != 3:
            plain = {**body, "settlement_id": f"P{seed}-{k}"}
            assert (await client.post(URL, json=plain, headers=his(token))).status_code == 200
            sids.append((f"N{seed}-{k}", f"P{seed}-{k}"))
    assert not served[1], "a message took uvicorn's ASGI path"
    rows: dict[str, str] = {}
    for _ in range(250):
        await asyncio.sleep(0.02)
        with (
            contextlib.suppress(sqlite3.OperationalError),  # the log is writing
            sqlite3.connect(gk_env, timeout=0.01) as db,
        ):
            rows = {
                sid: json.dumps(codec.decode_lines(blob, codes)[1])
                for sid, codes, blob in db.execute(
                    "SELECT settlement_id, physicians, lines FROM settlement_decisions"
                )
            }
        if all(n in rows and p in rows for n, p in sids):
            break
    for n, p in sids:
        assert json.loads(rows[n]) == json.loads(rows[p]), n


async def test_visits_fees_and_withdrawals_by_path_are_answered_inline(
    conn: Conn, gk_env: Path, served: tuple[int, list[int]]
) -> None:
    """/v1/hsa/{infno} on the inline path: a 2203 visit, a 2204 judged with it, a 2205
    withdrawal journaled before its answer; none takes uvicorn's ASGI path, and the
    withdrawal reaches its table naming the decision's line."""
    reader, writer = conn
    visit = {"infno": "2203", "msgid": "IV", "fixmedins_code": "H1",
             "input": {"mdtrtinfo": {"mdtrt_id": "MZ-I", "med_type": "13"}}}  # fmt: skip
    writer.write(post(json.dumps(visit).encode(), path="/v1/hsa/2203"))
    status, _, answer = await read_response(reader)
    assert status == 200 and json.loads(answer)["infcode"] == 0
    item = {"feedetl_sn": "1", "mdtrt_id": "MZ-I", "chrg_bchno": "B1",
            "bilg_dr_codg": DR_TERMINATED, "fee_ocur_time": "2026-07-01 09:00:00",
            "det_item_fee_sumamt": "10.0000"}  # fmt: skip
    upload = {"msgid": "IF", "fixmedins_code": "H1", "input": {"feedetail": [item]}}
    writer.write(post(b"\xef\xbb\xbf" + json.dumps(upload).encode(), path="/v1/hsa/2204"))
    status, _, answer = await read_response(reader)
    got = json.loads(answer)
    assert got["output"]["result"][0]["ybgate_reason"] == "EMERGENCY_OVERRIDE"
    withdraw = {"infno": "2205", "msgid": "IW", "fixmedins_code": "H1",
                "input": {"data": {"mdtrt_id": "MZ-I", "chrg_bchno": "B1"}}}  # fmt: skip
    writer.write(post(json.dumps(withdraw).encode(), path="/v1/hsa/2205"))
    status, _, answer = await read_response(reader)
    assert json.loads(answer)["output"]["ybgate"]["lines"] == 1
    assert not served[1], "a message took uvicorn's ASGI path"
    rows: list[Any] = []
    for _ in range(250):
        await asyncio.sleep(0.02)
        with (
            contextlib.suppress(sqlite3.OperationalError),
            sqlite3.connect(gk_env, timeout=0.01) as db,
        ):
            query = "SELECT decision_id, line_id, msgid FROM decision_withdrawals"
            rows = db.execute(query).fetchall()
        if rows:
            break
    assert rows == [(got["inf_refmsgid"], "1", "IW")]

"""The hot path under hostile input, over raw sockets against the real server: the
embedded profile (``ybgate serve all``), the gatekeeper (``ybgate serve gatekeeper``) and
the pre-forked gatekeeper (``--workers 2``). Each probe is an attack that once worked:
a repeated key that overflowed the C scanner's buffer, header floods read before any
auth, upgrades that escaped every timeout, an h2c offer that lost the body, 500s on
``/v1/hsa``, an answer that depended on the memo's history, caches grown by attacker-
chosen codes, answers never read (docs/limits.md states every bound checked here)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.core.migrate import upgrade
from tests.hardening.conftest import Server, base_env
from tests.hardening.test_connections import his_token
from tests.hardening.wire import (
    CODE,
    Conn,
    body_of,
    children,
    days_ahead,
    fee,
    fees,
    holds,
    hsa,
    plain,
    read_until_closed,
    request,
    rss_mb,
    status,
    talk,
    today,
)

LIMITS = {
    "YBGATE_HTTP_HEADER_TIMEOUT_S": "2",
    "YBGATE_HTTP_BODY_TIMEOUT_S": "2",
    "YBGATE_HTTP_KEEPALIVE_S": "1",
    "YBGATE_HTTP_SEND_TIMEOUT_S": "2",
    "YBGATE_IDEMPOTENCY_MAX_BYTES": str(1024 * 1024),  # ~2,500 msgid records
}
HSA = "/v1/hsa"
VALIDATE = "/v1/settlements/validate"
H2C = (  # what the JDK's HttpClient adds over http://
    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"
)
WEBSOCKET = (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@dataclass
class Target:
    kind: str  # all, gatekeeper, prefork
    server: Server
    token: str
    workdir: Path

    @property
    def port(self) -> int:
        return self.server.port

    def rss(self) -> float:
        return rss_mb(self.server.proc.pid)

    def settled_rss(self) -> float:
        """The resident size once the decision log has written what it queued (what is
        left held, not what is in flight)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = httpx.get(self.server.base + "/metrics", timeout=5).text
            queued = [
                ln for ln in text.splitlines() if ln.startswith("ybgate_decision_log_queued ")
            ]
            if queued and float(queued[0].split()[1]) == 0:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        return self.rss()

    def readyz(self) -> dict[str, object]:
        r = httpx.get(self.server.base + "/readyz", timeout=5)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    def alive(self) -> None:
        """Still serving, every process of it (a pre-forked one: no worker replaced)."""
        assert self.server.proc.poll() is None, self.server.log_path.read_text()[-3000:]
        body = self.readyz()
        assert body.get("worker_restarts", 0) == 0, body
        log = self.server.log_path.read_text()
        for bad in ("Fatal error", "Traceback", "died"):
            assert bad not in log, log[-3000:]


@pytest.fixture(scope="module", params=["all", "gatekeeper", "prefork"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    kind: str = request.param
    workdir = tmp_path_factory.mktemp(f"hostile-{kind}")
    url = f"sqlite+aiosqlite:///{workdir / 'ybgate.db'}"
    upgrade(url)
    env = base_env(url, workdir, YBGATE_IDEMPOTENCY_DIR=str(workdir / "msgids"), **LIMITS)
    started: list[Server] = []
    try:
        if kind == "all":
            server = Server("all", env, workdir)
            started.append(server)
            server.wait_ready("/readyz")
            token = his_token(server)
        else:
            admin = Server("admin", env, workdir)
            started.append(admin)
            admin.wait_ready()
            token = his_token(admin)
            args = ("--workers", "2") if kind == "prefork" else ()
            server = Server("gatekeeper", env, workdir, args)
            started.append(server)
            server.wait_ready("/readyz")
        yield Target(kind, server, token, workdir)
    finally:
        for s in started:
            s.stop()


# -- the C scanner ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [40, 20])
def test_a_repeated_feedetail_or_input_is_answered_by_the_reference(target: Target, n: int) -> None:
    """``input`` repeating ``feedetail`` (or the wrapper repeating ``input``) once wrote
    past the scanner's 32-line buffer (n > 32) or leaked it and read it uninitialised
    (n <= 32), killing the process. Now the scanner declines the message and the
    reference answers it (the last value of a repeated key, as msgspec reads it)."""
    conn = Conn(target.port)
    try:
        for k in range(10):
            for shape in (
                f'{{"feedetail":[{fees(n)}],"feedetail":[{fees(3, "b")}]}}',
                f'{{"feedetail":[{fees(n)}]}},"input":{{"feedetail":[{fees(3, "b")}]}}',
            ):
                message = hsa(f"R{n}-{k}-{len(shape)}", shape)
                code, answer = conn.ask(request(HSA, message, target.token))
                assert code == 200, answer
                assert [r["feedetl_sn"] for r in answer["output"]["result"]] == ["b0", "b1", "b2"]
    finally:
        conn.close()
    target.alive()


# -- heads, upgrades, timeouts -------------------------------------------------------------


def test_oversized_heads_are_refused_before_any_auth_and_closed(target: Target) -> None:
    port = target.port
    for data, expect in (
        (b"POST /v1/hsa HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 10_000 + b"\r\n", 431),
        (b"POST /v1/hsa HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 80_000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ):
        raw, closed = talk(port, data)
        assert status(raw) == expect and closed, raw[:200]
        assert b"application/problem+json" in raw
        assert body_of(raw)["errors"][0]["field"] in ("headers", "request-target")
    # A header that never ends, sent slowly: refused once its bytes pass the bound.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nX-A: ")
        try:
            for _ in range(64):
                s.sendall(b"a" * 4096)
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw, closed = read_until_closed(s, 5)
        assert status(raw) == 431 and closed, raw[:200]
    # Within the bounds: a request with 90 headers is served.
    raw, _ = talk(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 90 + b"\r\n", 1)
    assert status(raw) == 200, raw[:200]
    target.alive()


def test_header_floods_do_not_grow_memory(target: Target) -> None:
    """Three connections without a token sending header fields for 2 s once took the
    gatekeeper from 137 MB to 1 GB."""
    before = target.rss()

    def flood() -> None:
        with socket.create_connection(("127.0.0.1", target.port)) as s:
            try:
                s.sendall(b"POST /v1/hsa HTTP/1.1\r\nHost: x\r\n")
                t0 = time.monotonic()
                while time.monotonic() - t0 < 2:
                    s.sendall(b"X-" + b"a" * 60 + b": " + b"b" * 4000 + b"\r\n")
            except OSError:
                pass

    threads = [threading.Thread(target=flood) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.rss() - before < 30, (before, target.rss())
    target.alive()


@pytest.mark.parametrize("token", [False, True])
def test_upgrades_are_refused_and_closed(target: Target, token: bool) -> None:
    port, tok = target.port, target.token if token else None
    body = plain("U1", ("1", CODE, today()))
    for data in (
        request(VALIDATE, body, tok, WEBSOCKET),
        request(HSA, b"{}", tok, WEBSOCKET),
        b"GET /v1/roster HTTP/1.1\r\nHost: x\r\n" + WEBSOCKET + b"\r\n",
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
        request(VALIDATE, body, tok, b"Connection: Upgrade\r\nUpgrade: h2c, websocket\r\n"),
    ):
        raw, closed = talk(port, data)
        assert status(raw) == 400 and closed, raw[:300]
        assert body_of(raw)["errors"] == [{"field": "Upgrade", "message": "not supported"}]
    target.alive()


def test_every_phase_is_bounded_by_its_timeout(target: Target) -> None:
    """Headers that never end (after an upgrade offer too), a body that never comes, an
    idle connection that sends blank lines to stay open: each is closed."""
    port = target.port
    for head in (b"POST /v1/hsa HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1\r\n" + WEBSOCKET):
        raw, closed = talk(port, head, wait=8)
        assert status(raw) == 408 and closed, raw[:200]
    announce = request(VALIDATE, b"", target.token).replace(b"Length: 0", b"Length: 90")
    raw, closed = talk(port, announce + b"{", wait=8)
    assert status(raw) == 408 and closed, raw[:200]
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        closed = False
        try:
            for _ in range(20):  # a blank line every 0.5 s, for up to 10 s
                time.sleep(0.5)
                s.sendall(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            _, closed = read_until_closed(s, 1)
        assert closed
    target.alive()


def test_answers_never_read_stop_the_reading_and_the_connection(target: Target) -> None:
    """A client that pipelines requests and never reads the answers: the server stops
    reading it (its sends block) and lets the connection go within the timeouts, holding
    no growing backlog."""
    lines = tuple((str(k), CODE, today()) for k in range(200))
    one = request(VALIDATE, plain("P", *lines), target.token)
    before = target.settled_rss()
    s = socket.create_connection(("127.0.0.1", target.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(2)
    sent, t0 = 0, time.monotonic()
    try:
        while time.monotonic() - t0 < 30:
            s.sendall(one * 8)
            sent += 8
    except OSError:  # TimeoutError: the server stopped reading (or reset it)
        pass
    assert time.monotonic() - t0 < 30, sent  # the server did stop reading
    peer = s.getsockname()[1]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and holds(target.server.proc.pid, target.port, peer):
        time.sleep(0.25)
    held = holds(target.server.proc.pid, target.port, peer)
    s.close()
    assert not held, sent
    after = target.settled_rss()
    assert after - before < 60, (before, after, sent)
    target.alive()


def test_an_h2c_offer_is_read_as_http11_with_its_body(target: Target) -> None:
    """What Java's HttpClient sends over http://: the body is read and judged."""
    port, tok = target.port, target.token
    body = plain("H2C-1", ("1", CODE, today()))
    conn = Conn(port)
    try:
        data = request(VALIDATE, body, tok, H2C)
        head, payload = data[: -len(body)], data[-len(body) :]
        conn.send(head)
        time.sleep(0.2)
        conn.send(payload[:7])  # the body after the head, in pieces
        time.sleep(0.2)
        conn.send(payload[7:])
        code, _, raw = conn.response()
        answer = json.loads(raw)
        assert code == 200 and answer["settlement_id"] == "H2C-1", raw
        message = hsa("H2C-2", f'{{"feedetail":[{fee("1")}]}}')
        code, answer = conn.ask(request(HSA, message, tok, H2C))
        assert code == 200 and answer["output"]["result"][0]["feedetl_sn"] == "1", answer
        # pipelined, three in one write
        conn.send(request(VALIDATE, body, tok, H2C) * 3)
        assert [conn.response()[0] for _ in range(3)] == [200, 200, 200]
    finally:
        conn.close()
    target.alive()


# -- /v1/hsa answers -------------------------------------------------------------------------


def test_odd_amounts_and_deep_nesting_are_malformed_and_the_msgid_stays_free(
    target: Target,
) -> None:
    """Once 500s, and the msgid stayed claimed: the corrected resend was refused."""
    conn = Conn(target.port)
    tok = target.token
    try:
        deep = "[" * 1100 + "]" * 1100
        for msgid, inp, field in (
            (
                "A-COMMA",
                f'{{"feedetail":[{fee("1", amount=chr(34) + "1,2.34" + chr(34))}]}}',
                "input.feedetail[0].det_item_fee_sumamt",
            ),
            ("A-DEEP", f'{{"ext":{deep},"feedetail":[{fee("1")}]}}', "body"),
        ):
            code, answer = conn.ask(request(HSA, hsa(msgid, inp), tok))
            assert code == 200 and answer["infcode"] == -1 and answer["output"] is None, answer
            assert f"报文格式错误: {field}: " in answer["err_msg"], answer
            code, answer = conn.ask(request(HSA, hsa(msgid, f'{{"feedetail":[{fee("1")}]}}'), tok))
            assert code == 200 and answer["output"]["result"][0]["feedetl_sn"] == "1", answer
        # the plain format answers the same depth with a 422 naming the body
        r = conn.ask(request(VALIDATE, b'{"x":' + deep.encode() + b"}", tok))
        assert r[0] == 422 and r[1]["errors"][0]["field"] == "body", r
    finally:
        conn.close()
    target.alive()


def test_the_future_date_rule_does_not_depend_on_the_memo(target: Target) -> None:
    """A line dated after tomorrow is refused in both formats, naming it, whatever was
    asked before (an /v1/hsa line on 9999-12-31 once made that date's memo table, after
    which a plain line on that date was judged)."""
    conn = Conn(target.port)
    tok = target.token
    try:
        for k, late in enumerate(("9999-12-31", days_ahead(2))):
            inp = f'{{"feedetail":[{fee("1")},{fee("2", day=late)}]}}'
            code, answer = conn.ask(request(HSA, hsa(f"F{k}", inp), tok))
            assert code == 200 and answer["output"] is None, answer
            assert "input.feedetail[1].fee_ocur_time" in answer["err_msg"], answer
            httpx.get(  # an eligibility question on that date: a memo table for it
                f"{target.server.base}/v1/physicians/{CODE}/eligibility",
                params={"institution": "H33010200001", "date": late},
                headers={"Authorization": f"Bearer {tok}"},
            )
            for lines in (
                (("1", CODE, today()), ("2", CODE, late)),
                (("1", CODE, late),),
            ):
                code, problem = conn.ask(request(VALIDATE, plain(f"P{k}", *lines), tok))
                assert code == 422, problem
                assert problem["errors"][0]["field"] == f"lines[{len(lines) - 1}].service_date"
        code, answer = conn.ask(request(VALIDATE, plain("OK", ("1", CODE, days_ahead(1))), tok))
        assert code == 200, answer
    finally:
        conn.close()
    target.alive()


# -- memory held for what clients send -------------------------------------------------------


def test_long_physician_codes_hold_no_memory(target: Target) -> None:
    """200 settlements with a 400 KB physician code each once left +165 MB held (the
    memo kept every code). A first round brings the process's allocator and threads to
    their working size; the next 200 must then leave nothing behind."""
    code = "YB" + "1" * 400_000

    def send(prefix: str, n: int) -> None:
        conn = Conn(target.port)  # (an idle connection is closed after 1 s here)
        try:
            for i in range(n):
                status_code, answer = conn.ask(
                    request(VALIDATE, plain(f"{prefix}{i}", ("1", code, today())), target.token)
                )
                assert status_code == 200 and answer["lines"][0]["reason"] == "CODE_MALFORMED"
        finally:
            conn.close()

    send("W", 50)
    before = target.settled_rss()
    send("L", 200)
    after = target.settled_rss()
    assert after - before < 40, (before, after)
    target.alive()


def test_the_msgid_journal_is_compacted_while_running(target: Target) -> None:
    """msgid records (no Redis) stay bounded in memory and on disk while the process
    runs: 100,000 msgids once added 18.6 MB and a journal that never shrank (pre-forked
    workers: one of them rotates the journal they share, the other follows)."""
    journal = target.workdir / "msgids" / "msgids.jsonl"
    conn = Conn(target.port)
    try:
        for batch in range(60):  # 6,000 messages, pipelined 100 at a time
            one = f'{{"feedetail":[{fee("1")}]}}'
            conn.send(
                b"".join(request(HSA, hsa(f"J{batch}-{k}", one), target.token) for k in range(100))
            )
            for _ in range(100):
                assert conn.response()[0] == 200
    finally:
        conn.close()
    time.sleep(1)
    metrics = httpx.get(target.server.base + "/metrics", timeout=5).text
    assert journal.exists()
    lines = journal.read_bytes().count(b"\n")
    assert lines < 6000, lines  # compacted: evicted records are not rewritten
    assert "ybgate_msgid_compactions_total" in metrics
    target.alive()


# -- pre-fork supervision --------------------------------------------------------------------


def test_a_dead_worker_is_replaced_and_counted(target: Target) -> None:
    if target.kind != "prefork":
        pytest.skip("pre-fork only")
    workers = children(target.server.proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = children(target.server.proc.pid)
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.2)
    assert len(now) == 2 and workers[0] not in now, now
    seen = []
    for _ in range(10):  # every worker answers (the connections spread over both)
        seen.append(target.readyz())
    assert all(b["worker_restarts"] == 1 and b["workers"] == 2 for b in seen), seen
    metrics = httpx.get(target.server.base + "/metrics", timeout=5).text
    assert "ybgate_gatekeeper_worker_restarts_total 1.0" in metrics
    assert "died (signal SIGKILL)" in target.server.log_path.read_text()
    after = request(VALIDATE, plain("AFTER", ("1", CODE, today())), target.token)
    raw, _ = talk(target.port, after, 2)
    assert status(raw) == 200, raw[:300]

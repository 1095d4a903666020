"""msgid records shared by the workers of a pre-forked gatekeeper without Redis
(``ybgate serve gatekeeper --workers 2``, real processes, raw sockets): a resend that
lands on the other worker gets the kept answer, not a second decision; a changed body
is refused by both; two first sends at once are judged once. Each connection is checked
to be held by the worker the test means (from /proc)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.migrate import upgrade
from tests.hardening.conftest import Server, base_env
from tests.hardening.test_connections import his_token
from tests.hardening.wire import Conn, children, fee, fees, holds, hsa, request

HSA = "/v1/hsa"


@dataclass
class Prefork:
    server: Server
    token: str
    db: Path
    workdir: Path

    def conns(self) -> list[Conn]:
        """One keep-alive connection held by each worker (new ones until both have one)."""
        workers = children(self.server.proc.pid)
        assert len(workers) == 2, workers
        held: dict[int, Conn] = {}
        spare: list[Conn] = []
        for _ in range(200):
            conn = Conn(self.server.port)
            conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.response()[0] == 200
            peer = conn.sock.getsockname()[1]
            owner = next((w for w in workers if holds(w, self.server.port, peer)), None)
            if owner is not None and owner not in held:
                held[owner] = conn
            else:
                spare.append(conn)
            if len(held) == 2:
                break
        for conn in spare:
            conn.close()
        assert len(held) == 2, "the connections all went to one worker"
        return list(held.values())

    def decisions(self, msgid: str, settle: float = 1.5) -> int:
        """Decisions logged for ``msgid`` once the log has written what it was given."""
        deadline = time.monotonic() + 20
        n = 0
        while time.monotonic() < deadline:
            with sqlite3.connect(self.db) as db:
                row = db.execute(
                    "SELECT count(*) FROM settlement_decisions WHERE settlement_id = ?", (msgid,)
                ).fetchone()
            n = int(row[0])
            if n:
                break
            time.sleep(0.2)
        time.sleep(settle)  # a second decision would be written by now
        with sqlite3.connect(self.db) as db:
            row = db.execute(
                "SELECT count(*) FROM settlement_decisions WHERE settlement_id = ?", (msgid,)
            ).fetchone()
        return int(row[0])


@pytest.fixture(scope="module", params=["inline", "uvicorn"])
def prefork(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prefork]:
    """``--http inline`` claims in the parser's callbacks, ``uvicorn`` in the ASGI app."""
    workdir = tmp_path_factory.mktemp(f"prefork-msgids-{request.param}")
    db = workdir / "ybgate.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url)
    env = base_env(
        url,
        workdir,
        YBGATE_IDEMPOTENCY_DIR=str(workdir / "msgids"),
        YBGATE_IDEMPOTENCY_MAX_BYTES=str(1024 * 1024),  # ~2,500 records: compactions
    )
    admin = Server("admin", env, workdir)
    started = [admin]
    try:
        admin.wait_ready()
        token = his_token(admin)
        server = Server("gatekeeper", env, workdir, ("--workers", "2", "--http", request.param))
        started.append(server)
        server.wait_ready("/readyz")
        yield Prefork(server, token, db, workdir)
        log = server.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        for s in started:
            s.stop()


def _ask(conn: Conn, body: bytes, token: str) -> dict[str, Any]:
    code, answer = conn.ask(request(HSA, body, token))
    assert code == 200, answer
    assert isinstance(answer, dict)
    return answer


def test_a_resend_on_either_worker_gets_the_first_answer(prefork: Prefork) -> None:
    body = hsa("SHARE-1", f'{{"feedetail":[{fees(3)}]}}')
    a, b = prefork.conns()
    try:
        first = _ask(a, body, prefork.token)
        assert first["output"] is not None and first["inf_refmsgid"], first
        for _ in range(20):  # on new connections too: the kernel picks the worker
            conn = Conn(prefork.server.port)
            try:
                again = _ask(conn, body, prefork.token)
            finally:
                conn.close()
            assert again["inf_refmsgid"] == first["inf_refmsgid"], (first, again)
            assert again["output"] == first["output"]
        for conn in (a, b, b, a):
            again = _ask(conn, body, prefork.token)
            assert again["inf_refmsgid"] == first["inf_refmsgid"], (first, again)
            assert again["output"] == first["output"]
    finally:
        a.close()
        b.close()
    assert prefork.decisions("SHARE-1") == 1


def test_a_changed_body_is_refused_on_both_workers(prefork: Prefork) -> None:
    a, b = prefork.conns()
    try:
        first = _ask(a, hsa("SHARE-2", f'{{"feedetail":[{fee("1")}]}}'), prefork.token)
        assert first["output"] is not None, first
        changed = hsa("SHARE-2", f'{{"feedetail":[{fee("1", amount="13.50")}]}}')
        for conn in (b, a):
            answer = _ask(conn, changed, prefork.token)
            assert answer["infcode"] == -1 and answer["output"] is None, answer
            assert "msgid" in answer["err_msg"], answer
    finally:
        a.close()
        b.close()
    assert prefork.decisions("SHARE-2") == 1


def test_records_outlive_the_journal_rotated_while_running(prefork: Prefork) -> None:
    """5,000 msgids on one worker: the shared journal is rotated (it stays shorter than
    the lines written), and the last ones resent to the other worker get their answers."""
    a, b = prefork.conns()
    one = f'{{"feedetail":[{fee("1")}]}}'
    first: dict[str, str] = {}
    try:
        for batch in range(50):  # pipelined 100 at a time
            ids = [f"ROT{batch}-{k}" for k in range(100)]
            a.send(b"".join(request(HSA, hsa(m, one), prefork.token) for m in ids))
            for m in ids:
                code, _, body = a.response()
                assert code == 200, body
                first[m] = httpx.Response(200, content=body).json()["inf_refmsgid"]
        time.sleep(1)
        lines = (prefork.workdir / "msgids" / "msgids.jsonl").read_bytes().count(b"\n")
        assert lines < 5000, lines
        for m in list(first)[-50:]:
            again = _ask(b, hsa(m, one), prefork.token)
            assert again["inf_refmsgid"] == first[m], (m, again)
    finally:
        a.close()
        b.close()
    assert prefork.decisions("ROT49-99") == 1


def test_two_first_sends_at_once_are_judged_once(prefork: Prefork) -> None:
    """The same new msgid sent at the same moment to both workers, 30 times: one
    decision each time, and both answers carry it."""
    a, b = prefork.conns()
    msgids = [f"RACE-{k}" for k in range(30)]
    try:
        for msgid in msgids:
            raw = request(HSA, hsa(msgid, f'{{"feedetail":[{fees(2)}]}}'), prefork.token)
            go = threading.Barrier(2)

            def send(conn: Conn, raw: bytes = raw, go: threading.Barrier = go) -> None:
                go.wait()
                conn.send(raw)

            threads = [threading.Thread(target=send, args=(c,)) for c in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            answers = []
            for conn in (a, b):
                code, _, body = conn.response()
                assert code == 200, body
                answers.append(httpx.Response(200, content=body).json())
            assert answers[0]["inf_refmsgid"] == answers[1]["inf_refmsgid"], answers
            assert answers[0]["output"] == answers[1]["output"], answers
    finally:
        a.close()
        b.close()
    assert prefork.decisions(msgids[-1]) == 1  # (after which every decision is written)
    assert all(prefork.decisions(m, settle=0.0) == 1 for m in msgids[:-1])

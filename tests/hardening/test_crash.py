"""SIGKILL under load loses no answered decision.

The gatekeeper runs as a subprocess on a PostgreSQL database of the test's own; 32
clients validate settlements as fast as they can; 1 s in, the process is SIGKILLed. Every
decision a client received a 200 for must then be in ``settlement_decisions`` once the
journal it left behind is replayed (by the decision log, as the next process does).

    scripts/run-tests.sh tests/hardening/test_crash.py -q -s   # prints the figures
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.core.db import create_engine
from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.spill import spill_files
from tests.hardening.conftest import ServeFn
from tests.hardening.test_connections import his_token

CLIENTS = 32
KILL_AFTER_S = 1.0


def _body(n: int, code: str) -> dict[str, object]:
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    lines = [
        {"line_id": str(i), "physician_code": code, "service_date": day, "amount": "10.00"}
        for i in range(5)
    ]
    return {"settlement_id": f"S{n}", "institution_code": "H33010200001", "lines": lines}


async def _client(port: int, token: str, k: int, answered: list[str], sent: list[int]) -> None:
    """One keep-alive connection posting settlements until the server dies (a plain
    HTTP/1.1 client: httpx is slower than the server and would make the test timid)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        n = 0
        while True:
            n += 1
            body = json.dumps(_body(k * 10**6 + n, "YB1")).encode()
            writer.write(
                b"POST /v1/settlements/validate HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer %b\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (token.encode(), len(body), body)
            )
            sent[0] += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
            payload = await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 200"), head + payload
            answered.append(json.loads(payload)["decision_id"])
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


async def _load(port: int, token: str, pid: int) -> tuple[list[str], int]:
    """Decision ids of every 200 received, and the number of requests sent."""
    answered: list[str] = []
    sent = [0]

    async def killer() -> None:
        await asyncio.sleep(KILL_AFTER_S)
        os.kill(pid, signal.SIGKILL)

    clients = [_client(port, token, k, answered, sent) for k in range(CLIENTS)]
    await asyncio.gather(killer(), *clients)
    return answered, sent[0]


async def _replay(database_url: str, directory: Path) -> None:
    dlog = DecisionLog(database_url, directory)
    await dlog.start()
    try:
        deadline = time.monotonic() + 120
        while spill_files(directory) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        await dlog.stop()
    assert not spill_files(directory), "the journal was not replayed"


async def test_sigkill_under_load_loses_no_answered_decision(
    serve: ServeFn, fresh_pg: str, tmp_path: Path
) -> None:
    token = his_token(serve("admin", fresh_pg))
    gatekeeper = serve("gatekeeper", fresh_pg, ready_path="/readyz")
    answered, sent = await _load(gatekeeper.port, token, gatekeeper.proc.pid)
    gatekeeper.proc.wait(timeout=10)
    assert gatekeeper.proc.returncode == -signal.SIGKILL
    assert len(answered) > 200, "too little load to mean anything"

    directory = tmp_path / "decisions"
    left = len(spill_files(directory))
    await _replay(fresh_pg, directory)
    engine = create_engine(fresh_pg)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT decision_id FROM settlement_decisions"))
            stored = {str(r[0]) for r in rows}
    finally:
        await engine.dispose()
    lost = set(answered) - stored
    print(
        f"\nSIGKILL after {KILL_AFTER_S} s: {sent} requests sent, {len(answered)} answered, "
        f"{len(stored)} stored, {len(lost)} answered decisions lost ({left} journal files)"
    )
    assert not lost

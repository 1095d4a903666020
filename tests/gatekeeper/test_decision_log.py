"""The decision log: rows match the answers; a failing sink spills (fsynced frames)
and the spill is replayed into the database when it recovers; when even the spill fails
the queue is bounded and requests get a 503 instead of a silently lost decision."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.spill import Item, read_spill
from app.registry import decision_codec as codec
from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, his, line, settlement

URL = "/v1/settlements/validate"


async def answer(client: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    body = settlement(
        "H1",
        line("1", DR_PLAIN, amount="12.50"),
        line("2", DR_SUSPENDED, "2026-03-02", amount="3.00"),
        line("3", DR_SUSPENDED, "2026-03-02", emergency=True, amount=None),
        sid=sid,
    )
    r = await client.post(URL, json=body, headers=his())
    assert r.status_code == 200
    return dict(r.json())


async def test_rows_match_the_answers(
    client: httpx.AsyncClient, gk: GatekeeperApp, gk_env: Path
) -> None:
    answers = [await answer(client, f"S-{i}") for i in range(5)]
    assert gk.rt is not None
    dlog = gk.rt.log
    await gk.shutdown()  # drains the queue
    assert (dlog.written, dlog.spilled, dlog.failures) == (5, 0, 0)
    with sqlite3.connect(gk_env) as db:
        rows = db.execute(
            "SELECT decision_id, settlement_id, institution_code, registry_version, outcome,"
            " accepted_cents, rejected_cents, physicians, lines FROM settlement_decisions"
            " ORDER BY decision_id"
        ).fetchall()
    assert len(rows) == 5
    for a, row in zip(answers, rows, strict=True):
        assert (str(uuid.UUID(row[0])), *row[1:4]) == (
            a["decision_id"],
            a["settlement_id"],
            "H1",
            a["registry_version"],
        )
        assert codec.OUTCOMES[row[4]] == "partial"
        assert (codec.money(row[5]), codec.money(row[6])) == ("12.50", "3.00")
        lines, inputs = codec.decode_lines(row[8], row[7])
        assert lines == a["lines"]
        assert inputs is not None and inputs[0] == [DR_PLAIN, "2026-11-20", False]


def did(i: int) -> str:
    """A UUIDv7 of a fixed day, the ``i``-th of its millisecond."""
    return str(uuid.UUID(int=(1795562280123 << 80) | (0x7 << 76) | (i << 64) | (0x8 << 60)))


def item(i: int, body: bytes | None = None) -> Item:
    body = body or (
        b'{"settlement_id":"S","decision_id":"%b","registry_version":3,"outcome":"accept",'
        b'"accepted_amount":"1.00","rejected_amount":"0.00","lines":[{"line_id":"1",'
        b'"decision":"accept","reason":null}]}' % did(i).encode()
    )
    inputs = b'[["YB110101199001011234X","2026-11-30",false]]'
    return (did(i), 1795562280123, "S", "H1", 3, "accept", "1.00", "0.00", body, inputs)


async def wait_until(cond: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_spill_failure_is_back_pressure_not_loss(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spill directory should be")
    dlog = DecisionLog(
        "sqlite+aiosqlite:///" + str(tmp_path / "missing" / "x.db"),
        blocker,
        max_queue=5,
        interval=0.01,
        offer_wait=0.2,
    )
    await dlog.start()
    try:
        for i in range(5):
            assert dlog.offer(item(i))
        await wait_until(lambda: dlog.spill_failures > 0)
        assert not dlog.offer(item(99))  # full: the queue kept the unwritten batch
        assert not await dlog.offer_or_wait(item(99))
        assert len(dlog.queue) == 5
    finally:
        blocker.unlink()
        blocker.mkdir()  # the disk is back: the stop drains the queue into the spill
        await dlog.stop()
    assert dlog.spilled == 5
    assert len(list(blocker.glob("spill-*.ybz"))) == 1


async def test_full_queue_answers_503(
    client: httpx.AsyncClient, gk: GatekeeperApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gk.rt is not None
    monkeypatch.setattr(gk.rt.log, "limit", 0)
    monkeypatch.setattr(gk.rt.log, "max_queue", 0)
    monkeypatch.setattr(gk.rt.log, "offer_wait", 0.05)
    r = await client.post(URL, json=settlement("H1", line("1", DR_PLAIN)), headers=his())
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"


# -- against PostgreSQL --------------------------------------------------------------------
async def pg_rows(url: str) -> list[Any]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT decision_id, lines, physicians FROM settlement_decisions ORDER BY 2")
            )
        ).all()
    await engine.dispose()
    return list(rows)


@pytest.mark.pg
async def test_pg_down_spills_then_replays(pg_decisions: str, tmp_path: Path) -> None:
    down = make_url(pg_decisions).set(port=1).render_as_string(hide_password=False)
    dlog = DecisionLog(down, tmp_path / "spill", interval=0.01, write_timeout=2.0)
    await dlog.start()
    try:
        for i in range(30):
            assert dlog.offer(item(i))
        await wait_until(lambda: dlog.spilled == 30)
        files = list((tmp_path / "spill").glob("spill-*.ybz"))
        assert len(files) == 1
        records, torn = read_spill(".ybz", files[0].read_bytes())
        assert (len(records), torn) == (30, b"")
        assert dlog.failures >= 1
        dlog.use_database(pg_decisions)  # the database is back
        for i in range(30, 40):
            assert dlog.offer(item(i))
        await wait_until(lambda: dlog.written == 40 and dlog.pending_spill_files == 0)
    finally:
        await dlog.stop()
    rows = await pg_rows(pg_decisions)
    assert sorted(str(r[0]) for r in rows) == sorted(did(i) for i in range(40))
    lines, inputs = codec.decode_lines(rows[0][1], rows[0][2])
    assert lines == [{"line_id": "1", "decision": "accept", "reason": None}]
    assert inputs == [["YB110101199001011234X", "2026-11-30", False]]


@pytest.mark.pg
async def test_pg_table_refusing_writes_then_recovering(pg_decisions: str, tmp_path: Path) -> None:
    engine = create_async_engine(pg_decisions)
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE settlement_decisions RENAME TO parked"))
    dlog = DecisionLog(pg_decisions, tmp_path / "spill", interval=0.01)
    await dlog.start()
    try:
        for i in range(10):
            dlog.offer(item(i))
        await wait_until(lambda: dlog.spilled == 10)
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE parked RENAME TO settlement_decisions"))
        dlog._db_down_until = 0.0  # skip the back-off pause
        await wait_until(lambda: dlog.replayed == 10 and dlog.pending_spill_files == 0)
        # Replays are idempotent: the same decisions again change nothing.
        for i in range(10):
            dlog.offer(item(i))
        await wait_until(lambda: dlog.written == 20)
    finally:
        await dlog.stop()
        await engine.dispose()
    assert len(await pg_rows(pg_decisions)) == 10


@pytest.mark.pg
async def test_spill_left_by_an_earlier_process_is_replayed(
    pg_decisions: str, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    first = DecisionLog(pg_decisions, spill, sink="spill", interval=0.01)
    await first.start()
    for i in range(7):
        first.offer(item(i))
    await first.stop()
    (spill / "spill-00000000000000000001-1.jsonl").write_bytes(b'{"torn": \n')
    second = DecisionLog(pg_decisions, spill, interval=0.01)
    await second.start()
    try:
        await wait_until(lambda: second.replayed == 7 and second.pending_spill_files == 0)
    finally:
        await second.stop()
    assert len(await pg_rows(pg_decisions)) == 7
    assert (spill / "spill-00000000000000000001-1.jsonl.rejected").read_bytes() == b'{"torn": \n'


async def test_slow_database_spills_the_backlog_instead_of_refusing(
    tmp_path: Path, gk_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dlog = DecisionLog(
        f"sqlite+aiosqlite:///{gk_env}", tmp_path / "spill", max_queue=40, batch_size=10
    )
    real_insert = dlog._insert
    slow = True

    async def slow_insert(rows: list[Any], *, replay: bool = False, records: Any = None) -> None:
        if slow:
            await asyncio.sleep(0.3)  # far slower than the traffic
        await real_insert(rows, replay=replay, records=records)

    monkeypatch.setattr(dlog, "_insert", slow_insert)
    await dlog.start()
    try:
        for i in range(200):
            assert await dlog.offer_or_wait(item(i))  # never refused
            await asyncio.sleep(0.002)
        await wait_until(lambda: dlog.written - dlog.replayed + dlog.spilled == 200)
        assert dlog.spilled > 0
        slow = False
        await wait_until(lambda: dlog.replayed == dlog.spilled and not dlog.pending_spill_files)
    finally:
        await dlog.stop()
    with sqlite3.connect(gk_env) as db:
        (count,) = db.execute("SELECT count(*) FROM settlement_decisions").fetchone()
    assert count == 200

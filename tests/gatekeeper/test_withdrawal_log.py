"""Withdrawals travel like decisions (decisions/withdrawals.py): journaled before the
answer, inserted into their own table, and a journal segment left by a process that died
is replayed into the table by the next one."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import msgspec

from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.withdrawals import WithdrawalLog, Withdrawn
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import town


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, decision_id, msgid FROM decision_withdrawals").fetchall()


def _leave_segment(spill: Path, rec: Withdrawn) -> Path:
    """What a process that died leaves: a whole line and a torn one."""
    spill.mkdir(parents=True, exist_ok=True)
    segment = spill / "withdrawals-00000000000000000001-99999.jsonl"
    segment.write_bytes(msgspec.json.encode(rec) + b"\n" + b'["torn')
    return segment


async def test_a_segment_left_by_a_dead_process_is_replayed_at_start(gk_env: Path) -> None:
    rec = Withdrawn("W-1", "H1", "D-1", "3", "MZ-1", None, "MSG", "2302", 1_790_000_000_000)
    segment = _leave_segment(Path(os.environ["YBGATE_DECISION_LOG_DIR"]), rec)
    store = RegistryStore()
    store.replace(town())
    async with create_gatekeeper_app(store=store).lifespan():
        assert _rows(gk_env) == [("W-1", "D-1", "MSG")]
        assert not segment.exists()


async def test_journaled_then_inserted_then_the_segment_is_gone(
    gk_env: Path, tmp_path: Path
) -> None:
    log = WithdrawalLog(os.environ["YBGATE_DATABASE_URL"], tmp_path / "j", interval=0.01)
    await log.start()
    try:
        rec = Withdrawn("W-2", "H1", "D-2", "1", "MZ-2", "B1", "MSG2", "2205", 1_790_000_000_000)
        assert await log.add([rec])
        assert [w.id for w in log.unwritten()] == ["W-2"]
        assert list((tmp_path / "j").glob("withdrawals-*.jsonl"))  # on disk before any insert
        for _ in range(500):
            if not log.unwritten() and not list((tmp_path / "j").glob("withdrawals-*")):
                break
            await asyncio.sleep(0.01)
        assert ("W-2", "D-2", "MSG2") in _rows(gk_env)
        assert not list((tmp_path / "j").glob("withdrawals-*.jsonl"))
    finally:
        await log.stop()

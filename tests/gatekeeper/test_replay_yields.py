"""After an outage the spilled backlog is replayed without starving live traffic: live
requests are answered and their decisions reach PostgreSQL while the backlog drains in
chunks, the replay keeps to its share of the time, the backlog still reaches zero under
live load, and every answered decision is in the table exactly once. A spill file is
read a chunk at a time (never the whole file decoded at once)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.replay import Replayer, SpillReader
from app.gatekeeper.decisions.spill import SUFFIX, SpillWriter, decode_item, spill_files
from app.registry.store import RegistryStore
from tests.decisions.test_spill_formats import items
from tests.gatekeeper.conftest import DR_PLAIN, his, line, settlement

URL = "/v1/settlements/validate"


async def post(client: httpx.AsyncClient, sid: str) -> str:
    body = settlement("H1", line("1", DR_PLAIN, amount="12.50"), sid=sid)
    r = await client.post(URL, json=body, headers=his())
    assert r.status_code == 200, r.text
    return str(r.json()["decision_id"])


def gauges(r: httpx.Response) -> dict[str, float]:
    """The decision log's gauges of a /metrics page, by name without the prefix."""
    assert r.status_code == 200
    found = re.findall(r"^ybgate_decision_log_(\w+) (\S+)$", r.text, re.M)
    return {name: float(value) for name, value in found}


async def table_ids(url: str) -> list[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT decision_id FROM settlement_decisions"))).all()
    await engine.dispose()
    return [str(r[0]) for r in rows]


@pytest.mark.pg
async def test_backlog_drains_while_live_requests_are_answered_first(
    pg_decisions: str,
    gk_env: Path,
    store: RegistryStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YBGATE_DATABASE_URL", pg_decisions)
    monkeypatch.setenv("YBGATE_DECISION_REPLAY_BATCH", "100")
    monkeypatch.setenv("YBGATE_DECISION_REPLAY_SHARE", "0.25")
    down = make_url(pg_decisions).set(port=1).render_as_string(hide_password=False)
    app = create_gatekeeper_app(store=store)
    answered: list[str] = []
    async with app.lifespan():
        assert app.rt is not None
        dlog = app.rt.log
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as client:
            dlog.use_database(down)  # PostgreSQL unreachable: the decisions spill
            answered += [await post(client, f"OUT-{i}") for i in range(1200)]
            await wait_until(lambda: dlog.spilled == 1200 and not dlog.queue)
            assert gauges(await client.get("/metrics"))["backlog"] == 1200
            dlog.use_database(pg_decisions)  # back: the backlog is replayed
            during: list[tuple[int, int]] = []  # (to replay, live rows in the table)
            started = time.monotonic()
            i = 0
            while dlog.spilled > dlog.replayed:
                assert time.monotonic() - started < 60, "the backlog did not drain"
                answered.append(await post(client, f"LIVE-{i}"))
                i += 1
                during.append((dlog.spilled - dlog.replayed, dlog.written - dlog.replayed))
                await asyncio.sleep(0.005)
            # Live decisions reached the table while the backlog was still there...
            assert any(backlog > 100 and live > 0 for backlog, live in during)
            # ...and the replay yielded to them (it paused) yet drained under live load.
            assert dlog.replay_paused_s > 0
            assert dlog.replayed == 1200
            assert i > 10
            after = gauges(await client.get("/metrics"))
            assert after["replayed"] == 1200
            assert after["replay_paused_seconds"] > 0
            left = [p.name for p in spill_files(dlog.spill_dir) if "-journal" not in p.name]
            assert left == []  # replayed files are deleted (the journal's own remain)
    ids = await table_ids(pg_decisions)
    assert len(ids) == len(set(ids)) == len(answered)
    assert set(ids) == set(answered)


async def wait_until(cond: object, seconds: float = 30.0) -> None:
    assert callable(cond)
    for _ in range(int(seconds / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_a_spill_file_is_read_a_chunk_at_a_time(tmp_path: Path) -> None:
    batch = items(11, 60)
    writer = SpillWriter(tmp_path)
    for k in range(0, 60, 20):  # three writes: three frames of one stream
        writer.append(batch[k : k + 20])
    writer.close()
    (path,) = spill_files(tmp_path)
    assert path.suffix == SUFFIX
    torn = b"\x05\x00\x00\x00torn"
    reader = SpillReader(SUFFIX, path.read_bytes() + torn)
    got = []
    while not reader.done:
        rows, records = reader.chunk(7)
        assert len(rows) == len(records) <= 7
        got += rows
    assert got == [decode_item(i) for i in batch]
    assert b"".join(reader.bad) == torn


def test_the_pause_keeps_the_replay_to_its_share(tmp_path: Path) -> None:
    replay = Replayer(tmp_path, 100, 0.25)
    before = time.monotonic()
    replay.pace(0.2, live=True)  # a 0.2 s chunk: 0.6 s of pause, 25% of the time
    assert replay.next_at - before == pytest.approx(0.6, abs=0.05)
    assert not replay.ready(time.monotonic(), lambda: [tmp_path])
    replay.pace(0.2, live=False)  # nobody waiting: straight on
    assert replay.ready(time.monotonic(), lambda: [tmp_path])
    with pytest.raises(ValueError, match="share"):
        Replayer(tmp_path, 100, 0.0)


def test_the_share_rises_so_the_backlog_is_in_by_the_deadline(tmp_path: Path) -> None:
    """A small backlog keeps to the configured share; one that would not be in within
    ``drain_s`` at that share gets the share it needs; from the deadline on, full speed."""
    replay = Replayer(tmp_path, 1000, 0.25, drain_s=8.0)
    now = time.monotonic()
    replay.deadline = now + 8.0
    # 1,000 rows in 0.1 s: 10,000 left is 1 s of work, 8 s left: the configured 0.25
    assert replay.share_needed(0.1, 1000, 10_000, now) == 0.25
    # 60,000 left is 6 s of work in 8 s: 0.75 of the time
    assert replay.share_needed(0.1, 1000, 60_000, now) == pytest.approx(0.75)
    # 100,000 left cannot be in by then: as fast as it goes
    assert replay.share_needed(0.1, 1000, 100_000, now) == 1.0
    # a backlog of unknown size (an earlier process's files): the configured share
    assert replay.share_needed(0.1, 1000, 0, now) == 0.25
    # past the deadline: no pause at all
    assert replay.share_needed(0.1, 1000, 10_000, now + 9.0) == 1.0
    replay.pace(0.1, True, 1000, 60_000)
    assert replay.next_at - time.monotonic() == pytest.approx(0.1 * 0.25 / 0.75, abs=0.05)

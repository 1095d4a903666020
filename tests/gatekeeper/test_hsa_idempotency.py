"""msgid idempotency of 2204/2301 (CONTRACT.md: same institution, same msgid, same body
within 24 hours: the same answer, judged once; a different body: infcode -1 naming
msgid). Within one gatekeeper, across a restart (the local journal of the embedded
profile) and across two gatekeepers sharing the real Redis."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.idempotency import LocalIdempotency, Record, record_key
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, his, town
from tests.gatekeeper.hsa_support import fee, message
from tests.gatekeeper.world import agreement, patch, physician

BODY = message("2204", "H1", fee("1", DR_SUSPENDED, "2026-03-10"), fee("2", DR_PLAIN))


@asynccontextmanager
async def gatekeeper(store: RegistryStore | None = None) -> AsyncIterator[httpx.AsyncClient]:
    if store is None:
        store = RegistryStore()
        store.replace(town())
    app = create_gatekeeper_app(store=store)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
            yield c


async def send(c: httpx.AsyncClient, body: Any, token: str = "tok-h1") -> Any:
    r = await c.post("/v1/hsa", content=json.dumps(body).encode(), headers=his(token))
    assert r.status_code == 200, r.text
    return r.json()


def logged(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT decision_id, settlement_id FROM settlement_decisions")
        return sorted((str(uuid.UUID(d)), s) for d, s in rows.fetchall())


async def test_same_msgid_same_body_is_the_same_answer_judged_once(gk_env: Path) -> None:
    store = RegistryStore()
    store.replace(town())
    async with gatekeeper(store) as c:
        first = await send(c, BODY)
        # The record changes meanwhile: the answer does not (it was judged once).
        store.apply(patch(2, [physician(DR_SUSPENDED, agreement("H1", "2024-01-01"))], [], [], {}))
        again = await send(c, BODY)
        assert again == first
        fresh = await send(c, {**BODY, "msgid": "MSG-2"})
        assert fresh["infcode"] == 0 and fresh["output"]["ybgate"]["registry_version"] == 2
    assert logged(gk_env) == sorted(
        [(first["inf_refmsgid"], "MSG-1"), (fresh["inf_refmsgid"], "MSG-2")]
    )


async def test_same_msgid_with_another_body_names_msgid(gk_env: Path) -> None:
    async with gatekeeper() as c:
        first = await send(c, BODY)
        other = message("2204", "H1", fee("1", DR_PLAIN))
        got = await send(c, other)
        assert got["infcode"] == -1 and got["output"] is None
        assert got["err_msg"].startswith("报文格式错误: msgid: ")
        assert await send(c, BODY) == first  # the first answer still stands


async def test_msgids_are_per_institution(gk_env: Path) -> None:
    async with gatekeeper() as c:
        a = await send(c, BODY)
        b = await send(c, {**BODY, "fixmedins_code": "H2"}, token="tok-h2")
        assert a["inf_refmsgid"] != b["inf_refmsgid"]


async def test_idempotent_across_a_restart(gk_env: Path, tmp_path: Path) -> None:
    async with gatekeeper() as c:
        first = await send(c, BODY)
    assert (tmp_path / "msgids" / "msgids.jsonl").exists()
    async with gatekeeper() as c:
        assert await send(c, BODY) == first
        changed = await send(c, message("2204", "H1", fee("9", DR_PLAIN)))
        assert changed["err_msg"].startswith("报文格式错误: msgid: ")
    assert [row[1] for row in logged(gk_env)] == ["MSG-1"]


async def test_the_journal_drops_expired_and_released_records(tmp_path: Path) -> None:
    journal = LocalIdempotency(tmp_path)
    await journal.start()
    rec = Record("h", "d1", 1, 1, "t", "t", "A")
    assert await journal.claim("H1", "kept", rec) is None
    assert await journal.claim("H1", "gone", rec) is None
    await journal.release("H1", "gone", rec)
    assert await journal.claim("H1", "kept", Record("x", "d2", 2, 1, "t", "t", "A")) == rec
    await journal.stop()
    again = LocalIdempotency(tmp_path)
    await again.start()
    assert set(again.records) == {record_key("H1", "kept")}
    await again.stop()
    # Compacted at start-up: one line per live record.
    assert len((tmp_path / "msgids.jsonl").read_bytes().splitlines()) == 1


@pytest.mark.usefixtures("gk_env")
async def test_idempotent_across_two_gatekeepers_on_redis(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YBGATE_REDIS_URL", redis_url)
    body = {**BODY, "msgid": "R-" + secrets.token_hex(8)}
    async with gatekeeper() as one, gatekeeper() as two:
        first = await send(one, body)
        assert await send(two, body) == first
        got = await send(two, {**body, "med_type": "13"})
        assert got["err_msg"].startswith("报文格式错误: msgid: ")
    async with gatekeeper() as three:  # a restart: the record is in Redis
        assert await send(three, body) == first


async def test_the_journal_is_compacted_while_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expired records leave memory and, once dead lines dominate, the journal: the file
    stays near the live records however long the process runs (it once grew forever)."""
    import app.gatekeeper.decisions.idempotency as idem

    clock = [1_000_000.0]
    monkeypatch.setattr(idem.time, "time", lambda: clock[0])  # type: ignore[attr-defined]
    monkeypatch.setattr(idem, "COMPACT_MIN_LINES", 100)
    journal = LocalIdempotency(tmp_path, interval=0.01)
    await journal.start()
    rec = Record("h", "d", 1, 1, "t", "t", "AB")
    for day in range(5):  # 300 messages a "day", each day's expire the next
        for k in range(300):
            assert await journal.claim("H1", f"{day}-{k}", rec) is None
        clock[0] += idem.WINDOW_S + 1
        for _ in range(100):  # the journal's own timer expires them and compacts
            await asyncio.sleep(0.01)
            if journal.lines < 300:
                break
    for k in range(10):  # the live ones of the last day
        assert await journal.claim("H1", f"live-{k}", rec) is None
    await asyncio.sleep(0.05)
    await journal.stop()
    lines = (tmp_path / "msgids.jsonl").read_bytes().splitlines()
    assert journal.compactions == 5
    assert len(lines) == 10, len(lines)
    again = LocalIdempotency(tmp_path)
    await again.start()
    assert set(again.records) == {record_key("H1", f"live-{k}") for k in range(10)}
    await again.stop()


async def test_records_are_bounded_in_bytes_oldest_first(tmp_path: Path) -> None:
    journal = LocalIdempotency(tmp_path, max_bytes=1024 * 1024)
    await journal.start()
    rec = Record("h", "d", 1, 1, "t", "t", "A" * 20)
    for k in range(5000):
        assert await journal.claim("H1", f"m-{k}", rec) is None
        assert journal.bytes <= journal.max_bytes
    assert journal.evicted > 0
    assert record_key("H1", "m-4999") in journal.records
    assert record_key("H1", "m-0") not in journal.records  # the oldest went first
    await journal.stop()


async def test_a_failure_after_the_claim_frees_the_msgid(
    gk_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error after a msgid is claimed (here: a fault while answering) releases it:
    the message sent again is judged, not refused as "msgid already used"."""
    import app.gatekeeper.national.hsa as hsa

    real = hsa.claimed
    calls = []

    def broken(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a fault after the claim")
        return real(*args)

    monkeypatch.setattr(hsa, "claimed", broken)
    async with gatekeeper() as c:
        r = await c.post("/v1/hsa", content=json.dumps(BODY).encode(), headers=his())
        assert r.status_code == 500
        again = await send(c, BODY)
        assert again["output"] is not None and again["inf_refmsgid"]
    assert [row[1] for row in logged(gk_env)] == ["MSG-1"]


async def test_at_the_byte_bound_the_oldest_records_go_first_against_a_plain_model(
    tmp_path: Path,
) -> None:
    """Claims, releases and re-claims at the byte bound, against an ordered dict: the
    records held are always the model's (the oldest held go first), and the order index
    keeps no more entries than it needs (the oldest is found in O(1), not by walking the
    keys dropped before it)."""
    import random

    from app.gatekeeper.decisions.idempotency import RECORD_COST

    rnd = random.Random(7)
    cost = RECORD_COST + len(record_key("H1", "m000")) + 1
    journal = LocalIdempotency(tmp_path, max_bytes=50 * cost)
    await journal.start()
    model: dict[str, Record] = {}
    for i in range(5_000):
        msgid = f"m{rnd.randrange(400):03d}"
        key = record_key("H1", msgid)
        if key in model and rnd.random() < 0.3:
            await journal.release("H1", msgid, model.pop(key))
        else:
            rec = Record("h", f"d{i}", i, 1, "t", "t", "A")
            prior = await journal.claim("H1", msgid, rec)
            assert prior is model.get(key)
            if prior is None:
                model[key] = rec
                while len(model) > 50:
                    del model[next(iter(model))]
        assert list(journal.records) == list(model)
        assert len(journal.order) <= 2 * len(model) + 50
    await journal.stop()

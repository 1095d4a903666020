"""Recent lines (decisions/recent.py): what refunds and withdrawals look up, bounded in
bytes and time, and shared through Redis between gatekeepers (a refund or a withdrawal
finds the lines another instance decided)."""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.recent import (
    KEEP_PER_VISIT,
    LineMemory,
    RedisLineMemory,
    split_by_visit,
)
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import DR_SUSPENDED, his, town
from tests.gatekeeper.hsa_support import fee, message


def test_a_message_is_remembered_by_visit_and_found_by_line_or_batch() -> None:
    memory = LineMemory(ttl_s=3600, max_bytes=1 << 20)
    memory.remember("H1", "D1", b"V1\t1\tB1\tA\nV1\t2\tB2\tG\n", "V1")
    memory.remember("H1", "D2", b"V1\t1\tB3\tC\nV2\t9\t\tA\n", None)  # two visits
    assert memory.verdict("H1", "V1", "1") == ("C", "D2")  # the latest line "1"
    assert memory.verdict("H1", "V1", "2") == ("G", "D1")
    assert memory.verdict("H1", "V2", "9") == ("A", "D2")
    assert memory.verdict("H2", "V1", "1") is None  # another institution's
    assert memory.lines("H1", "V1") == [
        ("D1", "1", "B1", "A"),
        ("D1", "2", "B2", "G"),
        ("D2", "1", "B3", "C"),
    ]
    assert split_by_visit(b"a\t1\t\tA\nb\t2\t\tA\na\t3\t\tB\n") == {
        "a": b"a\t1\t\tA\na\t3\t\tB\n",
        "b": b"b\t2\t\tA\n",
    }


def test_the_memory_is_bounded_in_bytes_and_time() -> None:
    memory = LineMemory(ttl_s=3600, max_bytes=2000)
    for i in range(100):
        memory.remember("H1", f"D{i}", f"V{i}\t1\t\tA\n".encode(), f"V{i}")
    assert memory.bytes <= 2000
    assert memory.verdict("H1", "V99", "1") == ("A", "D99")
    assert memory.verdict("H1", "V0", "1") is None  # the oldest went first
    memory.purge(time.time() + 3601)
    assert memory.bytes == 0 and not memory.visits


def test_one_visit_billed_in_thousands_of_messages_keeps_its_newest() -> None:
    """A visit's records are bounded (KEEP_PER_VISIT, as in Redis), and the byte bound
    evicts a crowded visit's oldest record at once (not by a scan of the visit)."""
    memory = LineMemory(ttl_s=3600, max_bytes=200 * KEEP_PER_VISIT)
    n = 3 * KEEP_PER_VISIT
    for i in range(n):
        memory.remember("H1", f"D{i}", f"V\t{i}\t\tA\n".encode(), "V")
    held = memory.held("H1", "V")
    assert len(held) == KEEP_PER_VISIT and held[-1][0] == f"D{n - 1}"
    assert len(memory.records) <= KEEP_PER_VISIT  # the dropped ones are gone, not only hidden
    assert memory.verdict("H1", "V", str(n - 1)) == ("A", f"D{n - 1}")
    assert memory.verdict("H1", "V", "0") is None
    assert memory.bytes <= 200 * KEEP_PER_VISIT
    memory.purge(time.time() + 3601)
    assert memory.bytes == 0 and not memory.visits


def test_the_memory_gives_the_garbage_collector_nothing_to_walk() -> None:
    """However many records it holds, none of its containers is tracked by the cyclic
    garbage collector: a full collection does not walk the memory (it did, and the
    national format's p99 grew with the memory's size)."""
    memory = LineMemory(ttl_s=3600, max_bytes=1 << 24)
    for i in range(20_000):
        memory.remember("H1", f"D{i}", f"V{i % 500}\t{i}\t\tA\n".encode(), f"V{i % 500}")
    gc.collect()
    assert not any(gc.is_tracked(c) for c in (memory.records, memory.visits))
    assert len(memory.records) == 20_000
    assert memory.verdict("H1", "V7", "19507") == ("A", "D19507")


@asynccontextmanager
async def gatekeeper() -> AsyncIterator[httpx.AsyncClient]:
    store = RegistryStore()
    store.replace(town())
    app = create_gatekeeper_app(store=store)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
            yield c


async def post(client: httpx.AsyncClient, body: Any) -> Any:
    r = await client.post("/v1/hsa", content=json.dumps(body).encode(), headers=his())
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.usefixtures("gk_env")
async def test_a_refund_and_a_withdrawal_find_lines_another_instance_decided(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YBGATE_REDIS_URL", redis_url)
    visit = "ZY-" + secrets.token_hex(6)
    first = fee("A1", DR_SUSPENDED, "2026-03-10", amount="20.00")
    first.update(mdtrt_id=visit, chrg_bchno="B1")
    refund = fee("A1-R", DR_SUSPENDED, "2026-04-10", amount="-20.00")
    refund.update(mdtrt_id=visit, init_feedetl_sn="A1", cnt=-1)
    withdrawal = {"infno": "2205", "msgid": "W-" + visit, "fixmedins_code": "H1",
                  "input": {"data": {"mdtrt_id": visit, "chrg_bchno": "B1"}}}  # fmt: skip
    async with gatekeeper() as one, gatekeeper() as two:
        got = await post(one, message("2301", "H1", first, msgid="O-" + visit))
        assert got["output"]["result"][0]["ybgate_reason"] == "AGREEMENT_SUSPENDED"
        deadline = time.monotonic() + 10  # written in the background (every 20 ms)
        while True:
            got = await post(two, message("2301", "H1", refund, msgid=f"R{time.monotonic()}"))
            if got["output"]["result"][0]["ybgate_reason"] == "AGREEMENT_SUSPENDED":
                break
            assert time.monotonic() < deadline, got
            await asyncio.sleep(0.05)
        got = await post(two, withdrawal)
        assert [w["feedetl_sn"] for w in got["output"]["ybgate"]["withdrawn"]] == ["A1"]


async def test_the_redis_memory_reads_what_another_wrote(redis_url: str) -> None:
    a = RedisLineMemory(redis_url, ttl_s=3600, max_bytes=1 << 20, interval=0.01)
    b = RedisLineMemory(redis_url, ttl_s=3600, max_bytes=1 << 20)
    inst = "H" + secrets.token_hex(4)
    await a.start()
    try:
        a.remember(inst, "D1", b"V\t7\tB\tA\n", "V")
        deadline = time.monotonic() + 10
        while b.verdict(inst, "V", "7") is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
            await b.prefetch(inst, ["V"])
        assert b.verdict(inst, "V", "7") == ("A", "D1")
    finally:
        await a.stop()
        await b.stop()

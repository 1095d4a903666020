"""Visit memory (CONTRACT.md "National interface as HIS clients send it", Visits): 2201,
2203 and 2401 are acknowledged and keep ``mdtrt_id`` -> ``med_type``; a later 2204/2301
line of that visit without its own marker is judged with it; the wrapper's ``med_type``
on 2204 stays supported. Bounded in bytes, expiring, seen by every instance sharing
Redis, surviving a restart there."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.visits import RedisVisitMemory, VisitMemory
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import DR_TERMINATED, his, town
from tests.gatekeeper.hsa_support import fee, message

TERMINATED_DAY = "2026-07-01"  # DR_TERMINATED no longer bills at H1 (terminated 2026-06-01)
OVERRIDDEN = ("EMERGENCY_OVERRIDE", "AGREEMENT_TERMINATED")
REJECTED = ("AGREEMENT_TERMINATED", None)


async def post(client: httpx.AsyncClient, body: Any) -> Any:
    r = await client.post("/v1/hsa", content=json.dumps(body).encode(), headers=his())
    assert r.status_code == 200, r.text
    return r.json()


def visit(infno: str, mdtrt_id: str | None, med_type: str | None, msgid: str = "V") -> Any:
    info: dict[str, Any] = {"psn_no": "P1", "begntime": "2026-07-01 08:00:00"}
    if mdtrt_id is not None:
        info["mdtrt_id"] = mdtrt_id
    if med_type is not None:
        info["med_type"] = med_type
    return {"infno": infno, "msgid": msgid, "fixmedins_code": "H1", "input": {"mdtrtinfo": info}}


def line(sn: str, mdtrt_id: str, **extra: Any) -> dict[str, Any]:
    item = fee(sn, DR_TERMINATED, TERMINATED_DAY)
    item.update(mdtrt_id=mdtrt_id, **extra)
    return item


def verdicts(got: Any) -> list[tuple[str | None, str | None]]:
    return [(r["ybgate_reason"], r["ybgate_overridden"]) for r in got["output"]["result"]]


@pytest.mark.parametrize("infno", ["2203", "2401", "2201"])
async def test_a_visit_message_makes_later_lines_of_the_visit_emergency_lines(
    client: httpx.AsyncClient, infno: str
) -> None:
    ack = await post(client, visit(infno, "MZ-9", "13"))
    assert ack["infcode"] == 0 and ack["err_msg"] is None
    assert ack["output"]["ybgate"]["visit"] == {
        "mdtrt_id": "MZ-9",
        "med_type": "13",
        "emergency": True,
    }
    upload = message("2204", "H1", line("1", "MZ-9"), line("2", "MZ-OTHER"), med_type=None)
    assert verdicts(await post(client, upload)) == [OVERRIDDEN, REJECTED]
    # 2301: a line's own med_type is its own marker; without one the visit decides
    inpatient = message(
        "2301", "H1", line("3", "MZ-9", med_type="21"), line("4", "MZ-9"), msgid="IP", med_type=None
    )
    assert verdicts(await post(client, inpatient)) == [REJECTED, OVERRIDDEN]


async def test_the_wrapper_med_type_on_2204_stays_supported(client: httpx.AsyncClient) -> None:
    await post(client, visit("2203", "MZ-1", "13"))
    for wrapper, expected in (("13", OVERRIDDEN), ("24", OVERRIDDEN), ("11", REJECTED)):
        upload = message("2204", "H1", line("1", "MZ-2"), msgid=f"W{wrapper}", med_type=wrapper)
        assert verdicts(await post(client, upload)) == [expected]


async def test_a_visit_sent_again_as_non_emergency_is_forgotten(client: httpx.AsyncClient) -> None:
    await post(client, visit("2203", "MZ-3", "24"))
    await post(client, visit("2203", "MZ-3", "11", msgid="V2"))
    upload = message("2204", "H1", line("1", "MZ-3"), med_type=None)
    assert verdicts(await post(client, upload)) == [REJECTED]


async def test_visit_messages_missing_what_the_platform_requires_are_malformed(
    client: httpx.AsyncClient,
) -> None:
    got = await post(client, visit("2203", None, "13"))
    assert got["err_msg"].startswith("报文格式错误: input.mdtrtinfo.mdtrt_id: ")
    got = await post(client, visit("2401", "ZY-1", None))
    assert got["err_msg"].startswith("报文格式错误: input.mdtrtinfo.med_type: ")
    got = await post(client, visit("2401", None, "21"))  # the platform gives the id
    assert got["infcode"] == 0 and got["output"]["ybgate"]["visit"] is None
    bare = {"infno": "2201", "msgid": "G", "fixmedins_code": "H1", "input": {"data": {}}}
    got = await post(client, bare)
    assert got["infcode"] == 0


def test_the_memory_is_bounded_in_bytes_the_oldest_going_first() -> None:
    memory = VisitMemory(ttl_s=3600, max_bytes=2000)
    for i in range(50):
        memory.record("H1", f"MZ-{i:04d}", True)
    held = memory.of("H1") or {}
    assert memory.bytes <= 2000 and 0 < len(held) < 50
    assert "MZ-0049" in held and "MZ-0000" not in held
    kept = sorted(held)
    assert kept == [f"MZ-{i:04d}" for i in range(50 - len(kept), 50)]


def test_visits_expire() -> None:
    memory = VisitMemory(ttl_s=3600, max_bytes=1 << 20)
    memory.record("H1", "OLD", True, expires=time.time() + 1)
    memory.record("H1", "NEW", True)
    memory.purge(time.time() + 2)
    assert memory.of("H1") == {"NEW": pytest.approx(time.time() + 3600, abs=5)}
    memory.record("H1", "NEW", False)
    assert memory.of("H1") is None and memory.bytes == 0


@asynccontextmanager
async def gatekeeper() -> AsyncIterator[httpx.AsyncClient]:
    store = RegistryStore()
    store.replace(town())
    app = create_gatekeeper_app(store=store)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
            yield c


async def _eventually(check: Any, within: float = 10.0) -> None:
    """Wait for another instance to see it (a correctness wait, not a speed check: the
    propagation's speed is measured by the benchmark)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "never seen"
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("gk_env")
async def test_every_instance_sees_a_visit_and_a_restart_keeps_it(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YBGATE_REDIS_URL", redis_url)
    mdtrt_id = "MZ-" + secrets.token_hex(6)
    upload = message("2204", "H1", line("1", mdtrt_id), med_type=None)
    async with gatekeeper() as one, gatekeeper() as two:
        assert verdicts(await post(two, upload | {"msgid": "R0-" + mdtrt_id})) == [REJECTED]
        assert (await post(one, visit("2203", mdtrt_id, "13")))["infcode"] == 0
        k = 0

        async def seen() -> bool:
            nonlocal k
            k += 1
            got = await post(two, upload | {"msgid": f"R{k}-{mdtrt_id}"})
            return verdicts(got) == [OVERRIDDEN]

        await _eventually(seen)
    async with gatekeeper() as three:  # a restart: the visits are in Redis
        got = await post(three, upload | {"msgid": "R-after-" + mdtrt_id})
        assert verdicts(got) == [OVERRIDDEN]


async def test_the_redis_memory_follows_the_feed(redis_url: str) -> None:
    a = RedisVisitMemory(redis_url, ttl_s=3600, max_bytes=1 << 20)
    b = RedisVisitMemory(redis_url, ttl_s=3600, max_bytes=1 << 20)
    inst = "H" + secrets.token_hex(4)
    await a.start()
    await b.start()
    try:
        await a.publish(inst, "M1", True)
        await a.publish(inst, "M2", True)
        await a.publish(inst, "M1", False)

        async def synced() -> bool:
            return set(b.of(inst) or ()) == {"M2"}

        await _eventually(synced)
    finally:
        await a.stop()
        await b.stop()

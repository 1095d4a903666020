"""Parts of bench/scale.py: the Redis snapshot with the relay's refresh cost measured, an
outbox writer, and a light version observer.

The writer commits registry changes straight into the outbox (``registry_state`` bump +
``registry_changes`` row in one transaction, as app/sync/outbox.py does after an admin
write): a physician of the record with its agreement's suspension toggled. It measures
what scales with the registry (outbox -> relay -> Redis -> followers); the admin API's
own cost per write (~10-20 ms of CPU) is left out, since 100 of them a second are more
than this 2-core machine can give next to two ten-million-code gatekeepers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from pathlib import Path

import httpx
import synth

from app.core.db import create_engine, create_sessionmaker
from app.registry.facts import Patch, PhysicianFact, empty_patch
from app.registry.snapshot import DumpCache, dump_snapshot, load_snapshot
from app.registry.source import load_snapshot as load_record
from app.sync.redis_keys import Keys, connect, snapshot_header
from app.sync.snapshot_store import put_snapshot
from bench.sync_load import _connect


def toggled(fact: PhysicianFact, on: bool) -> PhysicianFact:
    out = copy.deepcopy(fact)
    for a in out["agreements"]:
        a["suspensions"] = [["2026-06-01", "2026-06-30"]] if on else []
    return out


async def seed_and_cost(
    snapshot: Path, pg_url: str, redis_url: str, patches: int
) -> tuple[int, int, int, dict[str, PhysicianFact]]:
    """The synthetic registry overlaid with the record, stored in Redis; prints what a
    relay's snapshot refresh costs: a full dump, then an incremental one after
    ``patches`` changes. (version, snapshot bytes, codes, the record's physicians)."""
    reg = await asyncio.to_thread(load_snapshot, snapshot)
    engine = create_engine(pg_url)
    async with create_sessionmaker(engine)() as session:
        record = await load_record(session)
    await engine.dispose()
    reg.apply(record)
    version = reg.version
    cache = DumpCache()
    cpu = time.process_time()
    body = await asyncio.to_thread(dump_snapshot, reg, cache)
    full = time.process_time() - cpu
    value = snapshot_header(version) + body
    del body
    redis = connect(redis_url, timeout=120)
    await put_snapshot(redis, Keys(), version, value)
    await redis.aclose()
    facts = {c: f for c, f in record["physicians"].items() if f is not None}
    # Refresh cost after as many patches as the run writes, to physicians drawn from the
    # whole registry (the record's physicians all sit in two shards: a bench artefact).
    template = next(iter(facts.values()))
    rnd = random.Random(14)
    for k in range(patches):
        p: Patch = empty_patch(version + k + 1)
        code = synth.code(rnd.randrange(synth.N))
        p["physicians"][code] = toggled({**template, "code": code}, bool(k % 2))
        reg.apply(p)
    cpu = time.process_time()
    size = len(await asyncio.to_thread(dump_snapshot, reg, cache))
    incremental = time.process_time() - cpu
    shards = len(reg.physicians.shards)
    print(
        f"relay_refresh_full_cpu_s={full:.2f} (every code encoded: the first snapshot, or "
        f"any refresh without the cache)\nrelay_refresh_incremental_cpu_s={incremental:.2f} "
        f"(after {patches} patches to random codes: {cache.encoded} of {shards} shards "
        f"encoded again, the rest joined as they were; {size} bytes; PostgreSQL not read)",
        flush=True,
    )
    return version, len(value), reg.physician_count(), facts


async def outbox_writer(
    pg_url: str, facts: dict[str, PhysicianFact], rate: float, seconds: float, writers: int = 4
) -> int:
    """Commit ``rate`` changes per second for ``seconds`` s from ``writers`` connections
    (the registry_state row lock orders them); how many were committed."""
    counts = await asyncio.gather(
        *(_writer(pg_url, facts, rate / writers, seconds, w) for w in range(writers))
    )
    return sum(counts)


async def _writer(
    pg_url: str, facts: dict[str, PhysicianFact], rate: float, seconds: float, seed: int
) -> int:
    conn = await _connect(pg_url)
    rnd = random.Random(seed)
    state = dict.fromkeys(facts, False)
    done, t0 = 0, time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(max(0.0, t0 + done / rate - time.monotonic()))
            code = rnd.choice(list(facts))
            state[code] = not state[code]
            fact = toggled(facts[code], state[code])
            async with conn.transaction():
                v = await conn.fetchval(
                    "UPDATE registry_state SET version = version + 1 WHERE id = 1 RETURNING version"
                )
                patch = empty_patch(int(v))
                patch["physicians"][code] = fact
                await conn.execute(
                    "INSERT INTO registry_changes (version, committed_at, payload) "
                    "VALUES ($1, clock_timestamp(), $2)",
                    v,
                    json.dumps(patch),
                )
            done += 1
    finally:
        await conn.close()
    return done


async def observe(http: httpx.AsyncClient, port: int, log: list[tuple[float, int]]) -> None:
    """Note (time, registry version) of the gatekeeper every 5 ms."""
    url = f"http://127.0.0.1:{port}/readyz"
    while True:
        try:
            r = await http.get(url)
            log.append((time.time(), int(r.json()["registry_version"])))
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        await asyncio.sleep(0.005)

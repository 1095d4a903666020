"""A registry snapshot bigger than one part is stored in parts (app/sync/snapshot_store.py):
what a follower reads back is the registry that was written, a newer snapshot replaces
an older one and leaves none of its parts behind, an older one never wins, and a reader
that races a replacement reads the newer one whole. Real Redis; parts made small so a
test-sized registry spans many."""

from __future__ import annotations

import asyncio

import pytest

from app.registry.compact import Registry
from app.sync import snapshot_store
from app.sync.probe import fingerprint
from app.sync.redis_keys import Keys, connect, snapshot_version
from app.sync.snapshot_store import encode_snapshot, fetch_registry, fetch_snapshot, put_snapshot
from tests.gatekeeper.test_differential import world
from tests.sync.support import RedisServer

KEYS = Keys("parts")


def registry(seed: int, version: int) -> Registry:
    facts, _, _ = world(seed, n=400)
    facts["version"] = version
    return Registry.from_patch(facts)


async def part_keys(redis: object) -> list[bytes]:
    return sorted(await redis.keys(f"{KEYS.snapshot}:*"))  # type: ignore[attr-defined]


async def test_parts_round_trip_replace_and_never_go_backwards(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_store, "PART_BYTES", 2048)
    redis = connect(redis_srv.url)
    try:
        old, new = registry(1, 10), registry(2, 11)
        old_value, new_value = encode_snapshot(old), encode_snapshot(new)
        assert len(old_value) > 4 * 2048  # several parts
        assert await put_snapshot(redis, KEYS, 10, old_value) == 10
        manifest = await redis.get(KEYS.snapshot)
        assert isinstance(manifest, bytes) and len(manifest) < 200  # the key: a manifest
        old_parts = await part_keys(redis)
        assert len(old_parts) == -(-(len(old_value) - 27) // 2048)
        assert await fetch_snapshot(redis, KEYS) == old_value
        got = await fetch_registry(redis, KEYS)
        assert got is not None and fingerprint(got) == fingerprint(old)
        assert await snapshot_version(redis, KEYS) == 10

        assert await put_snapshot(redis, KEYS, 11, new_value) == 11
        new_parts = await part_keys(redis)
        assert not set(old_parts) & set(new_parts)  # the replaced generation is gone
        assert await fetch_snapshot(redis, KEYS) == new_value

        assert await put_snapshot(redis, KEYS, 10, old_value) == 11  # never backwards
        assert await part_keys(redis) == new_parts  # the loser's parts are gone too
        assert await fetch_snapshot(redis, KEYS) == new_value

        small = encode_snapshot(registry(3, 12))
        monkeypatch.setattr(snapshot_store, "PART_BYTES", len(small))
        assert await put_snapshot(redis, KEYS, 12, small) == 12  # one key again
        assert await part_keys(redis) == []
        assert await fetch_snapshot(redis, KEYS) == small
    finally:
        await redis.aclose()


async def test_a_reader_racing_a_replacement_reads_the_newer_snapshot_whole(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_store, "PART_BYTES", 1024)
    redis = connect(redis_srv.url)
    try:
        values = [encode_snapshot(registry(seed, 20 + seed)) for seed in range(6)]
        await put_snapshot(redis, KEYS, 20, values[0])
        seen: list[bytes] = []

        async def read() -> None:
            for _ in range(30):
                value = await fetch_snapshot(redis, KEYS, attempts=50)
                assert value is not None
                seen.append(value)

        async def write() -> None:
            for seed in range(1, 6):
                await put_snapshot(redis, KEYS, 20 + seed, values[seed])
                await asyncio.sleep(0)

        await asyncio.gather(read(), write())
        assert seen and all(v in values for v in seen)  # never a mix of generations
        assert await fetch_snapshot(redis, KEYS) == values[-1]
    finally:
        await redis.aclose()

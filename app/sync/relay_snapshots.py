"""The relay's snapshot refresh (a mixin of :class:`app.sync.relay.Relay`).

Every ``snapshot_every`` versions or ``snapshot_interval_s`` seconds the relay dumps its
own registry in a thread (incrementally: ``DumpCache``; as pieces, never joined whole),
then stores it in Redis in a task of its own (``put_snapshot``: 4 MB parts, then the
compare-and-set), so publishing goes on while a national registry's parts are written.
Only after a snapshot is stored is the stream trimmed below it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from app.registry.compact import Registry
from app.registry.snapshot import DumpCache
from app.registry.store import RegistryStore
from app.sync.redis_keys import Keys, entry_id
from app.sync.relay_config import RelayConfig
from app.sync.snapshot_store import encode_snapshot_pieces, put_snapshot

log = logging.getLogger("ybgate.sync.relay")


class SnapshotKeeper:
    """What the relay sets up (see ``Relay.__init__``) and the snapshot steps use."""

    cfg: RelayConfig
    store: RegistryStore
    redis: aioredis.Redis
    keys: Keys
    _dump: asyncio.Task[tuple[int, list[bytes], str]] | None
    _storing: asyncio.Task[int] | None
    _dump_cache: DumpCache
    _snap_version: int | None
    _snap_at: float

    async def _snapshot_step(self) -> None:
        """Start a dump when one is due; once encoded, store it in a task of its own
        (a national registry's parts take a while to write: publishing goes on)."""
        if self._storing is not None:
            if not self._storing.done():
                return
            storing, self._storing = self._storing, None
            await storing  # its failure fails this round (the loop retries)
        if self._dump is not None:
            if self._dump.done():
                task, self._dump = self._dump, None
                version, value, cost = await task
                self._storing = asyncio.create_task(self._write_snapshot(version, value, cost))
            return
        store, snap = self.store, self._snap_version
        if not store.loaded:
            return
        behind = store.version - (snap or 0)
        due = snap is None or behind >= self.cfg.snapshot_every
        late = time.monotonic() - self._snap_at >= self.cfg.snapshot_interval_s
        due = due or (behind > 0 and late)
        if due:
            registry = store.registry
            self._dump = asyncio.create_task(
                self._encode(registry.version, registry, self._dump_cache)
            )

    @staticmethod
    async def _encode(
        version: int, registry: Registry, cache: DumpCache
    ) -> tuple[int, list[bytes], str]:
        started = time.monotonic()
        value, cpu = await asyncio.to_thread(_timed_encode, registry, cache)
        took = time.monotonic() - started
        shards = len(registry.physicians.shards)
        return (
            version,
            value,
            f"{cache.encoded}/{shards} shards encoded in {took:.2f}s ({cpu:.2f}s CPU)",
        )

    async def _finish_dump(self) -> None:
        if self._storing is not None:
            storing, self._storing = self._storing, None
            await storing
        if self._dump is None:
            return
        task, self._dump = self._dump, None
        version, value, cost = await task
        await self._write_snapshot(version, value, cost)

    async def _write_snapshot(
        self, version: int, value: bytes | list[bytes], cost: str = ""
    ) -> int:
        started = time.monotonic()
        stored = await put_snapshot(self.redis, self.keys, version, value)
        self._snap_version, self._snap_at = stored, time.monotonic()
        floor = stored - self.cfg.keep_before_snapshot
        if floor > 1:
            await self.redis.xtrim(self.keys.stream, minid=entry_id(floor), approximate=True)
        log.info(
            "snapshot version %d in Redis (%d bytes, %sstored in %.2fs)",
            stored,
            len(value) if isinstance(value, bytes) else sum(map(len, value)),
            f"{cost}, " if cost else "",
            time.monotonic() - started,
        )
        return stored


def _timed_encode(registry: Registry, cache: DumpCache) -> tuple[list[bytes], float]:
    """The snapshot value's pieces and the CPU seconds this thread spent on them."""
    cpu = time.thread_time()
    value = encode_snapshot_pieces(registry, cache)
    return value, time.thread_time() - cpu

"""Visit memory of the national format: which visits (``mdtrt_id``) are emergencies.

2201/2203/2401 carry a visit's 医疗类别 (``input.mdtrtinfo.med_type``); a later 2204/2301
line of that visit without its own marker is judged with it. Only an emergency visit
(``med_type`` 13 or 24) judges a line differently from an unknown one, so only those are
held: a visit sent again with another ``med_type`` is forgotten.

* :class:`VisitMemory` (embedded profile, no Redis): per institution a dict ``mdtrt_id
  -> expiry``, which the C fast path reads as it is (a line whose visit is in it is an
  emergency line). Bounded in bytes (``YBGATE_VISIT_MEMORY_BYTES``: the oldest visits go
  first) and in time (``YBGATE_VISIT_TTL_DAYS``). Lost when the process ends.
* :class:`RedisVisitMemory` (production, ``YBGATE_REDIS_URL``): the same local copy in
  every gatekeeper, kept by Redis: a visit is written to a sorted set per institution
  (``ybgate:visits:<institution>``, score = expiry, the key expiring with its last
  visit) and announced on the stream ``ybgate:visits:feed``, which every instance
  follows (``XREAD BLOCK`` 500 ms: seen everywhere well within a second). A gatekeeper
  that starts loads the sorted sets, so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from app.core.errors import NotReady
from app.core.tasks import cancelled

log = logging.getLogger("ybgate.gatekeeper")
ENTRY_BYTES = 200  # two dict slots, a tuple key and a float, besides the id itself
PREFIX = "ybgate:visits:"
FEED = "ybgate:visits:feed"
FEED_MAXLEN = 100_000


class VisitMemory:
    """Emergency visits per institution (see the module doc)."""

    remote = False

    def __init__(self, ttl_s: float, max_bytes: int) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.bytes = 0
        self.by_inst: dict[str, dict[str, float]] = {}
        # Every visit held ("inst\x00mdtrt_id") by number, oldest first (re-recording
        # moves it last), and each one's number: eviction and expiry in O(1). Strings and
        # ints only: never tracked by the cyclic GC.
        self.order: dict[int, str] = {}
        self.numbers: dict[str, int] = {}
        self._oldest = self._next = 0
        self._task: asyncio.Task[None] | None = None

    def of(self, inst: str) -> dict[str, float] | None:
        """The institution's emergency visits (``mdtrt_id -> expiry``), None when none."""
        return self.by_inst.get(inst) or None

    def record(self, inst: str, mdtrt_id: str, emergency: bool, expires: float = 0.0) -> None:
        """Hold (``emergency``) or forget a visit; ``expires`` defaults to now + ttl."""
        key = f"{inst}\x00{mdtrt_id}"
        if self.numbers.pop(key, None) is not None:
            self.bytes -= ENTRY_BYTES + len(mdtrt_id)
            visits = self.by_inst[inst]
            del visits[mdtrt_id]
            if not visits:
                del self.by_inst[inst]
        if not emergency:
            return
        expires = expires or time.time() + self.ttl_s
        if expires <= time.time():
            return
        number, self._next = self._next, self._next + 1
        self.order[number] = key
        self.numbers[key] = number
        self.by_inst.setdefault(inst, {})[mdtrt_id] = expires
        self.bytes += ENTRY_BYTES + len(mdtrt_id)
        while self.bytes > self.max_bytes and (oldest := self._first()) is not None:
            self._forget(oldest)

    def purge(self, now: float) -> None:
        """Drop expired visits (the oldest first: recorded later expires later)."""
        while (oldest := self._first()) is not None:
            inst, _, mdtrt_id = oldest.partition("\x00")
            if self.by_inst[inst][mdtrt_id] > now:
                break
            self._forget(oldest)

    def _first(self) -> str | None:
        """The oldest visit held (order entries of forgotten ones discarded on the way)."""
        while self._oldest < self._next:
            key = self.order[self._oldest]
            if self.numbers.get(key) == self._oldest:
                return key
            del self.order[self._oldest]
            self._oldest += 1
        return None

    def _forget(self, key: str) -> None:
        inst, _, mdtrt_id = key.partition("\x00")
        self.record(inst, mdtrt_id, False)

    async def publish(self, inst: str, mdtrt_id: str, emergency: bool) -> None:
        """Make the visit known to every instance (here: this one only)."""
        self.record(inst, mdtrt_id, emergency)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._purge_loop(), name="ybgate-visit-purge")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(60.0)
            self.purge(time.time())


class RedisVisitMemory(VisitMemory):
    """The local copy kept by Redis (see the module doc)."""

    remote = True

    def __init__(self, url: str, ttl_s: float, max_bytes: int, block_ms: int = 500) -> None:
        super().__init__(ttl_s, max_bytes)
        from app.sync.redis_keys import connect

        self.redis = connect(url, timeout=1.0)
        self.blocking = connect(url, timeout=block_ms / 1000 + 5.0)
        self.block_ms = block_ms
        self.last_id = "0-0"
        self._follow: asyncio.Task[None] | None = None
        self._stopping = False

    async def publish(self, inst: str, mdtrt_id: str, emergency: bool) -> None:
        expires = time.time() + self.ttl_s
        key = f"{PREFIX}{inst}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if emergency:
                    pipe.zadd(key, {mdtrt_id: expires})
                    pipe.expire(key, int(self.ttl_s) + 60)
                else:
                    pipe.zrem(key, mdtrt_id)
                pipe.zremrangebyscore(key, "-inf", time.time())
                fields: Any = {"i": inst, "m": mdtrt_id, "e": int(emergency), "x": expires}
                pipe.xadd(FEED, fields, maxlen=FEED_MAXLEN, approximate=True)
                await pipe.execute()
        except (RedisError, OSError):
            log.exception("visit memory: Redis did not answer")
            raise NotReady("The visit memory (Redis) is unavailable; retry shortly.") from None
        self.record(inst, mdtrt_id, emergency, expires)

    async def start(self) -> None:
        await super().start()
        try:
            await self._load()
        except (RedisError, OSError):
            log.exception("visit memory: could not load from Redis; following only")
        self._follow = asyncio.create_task(self._run(), name="ybgate-visit-follower")

    async def stop(self) -> None:
        self._stopping = True
        if self._follow is not None:
            # redis-py may turn a cancelled blocking read into a connection error, which
            # the loop survives: it also stops on the flag, and is not waited for long.
            self._follow.cancel()
            await asyncio.wait({self._follow}, timeout=2.0)
            self._follow = None
        await super().stop()
        await self.redis.aclose()
        await self.blocking.aclose()

    async def _load(self) -> None:
        """Every institution's visits, after noting where the feed stands (so nothing
        announced meanwhile is missed)."""
        top: Any = await self.redis.xrevrange(FEED, count=1)
        self.last_id = top[0][0].decode() if top else "0-0"
        now = time.time()
        loaded: list[tuple[float, str, str]] = []
        async for key in self.redis.scan_iter(match=f"{PREFIX}*", count=1000):
            name = key.decode()
            if name == FEED:
                continue
            inst = name[len(PREFIX) :]
            members: Any = await self.redis.zrangebyscore(key, now, "+inf", withscores=True)
            for member, score in members:
                loaded.append((float(score), inst, member.decode()))
        for expires, inst, mdtrt_id in sorted(loaded):
            self.record(inst, mdtrt_id, True, expires)

    async def _run(self) -> None:
        pause = 0.1
        while not self._stopping:
            got: Any
            try:
                got = await self.blocking.xread(
                    {FEED: self.last_id}, count=1000, block=self.block_ms
                )
                pause = 0.1
            except (RedisError, OSError):
                if self._stopping:
                    return
                log.warning("visit memory: Redis feed unavailable; retrying in %.1fs", pause)
                await asyncio.sleep(pause)
                pause = min(5.0, pause * 2)
                continue
            for _, entries in got or ():
                for entry_id, fields in entries:
                    self.last_id = entry_id.decode()
                    self._apply(fields)

    def _apply(self, fields: dict[bytes, bytes]) -> None:
        try:
            inst, mdtrt_id = fields[b"i"].decode(), fields[b"m"].decode()
            emergency, expires = fields[b"e"] == b"1", float(fields[b"x"])
        except (KeyError, ValueError):
            return
        self.record(inst, mdtrt_id, emergency, expires)

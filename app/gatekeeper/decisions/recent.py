"""Recent lines of the national format: each fee line's verdict, kept by visit.

A refund line (退费) naming its original line (``init_feedetl_sn``) takes that line's
verdict, and a withdrawal (2205/2302) names lines by visit (``mdtrt_id``) and line id or
charge batch (``chrg_bchno``): both need the lines an institution's earlier decisions
judged. Each decided fee upload leaves one record per visit it billed: its decision id
and its lines as text, one per line, ``mdtrt_id \\t feedetl_sn \\t chrg_bchno \\t
result letter`` (the letter indexes ``ALL_RESULTS``; the C fast path writes the same
text), so remembering a message costs one append whatever its number of lines.

* :class:`LineMemory` (embedded profile): in memory, bounded in bytes
  (``YBGATE_LINE_MEMORY_BYTES``, the oldest records go first) and in time
  (``YBGATE_LINE_MEMORY_DAYS``).
* :class:`RedisLineMemory` (production): the same, plus a list per visit in Redis
  (``ybgate:lines:<institution>:<mdtrt_id>``, expiring with the memory's time), written
  in the background (a pipeline every 20 ms); a refund or a withdrawal first reads the
  visits it names from Redis (:meth:`RedisLineMemory.prefetch`), so it finds the lines
  another instance decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable

from redis.exceptions import RedisError

from app.core.errors import NotReady

log = logging.getLogger("ybgate.gatekeeper")
RECORD_BYTES = 120  # the tuple, the list slot and the order entry, besides the text
PREFIX = "ybgate:lines:"
KEEP_PER_VISIT = (
    2000  # records kept per visit, in memory and in Redis (a pathological visit is capped)
)

Key = tuple[str, str]  # (institution, mdtrt_id)
Line = tuple[str, str, str, str]  # (decision id, feedetl_sn, chrg_bchno, result letter)


def split_by_visit(text: bytes) -> dict[str, bytes]:
    """A message's lines grouped by visit (the lines of one visit keep their order)."""
    out: dict[str, list[bytes]] = {}
    for line in text.splitlines(keepends=True):
        out.setdefault(line.partition(b"\t")[0].decode(), []).append(line)
    return {k: b"".join(v) for k, v in out.items()}


class LineMemory:
    """Recent lines by (institution, visit) (see the module doc)."""

    remote = False

    def __init__(self, ttl_s: float, max_bytes: int) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.bytes = 0
        # A visit's records, oldest first, at most KEEP_PER_VISIT (a pathological visit
        # billed in thousands of messages keeps its newest; eviction stays O(1)).
        self.visits: dict[Key, deque[tuple[str, bytes]]] = {}
        # Oldest record first: (key, expiry, size, the record itself).
        self.order: deque[tuple[Key, float, int, tuple[str, bytes]]] = deque()

    def remember(self, inst: str, decision_id: str, text: bytes, visit: str | None) -> None:
        """A decided message's lines; ``visit``: the one ``mdtrt_id`` of every line, or
        None when they name several (grouped here)."""
        if visit is not None:
            self._add((inst, visit), decision_id, text)
        else:
            for mdtrt_id, part in split_by_visit(text).items():
                self._add((inst, mdtrt_id), decision_id, part)

    def _add(self, key: Key, decision_id: str, text: bytes, expires: float = 0.0) -> None:
        now = time.time()
        size = RECORD_BYTES + len(text)
        record = (decision_id, text)
        held = self.visits.get(key)
        if held is None:
            held = self.visits[key] = deque(maxlen=KEEP_PER_VISIT)
        held.append(record)
        order = self.order
        order.append((key, expires or now + self.ttl_s, size, record))
        self.bytes += size
        if self.bytes > self.max_bytes or order[0][1] <= now:
            self.purge(now)

    def purge(self, now: float) -> None:
        """Drop expired records, then the oldest while over the byte bound."""
        order = self.order
        while order and (order[0][1] <= now or self.bytes > self.max_bytes):
            key, _, size, record = order.popleft()
            self.bytes -= size
            records = self.visits.get(key)
            # Records leave in the order they came: one still held is its visit's oldest.
            # Not there: replaced by a prefetch, or dropped past the visit's bound.
            if records and records[0] is record:
                records.popleft()
                if not records:
                    del self.visits[key]

    def lines(self, inst: str, mdtrt_id: str) -> list[Line]:
        """Every remembered line of the visit, oldest decision first."""
        out: list[Line] = []
        for decision_id, text in self.visits.get((inst, mdtrt_id), ()):
            for raw in text.decode().splitlines():
                _, sn, chrg, letter = raw.split("\t")
                out.append((decision_id, sn, chrg, letter))
        return out

    def verdict(self, inst: str, mdtrt_id: str, sn: str) -> tuple[str, str] | None:
        """(result letter, decision id) of the latest line ``sn`` of the visit."""
        needle = f"\n{mdtrt_id}\t{sn}\t".encode()
        for decision_id, text in reversed(self.visits.get((inst, mdtrt_id), ())):
            at = (b"\n" + text).find(needle)
            if at >= 0:
                end = text.index(b"\n", at)
                return chr(text[end - 1]), decision_id
        return None

    async def prefetch(self, inst: str, visits: Iterable[str]) -> None:
        """Nothing to fetch: this memory is the only one."""
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisLineMemory(LineMemory):
    """The memory shared through Redis (see the module doc)."""

    remote = True

    def __init__(self, url: str, ttl_s: float, max_bytes: int, interval: float = 0.02) -> None:
        super().__init__(ttl_s, max_bytes)
        from app.sync.redis_keys import connect

        self.redis = connect(url, timeout=1.0)
        self.interval = interval
        self.pending: list[tuple[Key, bytes]] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def _add(self, key: Key, decision_id: str, text: bytes, expires: float = 0.0) -> None:
        super()._add(key, decision_id, text, expires)
        if not expires:  # a new record, not one read back from Redis
            self.pending.append((key, decision_id.encode() + b"\n" + text))

    async def prefetch(self, inst: str, visits: Iterable[str]) -> None:
        """The visits' records as Redis has them (every instance's), replacing this
        instance's copy of them."""
        keys = sorted(set(visits))
        if not keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for mdtrt_id in keys:
                    pipe.lrange(f"{PREFIX}{inst}:{mdtrt_id}", 0, -1)
                    pipe.ttl(f"{PREFIX}{inst}:{mdtrt_id}")
                got = await pipe.execute()
        except (RedisError, OSError):
            log.exception("line memory: Redis did not answer")
            raise NotReady("The line memory (Redis) is unavailable; retry shortly.") from None
        now = time.time()
        for i, mdtrt_id in enumerate(keys):
            values, ttl = got[2 * i], got[2 * i + 1]
            if not values:
                continue
            key = (inst, mdtrt_id)
            self.visits.pop(key, None)  # order entries of the dropped ones expire harmlessly
            for value in values:
                decision_id, _, text = bytes(value).partition(b"\n")
                expires = now + (ttl if ttl and ttl > 0 else self.ttl_s)
                super()._add(key, decision_id.decode(), text, expires)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ybgate-line-memory")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=2.0)  # it stops on the flag
            self._task.cancel()
            self._task = None
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self._flush()
        await self.redis.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval)
            try:
                await self._flush()
            except (RedisError, OSError):
                log.warning("line memory: Redis write failed; retrying")
                await asyncio.sleep(1.0)

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        ttl = int(self.ttl_s)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (inst, mdtrt_id), value in batch:
                    key = f"{PREFIX}{inst}:{mdtrt_id}"
                    pipe.rpush(key, value)
                    pipe.ltrim(key, -KEEP_PER_VISIT, -1)
                    pipe.expire(key, ttl)
                await pipe.execute()
        except BaseException:
            self.pending[:0] = batch
            raise

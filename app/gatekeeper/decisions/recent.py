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
import struct
import time
from collections.abc import Iterable

from redis.exceptions import RedisError

from app.core.errors import NotReady

log = logging.getLogger("ybgate.gatekeeper")
RECORD_BYTES = 90  # the bytes object, its dict slot and its number, besides the record
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


_NUMBER = struct.Struct("<q")
_HEAD = struct.Struct("<dHH")  # expiry, then the lengths of the visit and the decision id


def _visit(key: Key) -> str:
    return f"{key[0]}\x00{key[1]}"


def _pack(expires: float, visit: str, decision_id: str, text: bytes) -> bytes:
    v, d = visit.encode(), decision_id.encode()
    return _HEAD.pack(expires, len(v), len(d)) + v + d + text


def _unpack(record: bytes) -> tuple[str, str, bytes]:
    """(visit, decision id, lines) of a packed record."""
    _, nv, nd = _HEAD.unpack_from(record)
    at = _HEAD.size
    return (
        record[at : at + nv].decode(),
        record[at + nv : at + nv + nd].decode(),
        record[at + nv + nd :],
    )


def _expiry(records: dict[int, bytes], number: int) -> float:
    """Record ``number``'s expiry; infinity when it is not held."""
    record = records.get(number)
    return _HEAD.unpack_from(record)[0] if record is not None else float("inf")


class LineMemory:
    """Recent lines by (institution, visit) (see the module doc).

    Held so that the cyclic garbage collector never walks it: a record is one ``bytes``
    (its expiry, visit, decision id and lines, packed) in a dict keyed by an increasing
    number, and a visit's records are those numbers, packed in one ``bytes`` value: dicts
    of ints, strings and bytes are never tracked. (Deques of tuples here made every full
    collection walk each record held, tens of milliseconds at a few hundred thousand,
    and the national format's p99 grew with the memory.) Records leave oldest first (by
    number), so eviction is O(1) whatever a visit's size."""

    remote = False

    def __init__(self, ttl_s: float, max_bytes: int) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.bytes = 0
        self.records: dict[int, bytes] = {}  # number -> packed record (_pack)
        # visit ("inst\x00mdtrt_id") -> its records' numbers, oldest first, at most
        # KEEP_PER_VISIT (a pathological visit billed in thousands of messages keeps its
        # newest)
        self.visits: dict[str, bytes] = {}
        self._next = 0  # the next record's number
        self._oldest = 0  # no record numbered below it is held

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
        visit = _visit(key)
        number, self._next = self._next, self._next + 1
        record = _pack(expires or now + self.ttl_s, visit, decision_id, text)
        self.records[number] = record
        self.bytes += RECORD_BYTES + len(record)
        held = self.visits.get(visit, b"") + _NUMBER.pack(number)
        if len(held) > KEEP_PER_VISIT * _NUMBER.size:  # the visit's oldest makes room
            self._drop(_NUMBER.unpack_from(held)[0])
            held = held[_NUMBER.size :]
        self.visits[visit] = held
        first = self.records.get(self._oldest)
        if self.bytes > self.max_bytes or first is None or _HEAD.unpack_from(first)[0] <= now:
            self.purge(now)

    def _drop(self, number: int) -> bytes | None:
        record = self.records.pop(number, None)
        if record is not None:
            self.bytes -= RECORD_BYTES + len(record)
        return record

    def purge(self, now: float) -> None:
        """Drop expired records, then the oldest while over the byte bound."""
        records = self.records
        while self._oldest < self._next:
            record = records.get(self._oldest)
            if record is not None:
                if _expiry(records, self._oldest) > now and self.bytes <= self.max_bytes:
                    return
                self._drop(self._oldest)
                self._leave(_unpack(record)[0], self._oldest)
            self._oldest += 1

    def _leave(self, visit: str, number: int) -> None:
        """Record ``number`` left: its visit's oldest, unless a prefetch replaced them."""
        held = self.visits.get(visit)
        if held is not None and _NUMBER.unpack_from(held)[0] == number:
            if len(held) == _NUMBER.size:
                del self.visits[visit]
            else:
                self.visits[visit] = held[_NUMBER.size :]

    def forget(self, inst: str, mdtrt_id: str) -> None:
        """Drop a visit's records (a prefetch replaces them with Redis's)."""
        held = self.visits.pop(_visit((inst, mdtrt_id)), b"")
        for (number,) in _NUMBER.iter_unpack(held):
            self._drop(number)

    def held(self, inst: str, mdtrt_id: str) -> list[tuple[str, bytes]]:
        """The visit's records, oldest first: (decision id, lines)."""
        out = []
        for (number,) in _NUMBER.iter_unpack(self.visits.get(_visit((inst, mdtrt_id)), b"")):
            record = self.records.get(number)
            if record is not None:
                _, decision_id, text = _unpack(record)
                out.append((decision_id, text))
        return out

    def lines(self, inst: str, mdtrt_id: str) -> list[Line]:
        """Every remembered line of the visit, oldest decision first."""
        out: list[Line] = []
        for decision_id, text in self.held(inst, mdtrt_id):
            for raw in text.decode().splitlines():
                _, sn, chrg, letter = raw.split("\t")
                out.append((decision_id, sn, chrg, letter))
        return out

    def verdict(self, inst: str, mdtrt_id: str, sn: str) -> tuple[str, str] | None:
        """(result letter, decision id) of the latest line ``sn`` of the visit."""
        needle = f"\n{mdtrt_id}\t{sn}\t".encode()
        for decision_id, text in reversed(self.held(inst, mdtrt_id)):
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
            self.forget(inst, mdtrt_id)
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

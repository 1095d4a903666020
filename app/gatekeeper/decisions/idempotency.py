"""Idempotency of ``POST /v1/hsa`` fee uploads on ``msgid``, per institution, for 24 h.

A record is what it takes to give the same answer again from the same body: the body's
hash, the decision id, the registry version, the two wrapper times and one character per
line naming its result (about 120 bytes + 1 byte per line). :meth:`claim` stores it unless
the (institution, msgid) already has one, and returns the one that won.

* :class:`RedisIdempotency` (production, ``YBGATE_REDIS_URL``): one ``SET key value NX EX
  86400 GET`` per message, one round trip, shared by every gatekeeper instance. If Redis
  does not answer the message gets a 503 problem (retry): it is never judged without its
  record.
* :class:`LocalIdempotency` (embedded profile, no Redis): a dict in memory and an
  append-only journal ``msgids.jsonl`` under ``YBGATE_IDEMPOTENCY_DIR``, appended at the
  end of each event-loop turn (like the decision journal, before the answers of that
  turn go out, so a killed process loses no record it answered from) and fsynced on a
  thread every ``YBGATE_JOURNAL_FSYNC_S`` (1 s, the decision journal's bound: a power
  loss takes no more records than decisions, and each fsync is a commit of the file
  system's journal, off the request path but not free), reloaded and compacted at start-up
  and compacted while running: once the journal holds at least ``COMPACT_MIN_LINES``
  lines and more dead ones (expired, released, evicted, superseded) than live ones, the
  live records are written to a new file on a thread and swapped in on the event loop
  (lines appended meanwhile follow them), so the file stays under about twice the live
  records. Memory: about ``RECORD_COST`` bytes plus the key and one byte per line for
  each record, at most ``max_bytes`` (``YBGATE_IDEMPOTENCY_MAX_BYTES``): past it the
  oldest records are dropped from memory (``evicted``; the window then covers fewer
  messages than 24 hours' worth). Processes sharing the directory share the journal
  (``flock``: shared while running, exclusive only to compact, which is skipped while
  another process holds it); they see each other's records only after a restart, so run
  one gatekeeper per directory without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path
from typing import Protocol

import msgspec
from redis.exceptions import RedisError

from app.core.errors import NotReady
from app.core.tasks import cancelled

log = logging.getLogger("ybgate.gatekeeper")
WINDOW_S = 24 * 3600
RECORD_COST = 480  # bytes a record holds besides its key and result letters (tracemalloc),
# its order entry included
COMPACT_MIN_LINES = 4096
REDIS_PREFIX = "ybgate:hsa:msgid:"


class Record(msgspec.Struct, array_like=True, gc=False):
    body_hash: str
    decision_id: str
    decided_ms: int
    registry_version: int
    refmsg_time: str
    respond_time: str
    results: str  # one character per line: the index of its LineResult in ALL_RESULTS


class Stored(msgspec.Struct, array_like=True, gc=False):
    institution: str
    msgid: str
    expires: float
    record: Record


class Held(msgspec.Struct, gc=False):
    """A record in memory until it expires. Neither it nor its key (a str) is tracked by
    the cyclic GC, so the dict holding a day of records is never traversed by a
    collection (a tuple here re-tracked the dict: a traversal of every record, ~16 ms,
    at every young collection)."""

    expires: float
    record: Record
    number: int = 0  # its place in the insertion order (LocalIdempotency.order)


def record_key(institution: str, msgid: str) -> str:
    return f"{institution}\x00{msgid}"


_encode = msgspec.json.encode
_record = msgspec.json.Decoder(Record)
_stored = msgspec.json.Decoder(Stored)


class IdempotencyStore(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def claim(self, institution: str, msgid: str, record: Record) -> Record | None:
        """Store ``record`` unless one exists: None when stored, else the existing one."""
        ...

    async def release(self, institution: str, msgid: str, record: Record) -> None:
        """Forget ``record`` (the answer it stood for could not be given)."""
        ...


class LocalIdempotency:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        interval: float = 0.05,
        max_bytes: int = 256 * 1024 * 1024,
        fsync_s: float = 1.0,
    ) -> None:
        self.path = Path(directory) / "msgids.jsonl"
        self.interval = interval
        self.fsync_s = fsync_s
        self._synced_at = 0.0
        self.max_bytes = max_bytes
        self.records: dict[str, Held] = {}
        # number -> key, in the order records were held: the oldest in O(1) (taking the
        # first key of ``records`` walks every key dropped before it, until the dict is
        # resized: at the byte bound each claim took longer than the one before)
        self.order: dict[int, str] = {}
        self._oldest = self._next = 0
        self.pending: list[bytes] = []
        self.bytes = 0  # what self.records holds, counted (see RECORD_COST)
        self.lines = 0  # lines in the journal file
        self.evicted = 0
        self.compactions = 0
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._scheduled = False
        self._dirty = False
        self._compacting: list[bytes] | None = None  # lines appended while compacting

    async def start(self) -> None:
        if self.path.exists():
            await asyncio.to_thread(self._load)
        self._task = asyncio.create_task(self._run(), name="ybgate-msgid-journal")

    def _load(self) -> None:
        now = time.time()
        latest: dict[str, Stored] = {}
        with open(self.path, "rb") as f:
            for raw in f:
                self.lines += 1
                try:
                    s = _stored.decode(raw)
                except msgspec.DecodeError:
                    continue  # a torn last line (or the header of a rotated journal)
                arbitrate(latest, s)
        live = sorted((s for s in latest.values() if s.expires > now), key=lambda s: s.expires)
        for s in live:
            self._hold(record_key(s.institution, s.msgid), Held(s.expires, s.record))
        keep = [_encode(s) + b"\n" for s in live]
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return  # another process runs on this journal: no compaction
        try:
            write_file(self.path.with_name(self.path.name + ".tmp"), keep)
            os.replace(self.path.with_name(self.path.name + ".tmp"), self.path)
            self.lines = len(keep)
        finally:
            os.close(fd)

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None
        self._flush()
        if self._fd is not None:
            await asyncio.to_thread(os.fsync, self._fd)
            os.close(self._fd)
            self._fd = None

    async def claim(self, institution: str, msgid: str, record: Record) -> Record | None:
        return self.claim_now(institution, msgid, record)

    def claim_now(self, institution: str, msgid: str, record: Record) -> Record | None:
        """:meth:`claim` without a round trip (the inline protocol calls it directly)."""
        key = record_key(institution, msgid)
        now = time.time()
        held = self.records.get(key)
        if held is not None and held.expires > now:
            return held.record
        expires = now + WINDOW_S
        if held is not None:
            self._drop(key)  # re-inserted last: the dict stays in expiry order
        self._hold(key, Held(expires, record))
        self._append(_encode(Stored(institution, msgid, expires, record)) + b"\n")
        self._bound()
        return None

    def _bound(self) -> None:
        """The oldest records dropped while over the byte bound."""
        while self.bytes > self.max_bytes and len(self.records) > 1:
            oldest = self._first()
            assert oldest is not None
            self._drop(oldest)
            self.evicted += 1

    def _first(self) -> str | None:
        """The key of the oldest record held (order entries of dropped ones discarded)."""
        order, records = self.order, self.records
        while self._oldest < self._next:
            key = order[self._oldest]
            held = records.get(key)
            if held is not None and held.number == self._oldest:
                return key
            del order[self._oldest]
            self._oldest += 1
        return None

    def _forget_all(self) -> None:
        self.records.clear()
        self.order.clear()
        self._oldest = self._next
        self.bytes = 0

    async def release(self, institution: str, msgid: str, record: Record) -> None:
        self.release_now(institution, msgid, record)

    def release_now(self, institution: str, msgid: str, record: Record) -> None:
        key = record_key(institution, msgid)
        held = self.records.get(key)
        if held is not None and held.record is record:
            # Expire it in the journal too: a later line for the key wins at load.
            self._drop(key)
            self._append(_encode(Stored(institution, msgid, 0.0, record)) + b"\n")

    def _hold(self, key: str, held: Held) -> None:
        held.number, self._next = self._next, self._next + 1
        self.order[held.number] = key
        self.records[key] = held
        self.bytes += RECORD_COST + len(key) + len(held.record.results)

    def _drop(self, key: str) -> None:
        held = self.records.pop(key)
        self.bytes -= RECORD_COST + len(key) + len(held.record.results)

    def _append(self, line: bytes) -> None:
        """Queue a line for the write at the end of this event-loop turn."""
        self.pending.append(line)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._write_turn)

    def _write_turn(self) -> None:
        self._scheduled = False
        try:
            self._flush()
            self._dirty = True
        except OSError:
            log.exception("msgid journal: append failed; retrying")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self._expire()
                if self.pending:
                    self._flush()
                due = time.monotonic() - self._synced_at >= self.fsync_s
                if due and self._dirty and self._fd is not None:
                    self._dirty = False
                    self._synced_at = time.monotonic()
                    await asyncio.to_thread(os.fsync, self._fd)
                if self.lines >= COMPACT_MIN_LINES and self.lines > 2 * len(self.records):
                    await self.compact()
            except OSError:
                self._dirty = True
                log.exception("msgid journal: append or compaction failed; retrying")

    def _expire(self) -> None:
        now, records = time.time(), self.records
        while (key := self._first()) is not None:
            if records[key].expires > now:
                break
            self._drop(key)

    async def compact(self) -> bool:
        """Rewrite the journal with the live records only (see the module doc): False
        when another process holds the journal too (nothing done)."""
        if self._compacting is not None:
            return False  # one at a time
        self._flush()
        if self._fd is None:
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lines = 0  # shared: try again once as many lines were appended
            return False
        tmp = self.path.with_name(self.path.name + ".tmp")
        live = list(self.records.items())  # in expiry order
        self._compacting = []
        try:
            await asyncio.to_thread(lambda: write_file(tmp, stored_lines(live)))
            # on the event loop from here: nothing is appended meanwhile
            self._flush()
            tail = self._compacting
            fd = os.open(tmp, os.O_WRONLY | os.O_APPEND)
            os.write(fd, b"".join(tail))
            fcntl.flock(fd, fcntl.LOCK_SH)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_SH)
            raise
        finally:
            self._compacting = None
        old, self._fd = self._fd, fd
        os.close(old)
        self.lines = len(live) + len(tail)
        self.compactions += 1
        self._dirty = True
        return True

    def _flush(self) -> None:
        """Write the pending lines (on the event loop: an append to the page cache)."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self._fd = fd
            os.write(self._fd, b"".join(batch))
        except OSError:
            self.pending[:0] = batch
            raise
        self.lines += len(batch)
        if self._compacting is not None:
            self._compacting += batch


def arbitrate(latest: dict[str, Stored], s: Stored) -> None:
    """One journal line at load: a claim holds its msgid unless an earlier claim still
    lives at its time (a claim a pre-forked worker made void, see ``msgid_shared``); a
    release frees the msgid of its own decision only."""
    key = record_key(s.institution, s.msgid)
    old = latest.get(key)
    if s.expires == 0.0:
        if old is not None and old.record.decision_id == s.record.decision_id:
            del latest[key]
    elif old is None or old.expires <= s.expires - WINDOW_S:
        latest[key] = s


def stored_lines(live: list[tuple[str, Held]]) -> list[bytes]:
    out = []
    for key, held in live:
        institution, _, msgid = key.partition("\x00")
        out.append(_encode(Stored(institution, msgid, held.expires, held.record)) + b"\n")
    return out


def write_file(path: Path, lines: list[bytes]) -> None:
    with open(path, "wb") as out:
        out.writelines(lines)
        out.flush()
        os.fsync(out.fileno())


class RedisIdempotency:
    """``SET ybgate:hsa:msgid:<institution>:<msgid> <record> NX EX 86400 GET``."""

    def __init__(self, url: str, timeout: float = 1.0) -> None:
        from app.sync.redis_keys import connect

        self.redis = connect(url, timeout=timeout)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.redis.aclose()

    async def claim(self, institution: str, msgid: str, record: Record) -> Record | None:
        key = f"{REDIS_PREFIX}{institution}:{msgid}"
        try:
            old = await self.redis.set(key, _encode(record), nx=True, ex=WINDOW_S, get=True)
        except (RedisError, OSError):
            log.exception("msgid record: Redis did not answer")
            raise NotReady("The msgid record (Redis) is unavailable; retry shortly.") from None
        return None if old is None else _record.decode(old)  # type: ignore[arg-type]

    async def release(self, institution: str, msgid: str, record: Record) -> None:
        key = f"{REDIS_PREFIX}{institution}:{msgid}"
        with contextlib.suppress(RedisError, OSError):
            if await self.redis.get(key) == _encode(record):
                await self.redis.delete(key)

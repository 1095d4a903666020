"""msgid records shared by the workers of a pre-forked gatekeeper without Redis.

:class:`SharedIdempotency` is :class:`~app.gatekeeper.decisions.idempotency.LocalIdempotency`
(same records, same journal lines, same byte bound) with the journal ``msgids.jsonl`` as
the arbiter between processes:

* A claim appends its line at once (``O_APPEND``: one ``write``, whole, at the end), then
  reads the journal from where this process last read up to its own line, applying every
  other process's lines. The first line of a (institution, msgid) wins while it lives:
  a later claim finds the earlier record and is void (its process answers from that record,
  or refuses a different body, as one process does; it appends a release of its own claim,
  which no process holding the winner applies). Every process applies the same lines in
  the same order with the same rule, so each holds the winner. A resend of a record held
  here reads the journal's new lines first (a release written by another process frees it)
  and then answers from the record without writing. Cost on top of one process: a
  ``write`` and an ``lseek`` per claim, plus a ``pread`` when other processes wrote since.
* A release (the answer could not be given) is a line too; it frees only the record of its
  own decision id. Idle processes read new lines every 50 ms.
* Compaction rotates the file: the process that holds ``msgids.lock`` writes its live
  records to ``msgids.jsonl.next`` on a thread, then (on its event loop) appends the marker
  ``["moved"]`` to the journal, copies the lines appended since its snapshot after the
  records, writes the new file's length into its first line and renames it over
  ``msgids.jsonl``. A process that reads the marker (whether or not its own line followed
  it: a line after the marker is void, and written again) opens the new file and reads on
  from that length (the content up to it is what it already applied; a process that
  missed a whole rotation, as the header's generation shows, reads it from its start). If
  the marker stays without a new file for 2 s (the compacting process died), the reader
  writes the new file itself from its own records. Start-up reads the whole journal with
  the same rule.
* A torn line (a process killed during its write) is skipped, and the whole line written
  after it is still read; a write that cannot be made (disk full) answers the message with
  a 503 (retry) rather than without its record.
* A single gatekeeper started later on the same directory reads the journal with the same
  rule (``idempotency.arbitrate``).

Past the byte bound each process drops its oldest records itself: the window then covers
fewer messages in every process, not necessarily the same ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time

import msgspec

from app.core.errors import NotReady
from app.gatekeeper.decisions.idempotency import (
    WINDOW_S,
    Held,
    LocalIdempotency,
    Record,
    Stored,
    record_key,
    stored_lines,
    write_file,
)

log = logging.getLogger("ybgate.gatekeeper")
MOVED = b'["moved"]'
HEADER = b'["base","%020d","%020d"]\n'  # the content's length, the generation
HEADER_LEN = len(HEADER % (0, 0))
CHUNK = 4 * 1024 * 1024  # bytes read at once (far more than the longest line)
FOLLOW_S = 2.0  # how long a reader waits for the new file named by a marker

_encode = msgspec.json.encode
_stored = msgspec.json.Decoder(Stored)


def _base(fd: int) -> tuple[int, int]:
    """A rotated journal's header: the length of the content its mover wrote, and how
    many rotations made it ((0, 0): never rotated)."""
    head = os.pread(fd, HEADER_LEN, 0)
    if len(head) == HEADER_LEN and head.startswith(b'["base","'):
        return int(head[9:29]), int(head[32:52])
    return 0, 0


def _open_appending(path: os.PathLike[str] | str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    fcntl.flock(fd, fcntl.LOCK_SH)  # (an exclusive lock rewrites it at start-up: see _load)
    return fd


class SharedIdempotency(LocalIdempotency):
    def __init__(
        self,
        directory: str | os.PathLike[str],
        interval: float = 0.05,
        max_bytes: int = 256 * 1024 * 1024,
        fsync_s: float = 1.0,
    ) -> None:
        super().__init__(directory, interval, max_bytes, fsync_s)
        self.lock_path = self.path.with_name("msgids.lock")
        self.next_path = self.path.with_name(self.path.name + ".next")
        self.offset = 0  # bytes of the journal applied here
        self.gen = 0  # rotations of the journal read here (its header)
        self.voided = 0  # claims made here that an earlier line had won

    async def start(self) -> None:
        await asyncio.to_thread(self._open)
        self._task = asyncio.create_task(self._run(), name="ybgate-msgid-journal")

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = _open_appending(self.path)
        self.offset, self.gen = 0, _base(self._fd)[1]
        self._catch_up()
        self._bound()

    # -- claims and releases (on the event loop) --------------------------------------------

    def claim_now(self, institution: str, msgid: str, record: Record) -> Record | None:
        key = record_key(institution, msgid)
        now = time.time()
        try:
            held = self.records.get(key)
            if held is not None and held.expires > now:
                self._catch_up()  # a release written meanwhile frees it
                held = self.records.get(key)
                if held is not None and held.expires > now:
                    return held.record
            expires = now + WINDOW_S
            self._write(_encode(Stored(institution, msgid, expires, record)) + b"\n")
            held = self.records.get(key)  # (as _apply decides)
            if held is not None and held.expires > now:  # an earlier line won: void
                self.voided += 1
                self._write(_encode(Stored(institution, msgid, 0.0, record)) + b"\n")
                return held.record
            if held is not None:
                self._drop(key)
            self._hold(key, Held(expires, record))
            if self.bytes > self.max_bytes:
                self._bound()
            return None
        except OSError:
            log.exception("msgid journal: the claim cannot be written")
            raise NotReady("The msgid record (journal) cannot be written; retry shortly.") from None

    def release_now(self, institution: str, msgid: str, record: Record) -> None:
        stored = Stored(institution, msgid, 0.0, record)
        try:
            self._write(_encode(stored) + b"\n")
        except OSError:
            log.exception("msgid journal: a release cannot be written")
        self._apply(stored)

    def _apply(self, s: Stored) -> Record | None:
        """One journal line: the record that an earlier claim holds (this claim void), else
        None (a claim held, a release applied)."""
        key = record_key(s.institution, s.msgid)
        held = self.records.get(key)
        if s.expires == 0.0:  # a release: of that decision only
            if held is not None and held.record.decision_id == s.record.decision_id:
                self._drop(key)
            return None
        if held is not None:
            if held.expires > s.expires - WINDOW_S:
                return held.record
            self._drop(key)
        self._hold(key, Held(s.expires, s.record))
        return None

    def _expire(self) -> None:
        """Every 50 ms (``_run``): other processes' new lines applied, then the expired
        records dropped."""
        self._catch_up()
        self._bound()
        super()._expire()

    def _write(self, line: bytes) -> None:
        """Append ``line`` to the journal, having applied every line before it."""
        for _ in range(3):
            fd = self._fd
            assert fd is not None
            n = os.write(fd, line)
            end = os.lseek(fd, 0, os.SEEK_CUR)  # this write's end, whatever others wrote
            if n != len(line):
                os.write(fd, b"\n")  # the torn line ends here, not in the next one
                raise OSError(f"msgid journal: {n} of {len(line)} bytes written")
            self._dirty = True
            if self.offset == end - n or self._read(end - n):
                self.offset = end
                self.lines += 1
                return
            # the journal moved before this line: written again in the new one
        raise OSError("msgid journal: moved three times during one write")

    def _catch_up(self) -> None:
        """Every line written so far applied (into the new journal if it moved)."""
        while not self._read(None):
            pass

    def _read(self, end: int | None) -> bool:
        """Apply the lines from ``self.offset`` to ``end`` (None: the file's end; a last line
        without its newline yet is left). False when a marker moved the reading to a new
        journal."""
        while True:
            fd = self._fd
            assert fd is not None
            stop = os.fstat(fd).st_size if end is None else end
            if self.offset >= stop:
                return True
            data = os.pread(fd, min(stop - self.offset, CHUNK), self.offset)
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                return True  # an unfinished (or torn) last line
            now = time.time()
            try:
                batch = _stored.decode_lines(data[:cut])
            except msgspec.DecodeError:  # a marker, a header or a torn line among them
                if not self._apply_lines(data[:cut], now):
                    return False
            else:
                self.lines += len(batch)
                for s in batch:
                    if s.expires == 0.0 or s.expires > now:  # (an expired claim stands
                        self._apply(s)  # in the way of no claim from now on)
            self.offset += cut

    def _apply_lines(self, buf: bytes, now: float) -> bool:
        """:meth:`_read`'s lines one by one: False at a marker (then followed)."""
        at = self.offset
        for raw in buf[:-1].split(b"\n"):
            at += len(raw) + 1
            try:
                s = _stored.decode(raw)
            except msgspec.DecodeError:
                if raw == MOVED:
                    self.offset = at
                    self._follow()
                    return False
                salvaged = _salvage(raw)
                if salvaged is None:
                    continue  # a header, or a torn line alone
                s = salvaged
            self.lines += 1
            if s.expires == 0.0 or s.expires > now:
                self._apply(s)
        return True

    # -- rotation ---------------------------------------------------------------------------

    def _follow(self) -> None:
        """The journal moved (a marker read): on to the new file, from its base."""
        old = self._fd
        assert old is not None
        ino = os.fstat(old).st_ino
        deadline = time.monotonic() + FOLLOW_S
        while True:
            fd = _open_appending(self.path)
            if os.fstat(fd).st_ino != ino:
                break
            os.close(fd)
            if time.monotonic() > deadline:
                log.error("msgid journal: moved, but no new file came; writing it")
                self._take_over(ino)
                return
            time.sleep(0.001)
        self._switch(fd, *_base(fd))

    def _switch(self, fd: int, base: int, gen: int) -> None:
        """On to the journal ``fd``, whose first ``base`` bytes hold what was read here,
        unless it is not the next rotation (two while this process did not read: then it
        is read again from its start)."""
        old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)
        if gen != self.gen + 1:
            self._forget_all()
            base = 0
        self.offset, self.gen = base, gen
        self.lines = len(self.records)
        self._dirty = True

    def _take_over(self, ino: int) -> None:
        """The mover died between its marker and its rename: this process's records (all
        lines up to the marker applied) become the new journal."""
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fd = os.open(self.path, os.O_RDONLY)
            moved = os.fstat(fd).st_ino != ino
            os.close(fd)
            if moved:  # another reader did it meanwhile
                self._follow()
                return
            write_file(self.next_path, [HEADER % (0, 0), *stored_lines(list(self.records.items()))])
            self._install(b"")
        finally:
            os.close(lock)

    def _install(self, tail: bytes) -> None:
        """``.next`` (the records written after a header) with ``tail`` appended, its
        length in its header, renamed over the journal and followed."""
        new = os.open(self.next_path, os.O_WRONLY)
        try:
            os.lseek(new, 0, os.SEEK_END)
            while tail:
                tail = tail[os.write(new, tail) :]
            base = os.lseek(new, 0, os.SEEK_CUR)
            os.pwrite(new, HEADER % (base, self.gen + 1), 0)
            os.replace(self.next_path, self.path)
        finally:
            os.close(new)
        self._switch(_open_appending(self.path), base, self.gen + 1)
        self.compactions += 1

    async def compact(self) -> bool:
        """Rotate the journal (see the module doc): False when another process does."""
        if self._compacting is not None or self._fd is None:
            return False
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            self.lines = 0  # another process rotates it
            return False
        self._compacting = []
        try:
            self._catch_up()
            since, live = self.offset, list(self.records.items())
            lines = [HEADER % (0, 0), *stored_lines(live)]
            await asyncio.to_thread(write_file, self.next_path, lines)
            self._move(since)  # on the event loop from here: no line of ours meanwhile
        finally:
            self._compacting = None
            os.close(lock)
        return True

    def _move(self, since: int) -> None:
        old = self._fd
        assert old is not None
        os.write(old, MOVED + b"\n")
        end = os.lseek(old, 0, os.SEEK_CUR) - len(MOVED) - 1
        self._read(end)  # other processes' lines up to the marker
        tail = os.pread(old, end - since, since) if end > since else b""
        self._install(tail)


def _salvage(raw: bytes) -> Stored | None:
    """The line a torn one (a process killed during its write) runs into: the first
    suffix that is a whole line (the record inside one is not)."""
    at = raw.find(b'["', 1)
    while at > 0:
        with contextlib.suppress(msgspec.DecodeError):
            return _stored.decode(raw[at:])
        at = raw.find(b'["', at + 1)
    return None

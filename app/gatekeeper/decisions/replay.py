"""Replaying spill files into the database without starving live traffic.

After an outage the spill holds every decision answered meanwhile; the database answers
again while requests keep arriving on the same event loop. The replay therefore:

* goes after the live batch of each tick of the decision log's worker (live first);
* takes one bounded chunk at a time (``replay_batch`` rows): a file is read chunk by
  chunk (:class:`SpillReader`: the zstd frames decompressed and the JSON lines decoded
  only as far as the chunk needs), so memory holds the file's compressed bytes, one
  frame's JSON and one chunk's rows, never the decoded file;
* does the CPU work of a chunk (decompression, decoding, the compact encoding and the
  rows for ``COPY``) on a thread, not on the event loop;
* keeps to a duty cycle while live decisions arrive (one within ``LIVE_S``): after a
  chunk that took ``t`` seconds it waits ``t * (1 - share) / share``, so replaying takes
  ``share`` of the wall time; with no live traffic it runs at full speed;
* and still drains within ``drain_s`` (``YBGATE_DECISION_REPLAY_DRAIN_S``, 6 s) of the
  replay's start where the database can take it: ``share`` is at least
  ``YBGATE_DECISION_REPLAY_SHARE`` (0.25) and at least what the rest of the backlog
  needs at the speed of the last chunk to be in before the deadline (past it: full
  speed). A small backlog drains gently; a large one as fast as the database takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import zstandard

from app.gatekeeper.decisions.spill import FRAME, SUFFIX, lock_and_read, read_json, read_spill
from app.registry import decision_codec as codec

log = logging.getLogger("ybgate.decisions")
LIVE_S = 1.0  # live decisions written within this long: the replay keeps to its share
SCAN_S = 1.0  # no spill file to take: look again after this long (or after a spill)
Rows = tuple[list[codec.Decision], list[tuple[Any, ...]]]  # decisions, their COPY rows
Insert = Callable[[list[codec.Decision], list[tuple[Any, ...]]], Awaitable[None]]


class SpillReader:
    """The decisions of one spill file, a chunk at a time (blocking: run on a thread)."""

    def __init__(self, suffix: str, data: bytes) -> None:
        self.bad: list[bytes] = []  # what does not read, kept aside when the file is done
        self._rows: list[codec.Decision] = []
        self._data, self._pos = b"", 0
        self._text, self._at = b"", 0  # decompressed JSON lines, and how far read
        self._z = zstandard.ZstdDecompressor().decompressobj()
        if suffix == SUFFIX:
            self._data = data
        else:  # files of earlier versions: read whole, as before
            self._rows, bad = read_spill(suffix, data)
            self.bad.append(bad)

    @property
    def done(self) -> bool:
        return not self._rows and self._at >= len(self._text) and self._pos >= len(self._data)

    def chunk(self, n: int) -> Rows:
        """Up to ``n`` more decisions, and their rows for ``COPY``."""
        if self._rows:
            rows = self._rows[:n]
            del self._rows[:n]
        else:
            rows = self._json_chunk(n)
        return rows, [codec.row_values(d) for d in rows]

    def _json_chunk(self, n: int) -> list[codec.Decision]:
        rows: list[codec.Decision] = []
        while len(rows) < n and not self.done:
            if self._at >= len(self._text):
                self._next_frame()
                continue
            end = self._at
            for _ in range(n - len(rows)):
                end = self._text.find(b"\n", end) + 1
                if end == 0:
                    end = len(self._text)
                    break
            got, bad = read_json(self._text[self._at : end])
            rows += got
            if bad:
                self.bad.append(bad)
            self._at = end
        return rows

    def _next_frame(self) -> None:
        data, pos = self._data, self._pos
        self._text, self._at = b"", 0
        if pos + FRAME.size > len(data):
            self._stop(pos)
            return
        size, crc = FRAME.unpack_from(data, pos)
        chunk = data[pos + FRAME.size : pos + FRAME.size + size]
        if len(chunk) < size or zlib.crc32(chunk) != crc:
            self._stop(pos)
            return
        try:
            self._text = self._z.decompress(chunk)
        except zstandard.ZstdError:
            self._stop(pos)
            return
        self._pos = pos + FRAME.size + size

    def _stop(self, pos: int) -> None:
        """The readable part ends at ``pos``: the rest is kept aside."""
        self.bad.append(self._data[pos:])
        self._data, self._pos = b"", 0


def open_spill(path: Path) -> tuple[int, SpillReader] | None:
    """Lock a spill file (None: another process holds it, or it is gone) and read its
    bytes; the caller deletes it once replayed, then closes the descriptor."""
    locked = lock_and_read(path)
    if locked is None:
        return None
    fd, data = locked
    return fd, SpillReader(path.suffix, data)


def finish(path: Path, reader: SpillReader) -> None:
    """A file fully replayed: what did not read goes to ``<file>.rejected``; the file is
    deleted."""
    bad = b"".join(reader.bad)
    if bad:
        log.error("decision log: %d unreadable bytes in %s kept aside", len(bad), path.name)
        with open(path.with_name(path.name + ".rejected"), "ab") as out:
            out.write(bad)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class Replayer:
    """The replay's state: the file being replayed, and when the next chunk may go."""

    def __init__(self, directory: Path, chunk: int, share: float, drain_s: float = 6.0) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"replay share must be in (0, 1], not {share!r}")
        self.directory = directory
        self.chunk = chunk
        self.share = share
        self.drain_s = drain_s
        self.deadline = 0.0  # monotonic: the backlog in by then (0: no replay under way)
        self.next_at = 0.0  # monotonic: no chunk before
        self.scan_at = 0.0  # monotonic: no look for files before
        self.paused = 0.0  # seconds of pauses so far (yielding to live traffic)
        self._file: tuple[Path, int, SpillReader] | None = None
        self._pending: Rows | None = None  # a chunk whose insert failed: again first
        self._oldest_ms = 0  # decided_ms of the first decision of the next chunk

    def oldest_ms(self) -> int:
        return self._oldest_ms if self._file is not None else 0

    def ready(self, now: float, files: Callable[[], list[Path]]) -> bool:
        """A chunk may go now (its pause is over) and there is something to replay."""
        if now < self.next_at:
            return False
        if self._file is not None:
            return True
        if now < self.scan_at:
            return False
        if files():
            return True
        self.scan_at = now + SCAN_S
        self.idle()
        return False

    async def take(self, files: list[Path]) -> bool:
        """Lock the oldest file this process can take; False: none (look again later)."""
        for path in files:
            opened = await asyncio.to_thread(open_spill, path)
            if opened is not None:
                self._file = (path, *opened)
                return True
        self.scan_at = time.monotonic() + SCAN_S
        return False

    @property
    def busy(self) -> bool:
        return self._file is not None

    async def step(self, insert: Insert) -> int:
        """Insert the next chunk of the file being replayed; the rows inserted. An error
        of the insert propagates; the chunk goes again first."""
        assert self._file is not None
        path, _, reader = self._file
        chunk = self._pending
        if chunk is None:
            chunk = await asyncio.to_thread(reader.chunk, self.chunk)
        rows, records = chunk
        if rows:
            self._oldest_ms = rows[0].decided_ms
            self._pending = chunk
            await insert(rows, records)
            self._pending = None
            self._oldest_ms = rows[-1].decided_ms
        if reader.done:
            await asyncio.to_thread(finish, path, reader)
            self.release()
            log.info("decision log: replayed spill file %s", path.name)
        return len(rows)

    def pace(self, took: float, live: bool, rows: int = 0, backlog: int = 0) -> None:
        """After a chunk of ``rows`` that took ``took`` seconds, ``backlog`` decisions
        left (0: not known): while live decisions arrive, pause so the replay keeps to
        the share it needs (see the module doc)."""
        now = time.monotonic()
        if not self.deadline:
            self.deadline = now + self.drain_s
        share = self.share_needed(took, rows, backlog, now) if live else 1.0
        pause = took * (1 - share) / share
        self.paused += pause
        self.next_at = now + pause

    def share_needed(self, took: float, rows: int, backlog: int, now: float) -> float:
        """The configured share, raised to what finishing ``backlog`` by the deadline at
        this chunk's speed needs (the configured one when the backlog is not known: files
        of an earlier process); 1 from the deadline on."""
        left = self.deadline - now
        if left <= 0:
            return 1.0
        if rows <= 0 or backlog <= 0:
            return self.share
        work = backlog * took / rows  # seconds of replay at full speed
        return min(1.0, max(self.share, work / left))

    def idle(self) -> None:
        """Nothing left to replay: the next replay gets a deadline of its own."""
        self.deadline = 0.0

    def release(self) -> None:
        if self._file is not None:
            os.close(self._file[1])  # unlocks: the file, if still there, stays for later
            self._file, self._pending = None, None

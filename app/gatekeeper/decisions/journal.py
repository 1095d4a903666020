"""The decision journal: no decision is answered before it is in the operating system's
hands, so a killed process loses none.

The decision log (``decision_log.py``) keeps decisions in memory for up to ~50 ms before
they reach the database; a SIGKILL would lose them although the clients were answered.
So the hot path also hands each decision to this journal and awaits its write: the
decisions of an event-loop turn are appended with one ``writev`` at the end of that
turn (the page cache survives the death of the process), and only then are their
responses sent. Under load a turn carries many requests' decisions (group commit).

The write runs on the event loop itself: an append of a few kilobytes to the page cache
is a few microseconds, less than handing it to a thread and waking the loop again (a
thread also contends for the GIL with the loop on every request). What may take long,
``fsync``, runs on the journal's own thread: a timer fsyncs the active segment every
``journal_fsync_s`` (1 s), which bounds what a power loss can take, and fsyncs rotated
segments before they are released. Only that timer closes descriptors, so an fsync never
races a close.

Journal segments are spill files (``spill-…-journal.ybz``, same frames as ``spill.py``):
locked while this process writes them. A decision costs the hot path the concatenation
of bytes it already has (its JSON line); a turn's write is one zstd frame of the segment's
stream (~5 µs for a 20-line decision, ~0.1–0.4 kB on disk), and the compact encoding for
the database is the decision log's worker's (never the request's). With the database
sink a segment is deleted once the decision log has kept (inserted, or spilled and
fsynced) every decision in it. With the spill sink (``YBGATE_DECISION_LOG_SINK=spill``)
the segments *are* the spill: each is fsynced and unlocked when rotated (8 MB of JSON) or at
shutdown, and kept. Either way, segments
left behind (a crash, or the spill sink) are replayed into the database by the next
process running the database sink, like any spill file (``ON CONFLICT (decision_id) DO
NOTHING``: decisions already inserted are not doubled).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.core.tasks import cancelled
from app.gatekeeper.decisions.spill import SUFFIX, Item, Packer, json_buffers, write_all

log = logging.getLogger("ybgate.decisions")

ROTATE_BYTES = 8 << 20  # of JSON before zstd (~3,000 decisions of 20 lines, ~0.5 MB)


class JournalUnavailable(Exception):
    """The journal could not be written: those decisions are not answered."""


class _Files:
    """The segments. ``write`` runs on the event loop; the timer task fsyncs (on the
    journal's thread) and is the only one to close or delete."""

    def __init__(self, directory: Path, keep: bool) -> None:
        self.dir = directory
        self.keep = keep
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        self.closed: list[tuple[Path, int, int]] = []  # (path, locked fd, appended at end)
        self.packer = Packer()

    def write(self, bufs: list[bytes], appended_after: int, appended_before: int) -> None:
        fd = self.fd if self.fd is not None else self._open()
        try:
            write_all(fd, [self.packer.pack(bufs)])
        except OSError:
            self.rotate(appended_before)  # the stream is cut: the next write starts a file
            raise
        self.size += sum(map(len, bufs))
        if self.size > ROTATE_BYTES:
            self.rotate(appended_after)

    def _open(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"spill-{time.time_ns():020d}-{os.getpid()}-journal{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd, self.path, self.size, self.packer = fd, path, 0, Packer()
        return fd

    def rotate(self, appended: int) -> None:
        """Retire the active segment: the timer fsyncs it, then releases it."""
        if self.fd is None or self.path is None:
            return
        self.closed.append((self.path, self.fd, appended))
        self.fd, self.path, self.size = None, None, 0

    def settle(self, synced: int) -> None:
        """After the first ``synced`` retired segments were fsynced: with the spill sink,
        unlock them (complete spill files, for a replay to take)."""
        if self.keep:
            for _, fd, _ in self.closed[:synced]:
                os.close(fd)
            del self.closed[:synced]

    def release(self, kept: int, appended: int) -> None:
        """With the database sink: delete the segments whose decisions are all kept (the
        active one too)."""
        if self.keep:
            return
        while self.closed and self.closed[0][2] <= kept:
            path, fd, _ = self.closed.pop(0)
            _drop(path, fd)
        if self.fd is not None and self.path is not None and kept >= appended:
            _drop(self.path, self.fd)
            self.fd, self.path, self.size = None, None, 0

    def leave(self, appended: int) -> int:
        """Close everything, unlocked, for the next process to replay; how many."""
        self.rotate(appended)
        for _, fd, _ in self.closed:
            with contextlib.suppress(OSError):
                os.fsync(fd)
            os.close(fd)
        n = len(self.closed)
        self.closed.clear()
        return n


def _fsync_all(fds: list[int], retired: int) -> None:
    """fsync each; then the first ``retired`` (complete segments, no longer written) leave
    the page cache: a journal is read again only by a replay, and gigabytes of its clean
    pages make every later append slower (measured: the 2204 benchmark after the plain
    ones at 0.92 of the floor instead of 1.10)."""
    for fd in fds:
        os.fsync(fd)
    for fd in fds[:retired]:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


class Journal:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        fsync_interval: float = 1.0,
        *,
        keep: bool = False,
    ) -> None:
        self.fsync_interval = fsync_interval
        self.appended = 0  # decisions written so far (the decision log's queue order)
        self.writes = 0
        self.fsyncs = 0
        self.failures = 0
        self._files = _Files(Path(directory), keep)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ybgate-journal")
        self._pending: list[bytes] = []
        self._count = 0
        self._batch: asyncio.Future[None] | None = None
        self._then: list[Callable[[bool], None]] = []
        self._scheduled = False
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._syncing: asyncio.Future[None] | None = None

    # -- hot path ---------------------------------------------------------------------------
    def add(self, item: Item) -> asyncio.Future[None]:
        """Queue ``item`` for this turn's write; the future resolves once it is written."""
        self._pending += json_buffers([item])
        self._count += 1
        batch = self._batch
        if batch is None:
            batch = self._batch = asyncio.get_running_loop().create_future()
            if not self._scheduled:
                self._schedule()
        return batch

    def add_then(self, item: Item, done: Callable[[bool], None]) -> None:
        """Queue ``item`` for this turn's write, then call ``done(True)`` once it is
        written, ``done(False)`` if it could not be (the inline protocol: no future)."""
        self._pending += json_buffers([item])
        self._count += 1
        self._then.append(done)
        if not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._flush)  # the end of this turn

    def _flush(self) -> None:
        self._scheduled = False
        batch, then = self._batch, self._then
        if batch is None and not then:
            return
        bufs, n = self._pending, self._count
        self._pending, self._batch, self._then, self._count = [], None, [], 0
        try:
            self._files.write(bufs, self.appended + n, self.appended)
        except OSError as exc:
            self.failures += 1
            log.error("decision journal: write failed: %r", exc)
            if batch is not None and not batch.done():
                batch.set_exception(JournalUnavailable(str(exc)))
            _call(then, False)
            return
        self.appended += n
        self.writes += 1
        self._dirty = True
        if batch is not None and not batch.done():
            batch.set_result(None)
        _call(then, True)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, kept: Callable[[], int]) -> None:
        self._task = asyncio.create_task(self._run(kept), name="ybgate-decision-journal")

    async def _run(self, kept: Callable[[], int]) -> None:
        while True:
            await asyncio.sleep(self.fsync_interval)
            try:
                await self._sync()
                self._files.release(kept(), self.appended)
            except OSError as exc:
                self.failures += 1
                log.error("decision journal: %r", exc)

    async def _sync(self) -> None:
        """fsync the retired segments and (when written since) the active one."""
        files = self._files
        retired = len(files.closed)
        fds = [fd for _, fd, _ in files.closed]
        if self._dirty and files.fd is not None:
            fds.append(files.fd)
        self._dirty = False
        if not fds:
            return
        loop = asyncio.get_running_loop()
        self._syncing = loop.run_in_executor(self._thread, _fsync_all, fds, retired)
        try:
            await asyncio.shield(self._syncing)  # a cancelled timer leaves it to stop()
        except OSError:
            self._dirty, self._syncing = True, None  # again next time
            raise
        self._syncing = None
        self.fsyncs += 1
        files.settle(retired)

    async def stop(self, kept: int) -> None:
        """After the decision log has drained: drop what it kept, leave the rest on disk
        for the next process to replay (all of it with the spill sink)."""
        await cancelled(self._task)
        self._task = None
        if self._syncing is not None:
            with contextlib.suppress(OSError):
                await self._syncing
            self._syncing = None
        self._flush()
        files = self._files
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, files.release, kept, self.appended)
        left = await loop.run_in_executor(self._thread, files.leave, self.appended)
        if left and not files.keep:
            log.warning("decision journal: %d segment(s) left for replay", left)
        self._thread.shutdown(wait=True)


def _call(then: list[Callable[[bool], None]], written: bool) -> None:
    for done in then:
        try:
            done(written)
        except Exception:
            log.exception("decision journal: a completion failed")


def _drop(path: Path, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)

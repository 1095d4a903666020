"""The decision journal: no decision is answered before it is in the operating system's
hands, so a killed process loses none.

The decision log (``decision_log.py``) keeps decisions in memory for up to ~50 ms before
they reach the database; a SIGKILL would lose them although the clients were answered.
So the hot path also hands each decision to this journal and awaits its write: the
decisions of an event-loop turn are appended with one ``writev`` (the page cache
survives the death of the process), and only then are their responses sent.

The writes run on one thread of the journal's own (never on the event loop: a write may
wait behind a filesystem commit, e.g. another file's fsync). While one write is in
flight, the decisions of the following turns gather for the next: under load a write
carries many turns' decisions (group commit), at no cost to the loop. A timer fsyncs the
file every ``journal_fsync_s`` (1 s), which bounds what a power loss can take.

Journal segments are spill files (``spill-…-journal.jsonl``, same lines as ``spill.py``):
locked while this process lives, deleted once the decision log has kept (inserted, or
spilled and fsynced) every decision in them. After a crash they are left behind and the
next process's decision log replays them into the database like any spill file (``ON
CONFLICT (decision_id) DO NOTHING``: decisions already inserted are not doubled).
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

from app.gatekeeper.spill import Item, spill_buffers, write_all

log = logging.getLogger("ybgate.decisions")

ROTATE_BYTES = 8 << 20


class JournalUnavailable(Exception):
    """The journal could not be written: those decisions are not answered."""


class _Files:
    """The segments; touched only on the journal's thread."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        self.closed: list[tuple[Path, int, int]] = []  # (path, locked fd, appended at end)

    def write(self, bufs: list[bytes], appended_after: int) -> None:
        fd = self.fd if self.fd is not None else self._open()
        self.size += write_all(fd, bufs)
        if self.size > ROTATE_BYTES:
            self.rotate(appended_after)

    def _open(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"spill-{time.time_ns():020d}-{os.getpid()}-journal.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd, self.path, self.size = fd, path, 0
        return fd

    def rotate(self, appended: int) -> None:
        """Close the active segment; it stays locked until the decision log kept it."""
        if self.fd is None or self.path is None:
            return
        with contextlib.suppress(OSError):
            os.fsync(self.fd)
        self.closed.append((self.path, self.fd, appended))
        self.fd, self.path, self.size = None, None, 0

    def fsync(self) -> None:
        if self.fd is not None:
            os.fsync(self.fd)

    def release(self, kept: int, appended: int) -> None:
        """Delete the segments whose decisions are all kept (the active one too)."""
        while self.closed and self.closed[0][2] <= kept:
            path, fd, _ = self.closed.pop(0)
            _drop(path, fd)
        if self.fd is not None and self.path is not None and kept >= appended:
            _drop(self.path, self.fd)
            self.fd, self.path, self.size = None, None, 0

    def leave(self, appended: int) -> int:
        """Close everything, unlocked, for the next process to replay; how many."""
        with contextlib.suppress(OSError):
            self.fsync()
        self.rotate(appended)
        for _, fd, _ in self.closed:
            os.close(fd)
        n = len(self.closed)
        self.closed.clear()
        return n


class Journal:
    def __init__(self, directory: str | os.PathLike[str], fsync_interval: float = 1.0) -> None:
        self.fsync_interval = fsync_interval
        self.appended = 0  # decisions written so far (the decision log's queue order)
        self.writes = 0
        self.fsyncs = 0
        self.failures = 0
        self._files = _Files(Path(directory))
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ybgate-journal")
        self._pending: list[bytes] = []
        self._count = 0
        self._batch: asyncio.Future[None] | None = None
        self._writing = False
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    # -- hot path ---------------------------------------------------------------------------
    def add(self, item: Item) -> asyncio.Future[None]:
        """Queue ``item`` for the next write; the future resolves once it is written."""
        self._pending += spill_buffers([item])
        self._count += 1
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = loop.create_future()
            if not self._writing:
                loop.call_soon(self._kick)  # the end of this turn
        return batch

    def _kick(self) -> None:
        if self._writing or self._batch is None:
            return
        bufs, batch, n = self._pending, self._batch, self._count
        self._pending, self._batch, self._count = [], None, 0
        self._writing = True
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._thread, self._files.write, bufs, self.appended + n)
        done.add_done_callback(lambda f: self._written(f, batch, n))

    def _written(self, f: asyncio.Future[None], batch: asyncio.Future[None], n: int) -> None:
        self._writing = False
        exc = f.exception()
        if exc is not None:
            self.failures += 1
            log.error("decision journal: write failed: %r", exc)
            if not batch.done():
                batch.set_exception(JournalUnavailable(str(exc)))
        else:
            self.appended += n
            self.writes += 1
            self._dirty = True
            if not batch.done():
                batch.set_result(None)
        if self._batch is not None:
            self._kick()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, kept: Callable[[], int]) -> None:
        self._task = asyncio.create_task(self._run(kept), name="ybgate-decision-journal")

    async def _run(self, kept: Callable[[], int]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.fsync_interval)
            try:
                if self._dirty:
                    self._dirty = False
                    await loop.run_in_executor(self._thread, self._files.fsync)
                    self.fsyncs += 1
                if not self._writing and self._batch is None:
                    await loop.run_in_executor(
                        self._thread, self._files.release, kept(), self.appended
                    )
            except OSError as exc:
                self.failures += 1
                log.error("decision journal: %r", exc)

    async def stop(self, kept: int) -> None:
        """After the decision log has drained: drop what it kept, leave the rest on disk
        for the next process to replay."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        loop = asyncio.get_running_loop()
        while self._writing or self._batch is not None:
            if not self._writing:
                self._kick()
            await asyncio.sleep(0.01)
        files = self._files
        await loop.run_in_executor(self._thread, files.release, kept, self.appended)
        left = await loop.run_in_executor(self._thread, files.leave, self.appended)
        if left:
            log.warning("decision journal: %d segment(s) left for replay", left)
        self._thread.shutdown(wait=True)


def _drop(path: Path, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)

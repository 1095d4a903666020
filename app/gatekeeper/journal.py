"""The decision journal: no decision is answered before it is in the operating system's
hands, so a killed process loses none.

The decision log (``decision_log.py``) keeps decisions in memory for up to ~50 ms before
they reach the database; a SIGKILL would lose them although the clients were answered.
So the hot path also hands each decision to this journal and awaits the end of the
event-loop turn: one ``writev`` per turn appends every decision of that turn to the
journal file (the page cache survives the death of the process), and only then are the
responses sent. A timer fsyncs the file every ``journal_fsync_s`` (1 s): that bounds what
a power loss can take.

Journal segments are spill files (``spill-…-journal.jsonl``, same lines as ``spill.py``):
locked while this process lives, deleted once the decision log has kept (inserted or
spilled and fsynced) every decision in them. After a crash they are left behind, and
the next process's decision log replays them into the database like any spill file
(``ON CONFLICT (decision_id) DO NOTHING``: decisions already inserted are not doubled).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from app.gatekeeper.spill import Item, spill_buffers, write_all

log = logging.getLogger("ybgate.decisions")

ROTATE_BYTES = 8 << 20


class JournalUnavailable(Exception):
    """The journal could not be written: the decisions of that turn are not answered."""


class Journal:
    def __init__(self, directory: str | os.PathLike[str], fsync_interval: float = 1.0) -> None:
        self.dir = Path(directory)
        self.fsync_interval = fsync_interval
        self.appended = 0  # decisions journaled so far (the decision log's queue order)
        self.fsyncs = 0
        self.failures = 0
        self._pending: list[bytes] = []
        self._count = 0
        self._turn: asyncio.Future[None] | None = None
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._closed: list[tuple[Path, int, int]] = []  # (path, locked fd, appended at end)
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    # -- hot path ---------------------------------------------------------------------------
    def add(self, item: Item) -> asyncio.Future[None]:
        """Queue ``item`` for this turn's write; the future resolves once it is written."""
        self._pending += spill_buffers([item])
        self._count += 1
        turn = self._turn
        if turn is None:
            loop = asyncio.get_running_loop()
            turn = self._turn = loop.create_future()
            loop.call_soon(self._flush)
        return turn

    def _flush(self) -> None:
        bufs, turn, n = self._pending, self._turn, self._count
        self._pending, self._turn, self._count = [], None, 0
        try:
            fd = self._fd if self._fd is not None else self._open()
            self._size += write_all(fd, bufs)
        except OSError as exc:
            self.failures += 1
            log.error("decision journal: write failed: %r", exc)
            if turn is not None and not turn.done():
                turn.set_exception(JournalUnavailable(str(exc)))
            return
        self.appended += n
        self._dirty = True
        if turn is not None and not turn.done():
            turn.set_result(None)
        if self._size > ROTATE_BYTES:
            self._rotate()

    # -- segments ---------------------------------------------------------------------------
    def _open(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"spill-{time.time_ns():020d}-{os.getpid()}-journal.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd, self._path, self._size = fd, path, 0
        return fd

    def _rotate(self) -> None:
        """Close the active segment (kept, locked, until the decision log has kept it)."""
        if self._fd is None or self._path is None:
            return
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        self._closed.append((self._path, self._fd, self.appended))
        self._fd, self._path, self._size = None, None, 0

    def release(self, kept: int) -> None:
        """Delete the segments whose decisions the decision log has all kept (``kept``:
        how many it has kept, in queue order); the active one too once fully kept."""
        while self._closed and self._closed[0][2] <= kept:
            path, fd, _ = self._closed.pop(0)
            _drop(path, fd)
        active = self._fd is not None and self._path is not None
        if active and kept >= self.appended and not self._pending:
            assert self._fd is not None and self._path is not None
            _drop(self._path, self._fd)
            self._fd, self._path, self._size = None, None, 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, kept: Callable[[], int]) -> None:
        self._task = asyncio.create_task(self._run(kept), name="ybgate-decision-journal")

    async def _run(self, kept: Callable[[], int]) -> None:
        while True:
            await asyncio.sleep(self.fsync_interval)
            fd = self._fd
            if fd is not None and self._dirty:
                self._dirty = False
                try:
                    await asyncio.to_thread(os.fsync, fd)
                    self.fsyncs += 1
                except OSError as exc:
                    self.failures += 1
                    log.error("decision journal: fsync failed: %r", exc)
            self.release(kept())

    async def stop(self, kept: int) -> None:
        """After the decision log has drained: drop what it kept; keep the rest on disk
        for the next process to replay."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending:
            self._flush()
        self.release(kept)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
        self._rotate()
        for _, fd, _ in self._closed:
            os.close(fd)  # unlocks: the next process replays them
        if self._closed:
            log.warning("decision journal: %d segment(s) left for replay", len(self._closed))
        self._closed.clear()


def _drop(path: Path, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)

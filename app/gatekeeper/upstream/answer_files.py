"""The platform's kept answers on disk, for the profile without Redis.

A forwarded fee upload's msgid record outlives the process (the msgid journal, see
``decisions.idempotency``), so its platform answer must too: otherwise a resend after a
restart would find the record but not the answer it stands for. :class:`FileAnswers`
keeps :class:`~app.gatekeeper.upstream.answers.LocalAnswers`' memory and appends every
answer, as one JSON line, to a file of the current hour (``answers-<hour>.jsonl`` under
``YBGATE_IDEMPOTENCY_DIR/upstream``), before the HIS is answered: the page cache survives
the death of the process, and a timer fsyncs the file every second (what a power loss can
take). At start the files of the last 25 hours are read back; older ones are deleted as
the hour turns, so the disk holds about a day of answers and nothing needs compacting.

Pre-forked workers share the directory: each appends whole lines (``O_APPEND``), and a
lookup that misses in memory first reads what the others appended since its last read
(complete lines only), so a resend answered by one worker is answered the same by any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

import msgspec

from app.core.tasks import cancelled
from app.gatekeeper.upstream.answers import WINDOW_S, LocalAnswers, key_of, pack
from app.gatekeeper.upstream.client import Answer

log = logging.getLogger("ybgate.gatekeeper")
HOUR_S = 3600
KEEP_HOURS = WINDOW_S // HOUR_S + 1


class _Line(msgspec.Struct, array_like=True, gc=False):
    key: str
    expires: float
    raw: str  # the packed answer (answers.pack), as text


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(_Line)


class FileAnswers(LocalAnswers):
    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.dir = Path(directory)
        self._fd: int | None = None
        self._retired: list[int] = []  # earlier hours' files: fsynced, then closed, by the timer
        self._hour = -1
        self._read: dict[int, int] = {}  # hour -> bytes of its file read so far
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._catch_up)
        self._task = asyncio.create_task(self._fsync_loop(), name="ybgate-upstream-answers")

    async def put(self, inst: str, msgid: str, answer: Answer) -> None:
        key, raw = key_of(inst, msgid), pack(answer)
        expires = time.time() + WINDOW_S
        self.hold(key, expires, raw)
        line = _encode(_Line(key, expires, raw.decode("latin-1"))) + b"\n"
        os.write(self._file(), line)  # one write: whole lines, whoever else appends
        self._dirty = True

    async def get(self, inst: str, msgid: str) -> Answer | None:
        found = await super().get(inst, msgid)
        if found is None:  # another worker's, appended since this one last read
            self._catch_up()
            found = await super().get(inst, msgid)
        return found

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None
        fds, self._retired = [*self._retired, *([self._fd] if self._fd is not None else [])], []
        self._fd = None
        await asyncio.to_thread(_sync_close, fds)
        await super().stop()

    # -- files ---------------------------------------------------------------------------
    def _path(self, hour: int) -> Path:
        return self.dir / f"answers-{hour}.jsonl"

    def _file(self) -> int:
        hour = int(time.time()) // HOUR_S
        if self._fd is None or hour != self._hour:
            if self._fd is not None:
                self._retired.append(self._fd)
                self._dirty = True
            self._fd = os.open(self._path(hour), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._hour = hour
            self._drop_old(hour)
        return self._fd

    def _hours(self) -> list[int]:
        out = []
        for p in self.dir.glob("answers-*.jsonl"):
            with contextlib.suppress(ValueError):
                out.append(int(p.stem.removeprefix("answers-")))
        return sorted(out)

    def _drop_old(self, hour: int) -> None:
        for h in self._hours():
            if h < hour - KEEP_HOURS:
                with contextlib.suppress(FileNotFoundError):
                    self._path(h).unlink()
                self._read.pop(h, None)

    def _catch_up(self) -> None:
        """Read the complete lines appended to the kept hours' files since the last read."""
        oldest = int(time.time()) // HOUR_S - KEEP_HOURS
        now = time.time()
        for hour in self._hours():
            if hour < oldest:
                continue
            at = self._read.get(hour, 0)
            try:
                with open(self._path(hour), "rb") as f:
                    f.seek(at)
                    chunk = f.read()
            except FileNotFoundError:
                continue
            end = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
            for raw in chunk[:end].splitlines():
                self._apply(raw, now)
            self._read[hour] = at + end

    def _apply(self, raw: bytes, now: float) -> None:
        try:
            line = _decode.decode(raw)
        except msgspec.DecodeError:
            log.warning("upstream answers: an unreadable line skipped")
            return
        if line.expires > now:
            self.hold(line.key, line.expires, line.raw.encode("latin-1"))

    async def _fsync_loop(self) -> None:
        """The only closer of files: an fsync never races a close."""
        while True:
            await asyncio.sleep(1.0)
            if not self._dirty or self._fd is None:
                continue
            self._dirty = False
            retired, self._retired = self._retired, []
            try:
                await asyncio.to_thread(_sync_close, retired, self._fd)
            except OSError:
                self._dirty = True
                log.exception("upstream answers: fsync failed; retrying")


def _sync_close(fds: list[int], active: int | None = None) -> None:
    """fsync ``fds`` and close them; fsync ``active`` too (it stays open)."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.fsync(fd)
        os.close(fd)
    if active is not None:
        os.fsync(active)

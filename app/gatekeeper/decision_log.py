"""The decision log: every answered settlement, persisted in batches off the request path.

Hot path: :meth:`DecisionLog.offer` appends one tuple (ids, totals and the response body
already built for the client) to an in-memory list, O(1). A background task takes up to
``batch_size`` decisions every ``interval`` seconds, turns them into rows (the ``lines``
JSON is a slice of the response body: nothing is re-serialised) and bulk-inserts them
into ``settlement_decisions`` with ``ON CONFLICT (decision_id) DO NOTHING``.

When the sink is slow or down, nothing is dropped silently:

* A failed or timed-out insert sends the batch to a spill file under
  ``decision_log_dir`` (JSON lines, flushed and fsynced before the batch counts as
  kept). While the database is failing, batches go straight to the spill, and the worker
  probes the database again with growing pauses (1 s doubling to 30 s).
* Once an insert succeeds, spilled files (also those left by an earlier process) are
  replayed into the database oldest first, a chunk per tick alongside live traffic, and
  deleted when fully inserted. Replays are idempotent (``ON CONFLICT DO NOTHING``).
* If even the spill fails (disk full, directory not writable), the batch goes back to
  the head of the queue. The queue is bounded (``max_queue``); when it is full the
  request waits up to ``offer_wait`` seconds for room and then gets a 503 problem: the
  client is never told a decision that is not kept.
* Shutdown drains the queue (database, else spill). What is lost on a hard crash
  (SIGKILL, power) is what was queued and not yet written: at most ``interval``
  seconds of decisions in normal operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("ybgate.decisions")

COLUMNS = (
    "decision_id",
    "settlement_id",
    "institution_code",
    "registry_version",
    "decided_at",
    "outcome",
    "accepted_amount",
    "rejected_amount",
    "lines",
)
# One decision as the hot path queues it:
# (decision_id, decided_ms, settlement_id, institution, version, outcome, accepted,
#  rejected, response body)
Item = tuple[str, int, str, str, int, str, str, str, bytes]
LINES_KEY = b'"lines":['


class SpillRow(msgspec.Struct, gc=False):
    decision_id: str
    decided_ms: int
    settlement_id: str
    institution_code: str
    registry_version: int
    outcome: str
    accepted_amount: str
    rejected_amount: str
    lines: msgspec.Raw


_spill_decoder = msgspec.json.Decoder(SpillRow)


def lines_json(body: bytes) -> bytes:
    """The response's ``lines`` array (the last member of the object)."""
    return body[body.index(LINES_KEY) + len(LINES_KEY) - 1 : -1]


def spill_row(item: Item) -> SpillRow:
    did, ms, sid, inst, version, outcome, acc, rej, body = item
    return SpillRow(did, ms, sid, inst, version, outcome, acc, rej, msgspec.Raw(lines_json(body)))


class DecisionLog:
    def __init__(
        self,
        database_url: str,
        spill_dir: str | os.PathLike[str],
        *,
        table: str = "settlement_decisions",
        max_queue: int = 20_000,
        batch_size: int = 2_000,
        interval: float = 0.05,
        write_timeout: float = 5.0,
        offer_wait: float = 2.0,
    ) -> None:
        self.database_url = database_url
        self.spill_dir = Path(spill_dir)
        self.table = table
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.interval = interval
        self.write_timeout = write_timeout
        self.offer_wait = offer_wait
        self.queue: list[Item] = []
        self.written = 0  # rows inserted (live and replayed)
        self.spilled = 0  # rows written to spill files
        self.replayed = 0
        self.failures = 0  # failed database writes
        self.spill_failures = 0
        self._engine: AsyncEngine | None = None
        self._sql = ""
        self._sqlite = database_url.startswith("sqlite")
        self._task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._stopping = False
        self._db_down_until = 0.0
        self._backoff = 0.0
        self._spill_fd: int | None = None

    # -- hot path ---------------------------------------------------------------------------
    def offer(self, item: Item) -> bool:
        """Queue a decision; False when the queue is full (see :meth:`wait_for_room`)."""
        q = self.queue
        if len(q) >= self.max_queue:
            return False
        q.append(item)
        return True

    async def offer_or_wait(self, item: Item) -> bool:
        """Queue a decision, waiting up to ``offer_wait`` s for room; False: not kept."""
        deadline = time.monotonic() + self.offer_wait
        while not self.offer(item):
            left = deadline - time.monotonic()
            if left <= 0 or self._task is None:
                return False
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._room.wait()
        return True

    @property
    def pending_spill_files(self) -> int:
        return len(self._spill_files())

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._engine = create_async_engine(self.database_url)
        dialect = self._engine.dialect
        if dialect.paramstyle == "qmark":
            marks = ", ".join("?" for _ in COLUMNS)
        elif dialect.paramstyle == "numeric_dollar":
            marks = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        else:
            marks = ", ".join("%s" for _ in COLUMNS)
        self._sql = (
            f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (decision_id) DO NOTHING"
        )
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="ybgate-decision-log")

    async def stop(self) -> None:
        """Drain the queue (database, else spill), then close."""
        self._stopping = True
        if self._task is not None:
            await self._task
            self._task = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._close_spill()

    def use_database(self, database_url: str) -> None:
        """Point the sink at another database (operations; tests simulate a recovery)."""
        old = self._engine
        self.database_url = database_url
        self._engine = create_async_engine(database_url)
        self._db_down_until = 0.0
        if old is not None:
            asyncio.get_running_loop().create_task(old.dispose())

    # -- the worker -------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._stopping and len(self.queue) < self.batch_size:
                await asyncio.sleep(self.interval)
            batch = self.queue[: self.batch_size]
            del self.queue[: len(batch)]
            if batch:
                self._room.set()
                await self._write(batch)
            elif self._stopping:
                return
            elif self._spill_files() and time.monotonic() >= self._db_down_until:
                await self._replay_some()

    async def _write(self, batch: list[Item]) -> None:
        if time.monotonic() >= self._db_down_until:
            try:
                await self._insert([self._row(i) for i in batch])
                self.written += len(batch)
                self._backoff = 0.0
                return
            except Exception as exc:  # any sink failure: keep the batch on disk
                self._db_failed(exc)
        try:
            await asyncio.to_thread(self._spill, [spill_row(i) for i in batch])
            self.spilled += len(batch)
        except Exception:
            self.spill_failures += 1
            log.exception("decision log: spill failed; %d decisions stay queued", len(batch))
            self.queue[:0] = batch
            if self._stopping:
                log.error("decision log: stopping with %d decisions unwritten", len(self.queue))
                self.queue.clear()
                return
            await asyncio.sleep(min(1.0, self.interval * 10))

    def _db_failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._backoff = min(30.0, max(1.0, self._backoff * 2))
        self._db_down_until = time.monotonic() + self._backoff
        log.warning(
            "decision log: database write failed (%r); spilling, retry in %.0fs", exc, self._backoff
        )

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        engine = self._engine
        if engine is None:
            raise RuntimeError("decision log not started")
        async with asyncio.timeout(self.write_timeout), engine.begin() as conn:
            await conn.exec_driver_sql(self._sql, rows)

    def _row(self, item: Item | SpillRow) -> tuple[Any, ...]:
        if isinstance(item, SpillRow):
            did, ms, sid, inst = (
                item.decision_id,
                item.decided_ms,
                item.settlement_id,
                item.institution_code,
            )
            version, outcome, acc, rej = (
                item.registry_version,
                item.outcome,
                item.accepted_amount,
                item.rejected_amount,
            )
            lines = bytes(item.lines).decode()
        else:
            did, ms, sid, inst, version, outcome, acc, rej, body = item
            lines = lines_json(body).decode()
        at = datetime.fromtimestamp(ms / 1000, UTC)
        decided: Any = at.strftime("%Y-%m-%d %H:%M:%S.%f") if self._sqlite else at
        return (did, sid, inst, version, decided, outcome, acc, rej, lines)

    # -- spill files ------------------------------------------------------------------------
    # Several processes may share the directory: a process holds an exclusive flock on
    # its active spill file, and replays only files it can lock (its own after rotating,
    # or those of processes that are gone).
    def _spill_files(self) -> list[Path]:
        if not self.spill_dir.is_dir():
            return []
        return sorted(self.spill_dir.glob("spill-*.jsonl"))

    def _spill(self, rows: list[SpillRow]) -> None:
        """Append rows to the active spill file and fsync (runs in a thread)."""
        if self._spill_fd is None:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            name = f"spill-{time.time_ns():020d}-{os.getpid()}.jsonl"
            fd = os.open(self.spill_dir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._spill_fd = fd
        data = b"".join(msgspec.json.encode(r) + b"\n" for r in rows)
        view = memoryview(data)
        while view:
            view = view[os.write(self._spill_fd, view) :]
        os.fsync(self._spill_fd)

    def _close_spill(self) -> None:
        if self._spill_fd is not None:
            os.close(self._spill_fd)  # releases the lock
            self._spill_fd = None

    async def _replay_some(self) -> None:
        """Insert the oldest spill file this process can lock, then delete it."""
        await asyncio.to_thread(self._close_spill)  # new spills go to a new file
        for path in self._spill_files():
            claimed = await asyncio.to_thread(_claim, path)
            if claimed is None:
                continue
            fd, rows = claimed
            try:
                for k in range(0, len(rows), self.batch_size):
                    await self._insert([self._row(r) for r in rows[k : k + self.batch_size]])
            except Exception as exc:
                os.close(fd)
                self._db_failed(exc)
                return
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            os.close(fd)
            self.written += len(rows)
            self.replayed += len(rows)
            self._backoff = 0.0
            log.info("decision log: replayed %d spilled decisions from %s", len(rows), path.name)
            return


def _claim(path: Path) -> tuple[int, list[SpillRow]] | None:
    """Lock a spill file (None: another process holds it) and read its rows. Lines that
    do not parse (a write torn by a crash) are kept aside in ``<file>.rejected``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    rows, bad = [], []
    with os.fdopen(os.dup(fd), "rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rows.append(_spill_decoder.decode(line))
            except msgspec.DecodeError:
                bad.append(line)
    if bad:
        log.error("decision log: %d unreadable lines in %s kept aside", len(bad), path.name)
        with open(path.with_name(path.name + ".rejected"), "ab") as out:
            out.writelines(bad)
    return fd, rows

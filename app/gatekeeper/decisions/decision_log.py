"""The decision log: every answered settlement, persisted in batches off the request path.

Hot path: :meth:`DecisionLog.offer` appends one tuple (ids, totals and the response body
already built for the client) to an in-memory list, O(1). A background task takes up to
``batch_size`` decisions every ``interval`` seconds, turns them into compact rows
(``app.registry.decision_codec``) and writes them with one ``COPY`` (PostgreSQL, binary,
through asyncpg); a replay (or a batch whose first write may have landed) goes through a
staging table and ``INSERT … ON CONFLICT DO NOTHING``, so nothing is doubled. SQLite
gets ``INSERT … ON CONFLICT DO NOTHING`` (``sink.py``).

When the sink is slow or down, nothing is dropped silently:

* A failed or timed-out insert (``write_timeout``) sends the batch to a spill file under
  ``decision_log_dir`` (zstd frames of JSON lines, fsynced before the batch counts as
  kept). While the
  database is failing, batches go straight to the spill, and the worker probes the
  database (``SELECT 1``, ``probe_timeout``) with pauses doubling from 0.25 s to at most
  ``probe_max`` (2 s): after an outage of any length the sink is back within about 2 s
  of the database, and the backlog drains in chunks of ``replay_batch`` rows.
* A slow database: when the queue passes half of ``max_queue`` while inserts are slower
  than the traffic, the backlog is spilled at once (appending to a file is far cheaper
  than inserting) instead of letting requests wait.
* When the queue is short and the database answers, spilled files (also those left by
  an earlier process; rotated at 16 MB of JSON) are replayed into it oldest first, one
  chunk of ``replay_batch`` rows per tick after the live batch, and deleted when fully
  inserted; while live decisions arrive the replay takes ``replay_share`` of the wall
  time, more when the backlog would not be in within ``replay_drain_s`` (``replay.py``).
  Replays are idempotent (``ON CONFLICT DO NOTHING`` on the key
  ``(institution_code, decision_id)``).
* If even the spill fails (disk full, directory not writable), the batch goes back to
  the head of the queue. The queue is bounded (``max_queue``); when it is full the
  request waits up to ``offer_wait`` seconds for room and then gets a 503 problem: the
  client is never told a decision that is not kept.
* Shutdown drains the queue (database, else spill). A hard crash (SIGKILL) loses
  nothing answered: every answered decision is also in the journal (``journal.py``),
  written before the response is sent, and replayed by the next process like a spill
  file. A power loss can take what the journal had not fsynced yet (``journal_fsync_s``).

Spill files are described in ``spill.py``. With ``sink="spill"`` (``YBGATE_DECISION_LOG_SINK``;
the benchmark uses it) every batch goes to the spill files only, and the next process
running with the database sink replays them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import create_engine
from app.gatekeeper.decisions.replay import LIVE_S, Replayer
from app.gatekeeper.decisions.sink import Records, Sink
from app.gatekeeper.decisions.spill import Item, SpillWriter, decode_item, spill_files
from app.registry import decision_codec as codec

log = logging.getLogger("ybgate.decisions")
PROBE_MIN = 0.25
ENCODE_CHUNK = 64  # decisions encoded between two yields to the event loop (~1.6 ms)


async def compact_rows(batch: list[Item]) -> list[codec.Decision]:
    """The batch's rows in the compact encoding (~25 µs of Python a 20-line decision):
    made here, off the request path, in chunks that let the requests of the event loop
    in between (a batch of 2,000 would otherwise hold it ~50 ms)."""
    rows: list[codec.Decision] = []
    for k in range(0, len(batch), ENCODE_CHUNK):
        if k:
            await asyncio.sleep(0)
        rows += [decode_item(i) for i in batch[k : k + ENCODE_CHUNK]]
    return rows


class DecisionLog:
    def __init__(
        self,
        database_url: str,
        spill_dir: str | os.PathLike[str],
        *,
        table: str = "settlement_decisions",
        sink: str = "database",
        max_queue: int = 20_000,
        batch_size: int = 2_000,
        interval: float = 0.05,
        write_timeout: float = 5.0,
        offer_wait: float = 2.0,
        probe_max: float = 2.0,
        probe_timeout: float = 1.0,
        replay_batch: int = 1_000,
        replay_share: float = 0.25,
        replay_drain_s: float = 6.0,
        partitions_ahead: int = 7,
    ) -> None:
        self.database_url = database_url
        self.spill_dir = Path(spill_dir)
        self.table = table
        if sink not in ("database", "spill"):
            raise ValueError(f"decision log sink must be 'database' or 'spill', not {sink!r}")
        self.sink = sink
        self.max_queue = max_queue
        # Room for the queue: max_queue less the batch being written (not kept yet).
        self.limit = max_queue
        self.batch_size = batch_size
        self.interval = interval
        self.write_timeout = write_timeout
        self.offer_wait = offer_wait
        self.probe_max = probe_max
        self.probe_timeout = probe_timeout
        self._replay = Replayer(self.spill_dir, replay_batch, replay_share, replay_drain_s)
        self._live_at = 0.0  # monotonic: when a live batch was last taken
        self.partitions_ahead = partitions_ahead
        self._partitions_at = 0.0  # when the day partitions ahead were last ensured
        self._spilling = False
        self.queue: list[Item] = []
        self._writing: list[Item] = []  # the batch being written (not in the table yet)
        self.written = 0  # rows inserted (live and replayed)
        self.kept = 0  # live decisions kept (inserted, or spilled and fsynced), queue order
        self.spilled = 0  # rows written to spill files
        self.replayed = 0
        self.failures = 0  # failed database writes
        self.spill_failures = 0
        self._engine: AsyncEngine | None = None
        self._sink: Sink | None = None
        self._task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._stopping = False
        self._db_down_until = 0.0
        self._backoff = 0.0
        self._spill = SpillWriter(self.spill_dir)
        self._disposing: asyncio.Task[None] | None = None
        self.last_written_ms = 0  # the newest decision id's millisecond in the table

    # -- hot path ---------------------------------------------------------------------------
    def offer(self, item: Item) -> bool:
        """Queue a decision; False when full (see :meth:`offer_or_wait`). The hot path
        inlines this: ``if len(q) < limit: q.append(item)``."""
        q = self.queue
        if len(q) >= self.limit:
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

    def unwritten(self) -> list[Item]:
        """Decisions answered but not yet in the table: the batch being written, then the
        queue (read side: a client may read its decision back at once)."""
        return self._writing + self.queue

    @property
    def pending_spill_files(self) -> int:
        return len(self._spill_files())

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._engine = create_engine(self.database_url)
        self._sink = Sink(self._engine, self.table)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="ybgate-decision-log")

    # -- what operators watch ---------------------------------------------------------------
    def lag_seconds(self) -> float:
        """Age of the oldest decision answered but not in the table (queue or spill)."""
        oldest = self._writing[0][1] if self._writing else (self.queue[0][1] if self.queue else 0)
        if self._replay.oldest_ms():
            oldest = min(oldest or 1 << 62, self._replay.oldest_ms())
        return max(0.0, time.time() - oldest / 1000) if oldest else 0.0

    def backlog(self) -> int:
        """Decisions answered but not in the table yet (this process's count)."""
        return len(self._writing) + len(self.queue) + max(0, self.spilled - self.replayed)

    @property
    def replay_paused_s(self) -> float:
        """Seconds the replay has paused so far, yielding to live traffic."""
        return self._replay.paused

    @property
    def database_down(self) -> bool:
        return time.monotonic() < self._db_down_until

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
        self._engine = create_engine(database_url)
        self._sink = Sink(self._engine, self.table)
        self._db_down_until = 0.0
        if old is not None:
            self._disposing = asyncio.get_running_loop().create_task(old.dispose())

    # -- the worker -------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._stopping and len(self.queue) < self.batch_size:
                await asyncio.sleep(self.interval)
            try:
                if not await self._tick():
                    return
            except Exception:  # never let the worker die: the queue would only fill up
                log.exception("decision log: worker error")
                await asyncio.sleep(1.0)

    async def _tick(self) -> bool:
        if self._sink is not None and time.monotonic() >= self._partitions_at:
            await self._ensure_partitions()
        if self._db_down_until and time.monotonic() >= self._db_down_until:
            await self._probe()
        batch = self.queue[: self.batch_size]
        del self.queue[: len(batch)]
        now = time.monotonic()
        if batch:
            self._live_at = now
            self.limit = self.max_queue - len(batch)
            self._writing = batch
            try:
                await self._write(batch)
            finally:
                self._writing = []
                self.limit = self.max_queue
                self._room.set()
        elif self._stopping:
            return False
        if (
            not self._stopping
            and self.sink == "database"
            and len(self.queue) < self.batch_size  # live batches go first
            and now >= self._db_down_until
            and self._replay.ready(now, self._spill_files)
        ):
            await self._replay_some()
        return True

    async def _write(self, batch: list[Item]) -> None:
        use_db = self.sink == "database" and time.monotonic() >= self._db_down_until
        if use_db and len(self.queue) + len(batch) > self.max_queue // 2:
            # The database does not keep up: spill this batch and the backlog now (cheap),
            # replay when the queue is quiet again.
            batch += self.queue
            self.queue.clear()
            self.limit = self.max_queue - len(batch)
            use_db = False
        if use_db:
            try:
                await self._insert(await compact_rows(batch))
                self.written += len(batch)
                self.kept += len(batch)
                self._backoff = 0.0
                self._spilling = False
                return
            except Exception as exc:  # any sink failure: keep the batch on disk
                self._db_failed(exc)
        try:
            await asyncio.to_thread(self._spill.append, batch)
            if not self._spilling:  # the first batch of a spell (not one line per batch)
                self._spilling = True
                log.info(
                    "decision log: spilling from decision %s",
                    batch[0][0],
                    extra={"decision_id": batch[0][0], "settlement_id": batch[0][2]},
                )
            self.spilled += len(batch)
            self.kept += len(batch)
            self._replay.scan_at = 0.0  # a file to replay once the database is back
        except Exception:
            self.spill_failures += 1
            log.exception(
                "decision log: spill failed; %d decisions stay queued",
                len(batch),
                extra={"decision_id": batch[0][0]},
            )
            self.queue[:0] = batch
            self.limit = self.max_queue
            if self._stopping:
                log.error("decision log: stopping with %d decisions unwritten", len(self.queue))
                self.queue.clear()
                return
            await asyncio.sleep(min(1.0, self.interval * 10))

    def _db_failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._backoff = min(self.probe_max, max(PROBE_MIN, self._backoff * 2))
        self._db_down_until = time.monotonic() + self._backoff
        log.warning(
            "decision log: database write failed (%r); spilling, probing in %.2fs",
            exc,
            self._backoff,
        )

    async def _probe(self) -> None:
        """After a failure: is the database back? (one ``SELECT 1``, short timeout)."""
        if self._sink is None:
            return
        try:
            async with asyncio.timeout(self.probe_timeout):
                await self._sink.probe()
        except Exception as exc:
            self._db_failed(exc)
            return
        log.info("decision log: database answers again; replaying the backlog")
        self._db_down_until = 0.0
        self._backoff = 0.0

    async def _ensure_partitions(self) -> None:
        """PostgreSQL: the day partitions ahead, at start and then hourly (rows of a day
        without one would land in the default partition)."""
        assert self._sink is not None
        try:
            async with asyncio.timeout(self.write_timeout):
                await self._sink.ensure_partitions(datetime.now(UTC).date(), self.partitions_ahead)
            self._partitions_at = time.monotonic() + 3600
        except Exception as exc:  # the database may be down: again in a minute
            log.warning("decision log: partitions ahead not ensured (%r)", exc)
            self._partitions_at = time.monotonic() + 60

    async def _insert(
        self, rows: list[codec.Decision], *, replay: bool = False, records: Records = None
    ) -> None:
        if self._sink is None:
            raise RuntimeError("decision log not started")
        async with asyncio.timeout(self.write_timeout * (2 if replay else 1)):
            await self._sink.write(rows, replay=replay, records=records)
        if rows:
            self.last_written_ms = max(self.last_written_ms, rows[-1].decided_ms)

    # -- spill files ------------------------------------------------------------------------
    def _spill_files(self) -> list[Path]:
        return spill_files(self.spill_dir)

    def _close_spill(self) -> None:
        self._spill.close()
        self._release_replay()

    async def _replay_some(self) -> None:
        """One chunk of the oldest spill file this process can lock (after the live batch
        of the tick), then the pause that keeps the replay to its share of the time while
        live decisions arrive; a file is deleted once all of it is in."""
        replay = self._replay
        if not replay.busy:
            await asyncio.to_thread(self._spill.close)  # new spills go to a new file
            if not await replay.take(self._spill_files()):
                replay.idle()
                return
        started = time.monotonic()
        try:
            n = await replay.step(self._insert_replayed)
        except Exception as exc:
            self._db_failed(exc)
            return
        self.written += n
        self.replayed += n
        self._backoff = 0.0
        now = time.monotonic()
        backlog = max(0, self.spilled - self.replayed)
        replay.pace(now - started, now - self._live_at < LIVE_S, n, backlog)

    async def _insert_replayed(self, rows: list[codec.Decision], records: Records) -> None:
        await self._insert(rows, replay=True, records=records)

    def _release_replay(self) -> None:
        self._replay.release()

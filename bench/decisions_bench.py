"""Decision log volume and lookups: bytes per decision (PostgreSQL incl. indexes, journal,
archive), COPY ingest rate with fsync on, lookup p50/p99 by settlement, institution and
physician, at --rows decisions of 20 lines spread over --days daily partitions. With
--ingest: a sustained --rate through the gatekeeper into PostgreSQL, against the spill
sink, and a database outage under that load (bench/ingest_bench.py).

A throwaway PostgreSQL (scripts/testenv.sh) switched to fsync=on, synchronous_commit=on,
full_page_writes=on; migrated; rows are synthetic (4,000 physicians, 500 institutions,
one or two physicians a decision, one line in ten rejected) copied through the
decision log's own sink (``Sink.write``: binary COPY).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.migrate import upgrade  # noqa: E402
from app.decisions import archive  # noqa: E402
from app.decisions.repository import decisions_query, newest  # noqa: E402
from app.gatekeeper.decisions.sink import Sink  # noqa: E402
from app.gatekeeper.decisions.spill import Item, Packer, json_buffers  # noqa: E402
from app.models import partitions  # noqa: E402
from app.registry import decision_codec as codec  # noqa: E402
from app.registry.judge import REASONS  # noqa: E402
from bench import ingest_bench as ib  # noqa: E402

PHYSICIANS = [f"YB62010219800101{i:010d}" for i in range(4000)]
INSTITUTIONS = [f"H620100{i:05d}" for i in range(500)]
rng = random.Random(7)


def template(day: date) -> tuple[list[dict[str, Any]], list[tuple[str, str, bool]]]:
    a, b = rng.sample(PHYSICIANS, 2)
    n_b = rng.choice((0, 0, 0, 5, 10))
    lines, inputs = [], []
    for i in range(20):
        doc = b if i >= 20 - n_b else a
        reject = rng.random() < 0.1
        reason = rng.choice(REASONS) if reject else None
        lines.append(
            {"line_id": str(i + 1), "decision": "reject" if reject else "accept", "reason": reason}
        )
        inputs.append((doc, (day - timedelta(days=rng.choice((0, 0, 1)))).isoformat(), False))
    return lines, inputs


def decisions(day: date, n: int, start_ms: int) -> list[codec.Decision]:
    out = []
    step = 86_400_000 // max(n, 1)
    for i in range(n):
        ms = start_ms + i * step
        did = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0x8 << 60) | rng.getrandbits(60)))
        lines, inputs = template(day)
        rejected = sum(1 for ln in lines if ln["decision"] == "reject")
        outcome = "accept" if not rejected else ("reject" if rejected == 20 else "partial")
        amounts = (codec.money((20 - rejected) * 1250), codec.money(rejected * 1250))
        sid = f"{rng.choice(INSTITUTIONS)[-5:]}{ms:013d}{i % 1000:03d}"
        out.append(
            codec.from_lines(did, sid, rng.choice(INSTITUTIONS), 9, outcome, amounts, lines, inputs)
        )
    return out


def journal_items(n: int) -> list[Item]:
    """Decisions as the hot path hands them to the journal: the response body as the
    client got it and the lines' inputs, each of its own ids, amounts and verdicts."""
    out: list[Item] = []
    ms = int(time.time() * 1000)
    for i in range(n):
        did = str(uuid.UUID(int=((ms + i) << 80) | (0x7 << 76) | (0x8 << 60) | rng.getrandbits(60)))
        lines, inputs = template(date.today())
        rejected = sum(1 for ln in lines if ln["decision"] == "reject")
        acc, rej = codec.money((20 - rejected) * 1250), codec.money(rejected * 1250)
        sid, inst = f"{rng.randrange(10**15):015d}", rng.choice(INSTITUTIONS)
        answer = {
            "settlement_id": sid,
            "decision_id": did,
            "registry_version": 9,
            "outcome": "partial",
            "accepted_amount": acc,
            "rejected_amount": rej,
            "lines": lines,
        }
        body = json.dumps(answer, separators=(",", ":")).encode()
        inp = json.dumps(inputs, separators=(",", ":")).encode()
        out.append((did, ms + i, sid, inst, 9, "partial", acc, rej, body, inp))
    return out


def journal_bytes(items: list[Item], per_write: int) -> float:
    """Bytes the journal writes per decision, ``per_write`` decisions a loop turn."""
    packer = Packer()
    total = 0
    for k in range(0, len(items), per_write):
        total += len(packer.pack(json_buffers(items[k : k + per_write])))
    return total / len(items)


async def drain(url: str, n: int, work: Path) -> tuple[float, float]:
    """An outage of ``n`` decisions: the decision log spills them with the database down
    (port 1), then the database returns; (seconds to spill, seconds until every spilled
    decision is in the table)."""
    from sqlalchemy.engine import make_url

    from app.gatekeeper.decisions.decision_log import DecisionLog

    down = make_url(url).set(port=1).render_as_string(hide_password=False)
    dlog = DecisionLog(down, work / "spill", write_timeout=2.0)
    await dlog.start()
    templates = []
    for _ in range(50):
        lines, inputs = template(date.today())
        text = json.dumps(lines, separators=(",", ":")).encode()
        templates.append((text, json.dumps(inputs).encode()))
    t0 = time.perf_counter()
    ms = int(time.time() * 1000)
    for i in range(n):
        did = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0x8 << 60) | i))
        lines_text, inputs = templates[i % 50]
        body = (  # the response as the hot path answered it (the journal keeps it as is)
            b'{"settlement_id":"OUT-%d","decision_id":"%s","registry_version":9,'
            b'"outcome":"accept","accepted_amount":"250.00","rejected_amount":"0.00",'
            b'"lines":%s}' % (i, did.encode(), lines_text)
        )
        item = (did, ms, f"OUT-{i}", "H62010000001", 9, "accept", "250.00", "0.00", body, inputs)
        if not dlog.offer(item):
            await dlog.offer_or_wait(item)
    while dlog.spilled < n:  # noqa: ASYNC110  (polling the sink's counters)
        await asyncio.sleep(0.05)
    spilled = time.perf_counter() - t0
    t1 = time.perf_counter()
    dlog.use_database(url)
    while dlog.replayed < n or dlog.pending_spill_files:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    drained = time.perf_counter() - t1
    await dlog.stop()
    return spilled, drained


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def timed(engine: Any, stmt: Any, n: int) -> tuple[float, float]:
    ms: list[float] = []
    async with engine.connect() as conn:
        for s in stmt(n):
            t = time.perf_counter()
            (await conn.execute(s)).all()
            ms.append((time.perf_counter() - t) * 1000)
    return statistics.median(ms), pct(ms, 0.99)


async def lsn(engine: Any) -> int:
    async with engine.connect() as conn:
        q = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"
        return int((await conn.execute(text(q))).scalar())


async def amain(url: str, rows: int, days: int, work: Path, outage: int) -> None:
    engine = create_async_engine(url, pool_size=2)
    async with engine.connect() as conn:
        q = "SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings WHERE name IN "
        q += "('fsync', 'synchronous_commit', 'full_page_writes')"
        print(f"PostgreSQL: {(await conn.execute(text(q))).scalar()}", flush=True)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    async with engine.begin() as conn:
        for i in range(days):
            await conn.execute(text(partitions.create_sql(first + timedelta(days=i))))
    sink = Sink(engine)
    per_day = rows // days
    sample: list[codec.Decision] = []
    copy_s = 0.0
    wal = 0
    for i in range(days):
        day = first + timedelta(days=i)
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        batch = decisions(day, per_day, start)
        sample += batch[:: max(1, per_day // 2000)]
        lsn0 = await lsn(engine)
        t = time.perf_counter()
        for j in range(0, len(batch), 10_000):
            await sink.write(batch[j : j + 10_000])
        copy_s += time.perf_counter() - t
        wal += await lsn(engine) - lsn0
        print(f"  day {day}: {len(batch)} rows", flush=True)
    total = per_day * days
    async with engine.connect() as conn:  # as autovacuum would: GIN pending list merged
        ac = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await ac.execute(text("VACUUM (ANALYZE) settlement_decisions"))
    async with engine.begin() as conn:
        heap = idx = 0
        for (name,) in (await conn.execute(text(partitions.LIST_SQL))).all():
            h, t_ = (
                await conn.execute(
                    text(f"SELECT pg_table_size('{name}'), pg_indexes_size('{name}')")
                )
            ).one()
            heap, idx = heap + h, idx + t_
        per_index = (
            await conn.execute(
                text(
                    "SELECT i.relname, sum(pg_relation_size(i.oid)) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                    "WHERE t.relname LIKE 'settlement_decisions_%' GROUP BY 1"
                )
            )
        ).all()
    by_kind: dict[str, int] = {}
    for name, size in per_index:
        kind = "key" if name.endswith("pkey") else name.split("_")[-2]
        by_kind[kind] = by_kind.get(kind, 0) + int(size)
    jitems = journal_items(2000)
    journal = (journal_bytes(jitems, 1), journal_bytes(jitems, 16))
    async with engine.connect() as conn:
        r = await conn.execute(
            text(
                f"SELECT {archive.SELECT_COLUMNS} FROM {partitions.name_of(first)} "
                "ORDER BY institution_code, decision_id"
            )
        )
        day_rows = list(r.all())
    path = archive.write_day(work / "archive", first, day_rows)
    arch = path.stat().st_size / len(day_rows)

    def by_sid(n: int) -> Any:
        for d in rng.sample(sample, n):
            yield decisions_query(
                dialect="postgresql",
                settlement_id=d.settlement_id,
                institution_code=None,
                region=None,
                physician_codes=[],
                since=None,
                until=None,
            ).limit(21)

    def by_inst(n: int) -> Any:
        for _ in range(n):
            yield decisions_query(
                dialect="postgresql",
                settlement_id=None,
                institution_code=rng.choice(INSTITUTIONS),
                region=None,
                physician_codes=[],
                since=None,
                until=None,
            ).limit(21)

    def by_doc_query(floor: datetime | None) -> Any:
        return decisions_query(
            dialect="postgresql",
            settlement_id=None,
            institution_code=None,
            region=None,
            physician_codes=[doc_code[0]],
            since=floor,
            until=None,
        )

    doc_code = [PHYSICIANS[0]]

    async def by_doc_pages(n: int) -> tuple[float, float]:
        ms: list[float] = []
        async with AsyncSession(engine) as session:
            for _ in range(n):
                doc_code[0] = rng.choice(PHYSICIANS)
                t = time.perf_counter()
                await newest(session, by_doc_query, 21, None)
                ms.append((time.perf_counter() - t) * 1000)
        return statistics.median(ms), pct(ms, 0.99)

    for warm in (by_sid, by_inst):  # the first queries of each shape plan and warm
        await timed(engine, warm, 20)
    await by_doc_pages(20)
    sid = await timed(engine, by_sid, 1000)
    inst = await timed(engine, by_inst, 300)
    doc = await by_doc_pages(300)
    await engine.dispose()
    spill_s, drain_s = await drain(url, outage, work)
    print(f"decisions: {total} of 20 lines over {days} daily partitions")
    print(f"COPY ingest (fsync on): {total / copy_s:,.0f} decisions/s")
    print(
        f"PostgreSQL: {(heap + idx) / total:.0f} B/decision "
        f"(heap {heap / total:.0f} + indexes {idx / total:.0f})"
    )
    print("  indexes: " + ", ".join(f"{k} {v / total:.0f} B" for k, v in sorted(by_kind.items())))
    print(f"WAL written by the COPY: {wal / total:.0f} B/decision")
    print(
        f"journal: {journal[0]:.0f} B/decision one a write, {journal[1]:.0f} B sixteen a write"
        " (zstd frames of the JSON)"
    )
    print(f"archive: {arch:.1f} B/decision (Parquet zstd, {len(day_rows)} rows of one day)")
    print(f"lookup by settlement_id: p50 {sid[0]:.2f} ms, p99 {sid[1]:.2f} ms")
    print(f"institution page (20 newest): p50 {inst[0]:.2f} ms, p99 {inst[1]:.2f} ms")
    print(
        f"outage of {outage} decisions: spilled in {spill_s:.1f} s; "
        f"all in the table {drain_s:.1f} s after the database returned"
    )
    print(f"physician page (20 newest, all history): p50 {doc[0]:.2f} ms, p99 {doc[1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("DECISION_ROWS", 1_000_000)))
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument(
        "--outage", type=int, default=150_000, help="decisions spilled during an outage"
    )
    ingest = parser.add_argument_group("--ingest: through the gatekeeper (bench/ingest_bench.py)")
    ingest.add_argument("--ingest", action="store_true")
    ingest.add_argument("--rate", type=float, default=2000.0, help="decisions/s")
    ingest.add_argument("--seconds", type=float, default=600.0, help="per sink")
    ingest.add_argument("--outage-s", type=float, default=60.0, help="database stopped")
    ingest.add_argument("--after-s", type=float, default=30.0, help="load after it returns")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-decisions-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    subprocess.run([testenv, "start", str(work / "env")], check=True)
    try:
        env = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (work / "env" / "env").read_text().splitlines()
        )
        url, pg_bin = env["YBGATE_TEST_PG_URL"], env["YBGATE_TEST_PG_BIN"]
        # testenv.sh starts PostgreSQL with fsync=off on its command line, which no
        # ALTER SYSTEM overrides: restart it durable.
        pg = ib.Postgres(work / "env", url, pg_bin)
        pg.stop("fast")
        pg.start()
        if args.ingest:
            spec = ib.Ingest(args.rate, args.seconds, args.outage_s, args.after_s)
            ib.run(work, pg, url, pg_bin, spec)
            return
        upgrade(url)
        asyncio.run(amain(url, args.rows, args.days, work, args.outage))
    finally:
        subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

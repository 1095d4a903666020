"""Ingest at national peak, through the real gatekeeper (``make bench-decisions
BENCH_ARGS="--ingest --rate 2000 --seconds 600"``).

A throwaway PostgreSQL (scripts/testenv.sh) restarted durable (``fsync``,
``synchronous_commit`` and ``full_page_writes`` on, as command-line options, which
``ALTER SYSTEM`` could not override), migrated and seeded with the demo data;
``ybgate serve gatekeeper`` as a process (the production server, its journal fsynced);
POST /v1/hsa with a 2204 of 20 lines, a new msgid each
time, open-loop at ``--rate`` (message i is due at start + i/rate, and its latency counts
from when it was due, so a stalled server is not hidden by a waiting client):

1. ``--seconds`` against a gatekeeper whose decision log has the spill sink only (files);
2. ``--seconds`` against one with the database sink (batched binary COPY): p99 of both,
   their ratio (the bar is 1.2), the decisions/s achieved;
3. the same gatekeeper under the same load while PostgreSQL is stopped (``pg_ctl -m
   immediate``: a crash) for ``--outage-s`` seconds and then started again, the load
   going on ``--after-s`` seconds more: how long after the database answers again every
   decision answered before that moment is in the table (the backlog drained);
4. the gatekeeper stopped (it drains its queue), the rows counted: every decision
   answered 200 in phases 2 and 3 must be a row (0 lost).

The machine's load average is printed with the figures: on a shared machine the p99s
move with it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import uvloop
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
PATH = "/v1/hsa"
INST = "H33010200001"
CODE = "YB330102198000000000000000010"  # in good standing at INST (app/seed.py)
COUNT_BELOW = "SELECT count(*) FROM settlement_decisions WHERE decision_id < $1"


class Postgres:
    """The testenv's PostgreSQL, stopped and started with durable settings."""

    def __init__(self, envdir: Path, url: str, pg_bin: str) -> None:
        self.pgd = Path((envdir / "pgd").read_text().strip())
        self.bin = pg_bin
        self.port = make_url(url).port

    def _ctl(self, *args: str) -> None:
        cmd = [f"{self.bin}/pg_ctl", "-D", str(self.pgd / "pg"), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, timeout=120, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        opts = (
            f"-h 127.0.0.1 -p {self.port} -k {self.pgd} -c max_connections=200 "
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
        )
        self._ctl("-l", str(self.pgd / "pg.log"), "-w", "-t", "120", "-o", opts, "start")


def body_template(lines: int = 20) -> str:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    fees = ",".join(
        f'{{"feedetl_sn":"{i + 1}","mdtrt_id":"MD1","psn_no":"P1",'
        f'"fee_ocur_time":"{today} 09:00:00","med_list_codg":"250101001",'
        f'"det_item_fee_sumamt":10.5,"cnt":1,"pric":10.5,"bilg_dr_codg":"{CODE}"}}'
        for i in range(lines)
    )
    return (
        f'{{"infno":"2204","msgid":"MSGID","fixmedins_code":"{INST}","med_type":"11",'
        f'"input":{{"feedetail":[{fees}]}}}}'
    )


@dataclass
class Load:
    """Open-loop load: counters as it goes (``ok`` answers with status 200)."""

    url: str
    token: str
    rate: float
    template: str = field(default_factory=body_template)
    ok: int = 0
    failed: int = 0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)  # from when due
    service: list[float] = field(default_factory=list)  # from when sent
    when: list[float] = field(default_factory=list)  # due, seconds after the start
    started: float = 0.0  # perf_counter at the start of the schedule

    async def run(self, seconds: float, tag: str) -> float:
        """Send ``rate * seconds`` messages; the messages/s achieved."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30)
        pending: set[asyncio.Task[None]] = set()
        n = int(self.rate * seconds)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(i: int, due: float) -> None:
                sent = time.perf_counter()
                body = self.template.replace("MSGID", f"{tag}{i:012d}").encode()
                try:
                    async with session.post(self.url, data=body, headers=headers) as r:
                        doc = await r.read()
                        good = r.status == 200
                        error = f"{r.status} {doc[:300]!r}"
                except aiohttp.ClientError as exc:
                    good, error = False, repr(exc)
                if not good and not self.first_error:
                    self.first_error = error
                self.ok += good
                self.failed += not good
                done = time.perf_counter()
                self.latencies.append(done - due)
                self.service.append(done - sent)
                self.when.append(due - start)

            start = self.started = time.perf_counter()
            for i in range(n):
                due = start + i / self.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(i, due))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            return n / (time.perf_counter() - start)

    def windows(self, width: float) -> str:
        """p99 (from when due, ms) of each ``width`` seconds of the schedule."""
        by: dict[int, list[float]] = {}
        for t, lat in zip(self.when, self.latencies, strict=True):
            by.setdefault(int(t // width), []).append(lat)
        out = []
        for k in sorted(by):
            xs = sorted(by[k])
            out.append(f"{k * width:g}s {xs[int(len(xs) * 0.99)] * 1000:.0f}")
        return ", ".join(out)

    def between(self, t0: float, t1: float) -> str:
        """p99 and max (from when due, ms) of the messages due between perf_counter
        ``t0`` and ``t1``, and how many."""
        xs = sorted(
            lat
            for t, lat in zip(self.when, self.latencies, strict=True)
            if t0 <= self.started + t <= t1
        )
        if not xs:
            return "no message"
        p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000
        return f"p99 {p99:.0f} ms, max {xs[-1] * 1000:.0f} ms ({len(xs)} messages)"

    def p(self, q: float, *, sent: bool = False) -> float:
        """Percentile ``q`` of the latencies in ms: from when due (open loop), or from
        when sent (without the client's own lag behind the schedule)."""
        xs = sorted(self.service if sent else self.latencies)
        return xs[min(len(xs) - 1, int(len(xs) * q))] * 1000


def loadavg() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Gatekeeper:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.proc.terminate()  # a graceful stop drains the decision log's queue
        self.proc.wait(120)


def gatekeeper(work: Path, env: dict[str, str], sink: str, port: int) -> Gatekeeper:
    env = {
        **env,
        "YBGATE_DECISION_LOG_SINK": sink,
        "YBGATE_DECISION_LOG_DIR": str(work / f"decisions-{sink}"),
        "YBGATE_IDEMPOTENCY_DIR": str(work / f"msgids-{sink}"),
    }
    log = open(work / f"gatekeeper-{sink}.log", "wb")  # noqa: SIM115 (the child keeps it)
    cmd = [sys.executable, "-m", "app.cli", "serve", "gatekeeper", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            sys.exit(f"gatekeeper ({sink}) exited: {(work / f'gatekeeper-{sink}.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1):
                return Gatekeeper(proc, base + PATH)
        except OSError:
            time.sleep(0.1)
    sys.exit("gatekeeper not ready")


async def rows(url: str) -> int:
    """The rows of the measured runs' messages (msgid = settlement_id ``ING…``)."""
    conn = await asyncpg.connect(url)
    try:
        q = "SELECT count(*) FROM settlement_decisions WHERE settlement_id LIKE 'ING%'"
        return int(await conn.fetchval(q))
    finally:
        await conn.close()


async def outage(pg: Postgres, url: str, load: Load, args: Ingest) -> tuple[float, int, float]:
    """Load with the database stopped ``outage_s`` seconds: (seconds from the database
    answering again until every decision decided before is a row, rows before that,
    perf_counter when it answered again)."""
    from app.registry.decision_codec import id_floor

    async def crash_and_watch() -> tuple[float, list[tuple[float, int]], object]:
        await asyncio.sleep(args.after_s / 3)
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(args.outage_s)
        await asyncio.to_thread(pg.start)
        up, floor = time.perf_counter(), id_floor(datetime.now().astimezone())
        seen: list[tuple[float, int]] = []
        conn = await asyncpg.connect(url)
        try:
            while time.perf_counter() - up < args.after_s:
                seen.append(
                    (time.perf_counter() - up, int(await conn.fetchval(COUNT_BELOW, floor)))
                )
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        return up, seen, floor

    seconds = args.after_s / 3 + args.outage_s + args.after_s
    watch = asyncio.create_task(crash_and_watch())
    await load.run(seconds, "INGO")
    up, seen, floor = await watch
    conn = await asyncpg.connect(url)
    try:
        final = int(await conn.fetchval(COUNT_BELOW, floor))
    finally:
        await conn.close()
    reached = [t for t, n in seen if n >= final]
    return (reached[0] if reached else float("inf")), final, up


@dataclass
class Ingest:
    rate: float
    seconds: float
    outage_s: float
    after_s: float


def seed(env: dict[str, str]) -> str:
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=REPO, check=True, capture_output=True)
    out = subprocess.run([*cli, "seed"], env=env, cwd=REPO, check=True, capture_output=True)
    return str(re.findall(r"HIS=(\S+)", out.stdout.decode())[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def steady(
    work: Path, env: dict[str, str], token: str, sink: str, args: Ingest
) -> tuple[Gatekeeper, Load]:
    """A gatekeeper with ``sink`` (left running), warmed 5 s; then ``args.seconds`` of
    load, whose figures are printed."""
    gk = gatekeeper(work, env, sink, free_port())
    uvloop.run(Load(gk.url, token, args.rate).run(min(5.0, args.seconds), "W" + sink[0]))
    load = Load(gk.url, token, args.rate)
    achieved = uvloop.run(load.run(args.seconds, "ING" + sink[0].upper()))
    print(
        f"{sink:8} sink: {achieved:,.0f} decisions/s sent, {load.ok} answered, "
        f"{load.failed} failed; p50 {statistics.median(load.latencies) * 1000:.2f} ms, "
        f"p99 {load.p(0.99):.2f} ms; from when sent p50 "
        f"{statistics.median(load.service) * 1000:.2f} ms, p99 {load.p(0.99, sent=True):.2f} ms "
        f"({loadavg()})",
        flush=True,
    )
    if load.first_error:
        print(f"  first failure: {load.first_error}")
    return gk, load


def run(work: Path, pg: Postgres, url: str, pg_bin: str, args: Ingest) -> None:
    """The four phases (module docstring), PostgreSQL started durable; prints the
    figures."""
    # The caller's YBGATE_* settings are not the benchmark's, but the replay's tuning
    # (YBGATE_DECISION_REPLAY_SHARE, _BATCH) is passed on, to compare settings.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("YBGATE_") or k.startswith("YBGATE_DECISION_REPLAY_")
    }
    env.update(
        YBGATE_DATABASE_URL=url,
        YBGATE_SECRETS_KEY=base64.b64encode(os.urandom(32)).decode(),
        PYTHONDONTWRITEBYTECODE="1",
    )
    token = seed(env)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    fsync = subprocess.run(
        [f"{pg_bin}/psql", dsn, "-Atc", "SHOW fsync"], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"== ingest: {args.rate:.0f}/s of 20 lines, fsync={fsync}, {os.cpu_count()} CPUs")
    spill, spill_load = steady(work, env, token, "spill", args)
    spill.stop()
    gk, load = steady(work, env, token, "database", args)
    ratio = load.p(0.99) / spill_load.p(0.99)
    sent = load.p(0.99, sent=True) / spill_load.p(0.99, sent=True)
    print(
        f"hot-path p99, database sink / spill sink: {ratio:.2f} from when due, {sent:.2f} "
        "from when sent (bar 1.2)",
        flush=True,
    )
    during = Load(gk.url, token, args.rate)
    drained, below, up_at = uvloop.run(outage(pg, dsn, during, args))
    gk.stop()
    print(
        f"outage of {args.outage_s:g} s under load ({during.ok} answered, {during.failed} "
        f"failed; p99 {during.p(0.99):.0f} ms from when due, {during.p(0.99, sent=True):.0f} "
        f"ms from when sent): every decision answered before the database returned "
        f"({below} rows) in the table {drained:.1f} s after it returned (bar 10 s)"
    )
    print(f"  while the backlog drained: {during.between(up_at, up_at + drained)}")
    if during.first_error:
        print(f"  first failure: {during.first_error}")
    stop, up = args.after_s / 3, args.after_s / 3 + args.outage_s
    print(f"  p99 ms by 5 s of the schedule (stopped at {stop:g}s, started at {up:g}s):")
    print(f"  {during.windows(5.0)}")
    log = (work / "gatekeeper-database.log").read_text(errors="replace").splitlines()
    notes = [ln for ln in log if "WARNING" in ln or "ERROR" in ln]
    print(f"  gatekeeper log: {len(notes)} warnings/errors; the last: {notes[-3:]}")
    answered = load.ok + during.ok
    lost = answered - uvloop.run(rows(dsn))
    print(f"lost: {lost} of {answered} answered with the database sink; {loadavg()}")

"""make bench-scale: the registry at national scale (BENCH_N, default 10,000,000 codes).

    python bench/scale.py SNAPSHOT EMPTY_SNAPSHOT [--rate 100] [--seconds 60]

The production profile as processes on a throwaway PostgreSQL + Redis (scripts/
testenv.sh), as in bench/churn.py: the record holds the bench institution and some of
its synthetic physicians (written through the admin API, ``BENCH_ADMIN_PORT``); the Redis
snapshot is the synthetic registry overlaid with the record at the record's version.

1. Snapshot bytes: the Redis value.
2. Seconds to ready from the Redis snapshot: a gatekeeper process (bench/serve.sh's
   server setup, ``BENCH_SCALE_PORT``) from spawn to /readyz 200.
3. RSS per code: (its RSS - an empty registry gatekeeper's RSS) / codes.
4. Propagation: a second gatekeeper, the relay, and ``--rate`` registry changes a second
   for ``--seconds`` s committed into the outbox (bench/scale_parts.py says why not
   through the admin API) -> relay -> Redis -> both followers, each gatekeeper under
   HIS traffic; latency = first /readyz showing the version - its commit
   (registry_changes.committed_at).
5. The relay's snapshot refresh: measured in this process on the same registry (a full
   dump, then the incremental one after as many patches as the run writes), and each
   refresh the relay made during the run (from its log).
6. Memory per machine: total PSS of ``ybgate serve gatekeeper --workers 2`` (pre-fork,
   one registry shared copy-on-write: app/gatekeeper/server/prefork.py) against one plain
   gatekeeper process, both from the snapshot file and after 3 s of HIS traffic each
   (``--only-pss``: this step alone, without PostgreSQL and Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, os.environ.get("SHARED", str(REPO.parent / "shared")) + "/bench")

import httpx  # noqa: E402

from app.cli import PROTOCOLS  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402
from app.registry.facts import PhysicianFact  # noqa: E402
from bench.churn import INST, world  # noqa: E402
from bench.scale_parts import observe, outbox_writer, seed_and_cost  # noqa: E402
from bench.sync_bench import Child, pct  # noqa: E402
from bench.sync_load import Load, commit_times, db_version, wait_http  # noqa: E402

GATEKEEPER = (
    *("-m", "uvicorn", "app.gatekeeper:app", "--host", "127.0.0.1", "--workers", "1"),
    *("--loop", "uvloop", "--http", PROTOCOLS[os.environ.get("BENCH_HTTP", "inline")]),
    *("--no-access-log", "--log-level", "warning", "--no-proxy-headers", "--no-server-header"),
)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Scale:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        envfile = work / "env" / "env"
        env = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (envfile.read_text().splitlines() if envfile.exists() else [])
        )
        self.pg_url = env.get("YBGATE_TEST_PG_URL", "sqlite+aiosqlite:///" + str(work / "x.db"))
        self.redis_url = env.get("YBGATE_TEST_REDIS_URL", "")
        self.token = secrets.token_urlsafe(24)
        self.children: list[Child] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
        self.env.update(
            PYTHONUNBUFFERED="1",
            YBGATE_DATABASE_URL=self.pg_url,
            YBGATE_REDIS_URL=self.redis_url,
            YBGATE_BOOTSTRAP_ADMIN_TOKEN=self.token,
            YBGATE_DECISION_LOG_DIR=str(work / "decisions"),
            YBGATE_DECISION_LOG_SINK="spill",
            # the production profile needs a secrets key (app/core/secrets.py): one per run
            YBGATE_SECRETS_KEY=base64.b64encode(os.urandom(32)).decode(),
        )

    def spawn(self, name: str, *cmd: str, **extra: str) -> Child:
        child = Child(self.work, name, list(cmd), {**self.env, **extra})
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in reversed(self.children):
            child.stop()

    async def gatekeeper(
        self, http: httpx.AsyncClient, name: str, port: int, **extra: str
    ) -> Child:
        child = self.spawn(name, *GATEKEEPER, "--port", str(port), **extra)
        await wait_http(http, f"http://127.0.0.1:{port}/readyz", within=300, every=0.02)
        return child

    async def run(self) -> None:
        a = self.args
        await asyncio.to_thread(upgrade, self.pg_url)
        self.spawn("admin", "-m", "app.cli", "serve", "admin", "--port", str(a.admin_port))
        su = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
            base = f"http://127.0.0.1:{a.admin_port}"
            await wait_http(http, f"{base}/readyz")
            await world(http, base, su, a.physicians)
            t0 = time.monotonic()
            patches = int(a.rate * a.seconds)
            version, size, codes, facts = await seed_and_cost(
                a.snapshot, self.pg_url, self.redis_url, patches
            )
            print(f"== make bench-scale: {codes:,} codes (BENCH_N), record at version {version}")
            print(
                f"snapshot_bytes={size} ({size / codes:.1f} B/code; built and stored in "
                f"{time.monotonic() - t0:.1f}s by this process)",
                flush=True,
            )

            empty = await self.gatekeeper(
                http, "gk-empty", a.port + 2, YBGATE_SNAPSHOT_FILE=str(a.empty)
            )
            rss_empty = rss(empty.proc.pid)
            empty.stop()

            t0 = time.monotonic()
            gk_a = await self.gatekeeper(http, "gatekeeper-a", a.port)
            ready = time.monotonic() - t0
            rss_a = rss(gk_a.proc.pid)
            print(
                f"ready_seconds={ready:.2f} (spawn -> /readyz 200, from the Redis snapshot; "
                "target <= 10 s)"
            )
            print(
                f"rss_bytes_per_code={(rss_a - rss_empty) / codes:.1f} (rss {rss_a >> 20} MiB, "
                f"empty registry {rss_empty >> 20} MiB; target <= 150)",
                flush=True,
            )

            relay = self.spawn("relay", "-m", "app.sync.relay")
            await self.gatekeeper(http, "gatekeeper-b", a.port + 1)
            await self.wait_relay(relay)
            await self.propagation(http, base, su, facts, [a.port, a.port + 1])
            self.relay_costs()
        self.close()
        self.children = []
        await self.pss()

    async def pss(self) -> None:
        """Total PSS of W=2 pre-forked workers (with their parent) against W=1."""
        a = self.args
        shared = os.environ.get("SHARED", str(REPO.parent / "shared"))
        payloads = self.work / "outpatient.jsonl"
        cmd = [sys.executable, str(REPO / "bench/workloads.py"), "outpatient", str(payloads)]
        env = {**os.environ, "SHARED": shared}
        await asyncio.to_thread(subprocess.run, [*cmd, "200"], check=True, env=env)
        totals = {}
        async with httpx.AsyncClient(timeout=30) as http:
            for workers in (1, 2):
                port = a.port + 3 + workers
                serve = ["-m", "app.cli", "serve", "gatekeeper", "--port", str(port)]
                child = self.spawn(
                    f"pss-w{workers}",
                    *serve,
                    *("--workers", str(workers)),
                    YBGATE_SNAPSHOT_FILE=str(a.snapshot),
                )
                await wait_http(http, f"http://127.0.0.1:{port}/readyz", within=300, every=0.05)
                wrk = ["wrk", "-t1", "-c8", "-d3s", "-s", str(REPO / "bench/rotate.lua")]
                env = {**os.environ, "PAYLOADS": str(payloads), "TOKEN": "bench-token"}
                url = f"http://127.0.0.1:{port}/v1/settlements/validate"
                await asyncio.to_thread(
                    subprocess.run, [*wrk, url], check=True, env=env, capture_output=True
                )
                pids = tree(child.proc.pid)
                totals[workers] = sum(pss(pid) for pid in pids)
                print(
                    f"pss_w{workers}={totals[workers] >> 20} MiB over {len(pids)} processes "
                    f"({', '.join(f'{pss(p) >> 20}' for p in pids)} MiB)",
                    flush=True,
                )
                child.stop()
        ratio = totals[2] / totals[1]
        print(f"pss_ratio_w2_over_w1={ratio:.2f} (target <= 1.3)", flush=True)

    async def wait_relay(self, relay: Child) -> None:
        log = self.work / "relay.log"
        for _ in range(3000):
            if log.exists() and "relay publishing after" in log.read_text():
                return
            if relay.proc.poll() is not None:
                raise SystemExit("the relay exited: see its log")
            await asyncio.sleep(0.1)
        raise SystemExit("the relay did not start")

    async def propagation(
        self,
        http: httpx.AsyncClient,
        base: str,
        su: dict[str, str],
        facts: dict[str, PhysicianFact],
        ports: list[int],
    ) -> None:
        a = self.args
        first = await db_version(self.pg_url)
        his = await http.post(f"{base}/admin/v1/institutions/{INST}/tokens", json={}, headers=su)
        his.raise_for_status()
        load = Load(http, {"Authorization": f"Bearer {his.json()['token']}"}, ["-"])
        load.body = synth_body()
        await asyncio.sleep(1.0)  # the token patch reaches both gatekeepers
        start = await db_version(self.pg_url)
        tasks = [asyncio.create_task(load.run(p)) for p in ports]
        tasks += [asyncio.create_task(observe(http, p, load.seen.setdefault(p, []))) for p in ports]
        t0 = time.monotonic()
        written = await outbox_writer(self.pg_url, facts, a.rate, a.seconds)
        took = time.monotonic() - t0
        await asyncio.sleep(2.0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        commits = await commit_times(self.pg_url, start)
        print(
            f"propagation: {written} outbox commits in {took:.0f}s ({written / took:.1f}/s; "
            f"from version {first}), two gatekeepers, {load.ok} HIS requests "
            f"({load.failed} failed) and /readyz polled every 5 ms for the versions"
        )
        every: list[float] = []
        for port in ports:
            seen = load.first_seen(port)
            lat = [(seen[v] - commits[v]) * 1000 for v in commits if v in seen]
            every += lat
            print(
                f"  gatekeeper :{port}  p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms"
                f"  max {max(lat):7.1f} ms  ({len(commits) - len(lat)} never seen)"
            )
        ok = pct(every, 99) <= 250
        print(
            f"propagation_p50_ms={pct(every, 50):.1f} propagation_p99_ms={pct(every, 99):.1f} "
            f"(target p99 <= 250 ms: {'PASS' if ok else 'FAIL'})",
            flush=True,
        )

    def relay_costs(self) -> None:
        text = (self.work / "relay.log").read_text()
        rows = re.findall(r"snapshot version (\d+) in Redis \((\d+) bytes, (.*)\)", text)
        print(f"relay snapshot refreshes: {len(rows)}")
        for version, size, detail in rows:
            print(f"  version {version}: {int(size):,} bytes, {detail}")


def pss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss for {pid}")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            kids = (task / "children").read_text().split()
            todo.extend(int(k) for k in kids)
    return out


def synth_body() -> dict[str, object]:
    sys.path.insert(0, os.environ.get("SHARED", str(REPO.parent / "shared")) + "/bench")
    import synth

    return synth.payload(20)


async def amain(args: argparse.Namespace, work: Path) -> None:
    scale = Scale(args, work)
    try:
        if args.only_pss:
            await scale.pss()
        else:
            await scale.run()
    finally:
        scale.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("snapshot", type=Path)
    p.add_argument("empty", type=Path)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--physicians", type=int, default=200)
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_SCALE_PORT", "19510")))
    p.add_argument(
        "--admin-port", type=int, default=int(os.environ.get("BENCH_ADMIN_PORT", "19501"))
    )
    p.add_argument("--only-pss", action="store_true")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up children on TERM
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-scale-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    if not args.only_pss:
        subprocess.run([testenv, "start", str(work / "env")], check=True)
    try:
        asyncio.run(amain(args, work))
    finally:
        if not args.only_pss:
            subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

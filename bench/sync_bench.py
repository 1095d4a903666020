"""make bench-sync: registry propagation through Redis, and cold start from its snapshot.

    python bench/sync_bench.py [--writes 1000] [--writers 4] [--target gatekeepers|probes]

1. Propagation: the production profile as processes on a throwaway PostgreSQL + Redis
   (scripts/testenv.sh): the admin API, the relay and two followers -- gatekeepers
   (``ybgate serve gatekeeper``, kept busy by HIS traffic from this process; a version is
   visible at the first response carrying it) or probes (``python -m app.sync.probe
   --load``: a follower with a busy hot-path loop on its event loop; visible when
   applied). ``--writes`` admin writes from ``--writers`` concurrent writers; latency is
   ``visible - registry_changes.committed_at`` (stamped just before the commit, so an
   upper bound). Target: p99 <= 250 ms.
2. Cold start: the synthetic registry of ../shared/bench/synth.py (``BENCH_N``, default
   1,000,000 physicians; var/bench/registry-N.snap, built by bench/synth_snapshot.py
   when missing) put into Redis as the relay would, then a follower (GET + decode) and a
   gatekeeper process (spawn -> /readyz 200) start from it. Target: <= 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from app.core.migrate import upgrade  # noqa: E402
from app.registry.snapshot import load_snapshot  # noqa: E402
from app.sync.redis_keys import Keys, connect  # noqa: E402
from app.sync.snapshot_store import encode_snapshot, put_snapshot  # noqa: E402
from bench.sync_load import (  # noqa: E402
    DAY,
    INST,
    Load,
    commit_times,
    db_version,
    post,
    wait_http,
    world,
    writer,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


class Child:
    """A child process (own process group), JSON-line events from stdout, log to a file."""

    def __init__(self, logdir: Path, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        with open(logdir / f"{name}.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                process_group=0,  # own group (killpg), same session: same CFS autogroup as wrk
            )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.children: list[Child] = []
        env = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (work / "env" / "env").read_text().splitlines()
        )
        self.pg_url, self.redis_url = env["YBGATE_TEST_PG_URL"], env["YBGATE_TEST_REDIS_URL"]
        self.token = secrets.token_urlsafe(24)
        # the production profile needs a secrets key (app/core/secrets.py): one per run
        self.secrets_key = base64.b64encode(os.urandom(32)).decode()

    def spawn(self, name: str, *args: str, redis_db: int = 0) -> Child:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
        env.update(
            PYTHONUNBUFFERED="1",
            YBGATE_DATABASE_URL=self.pg_url,
            YBGATE_REDIS_URL=self.redis_url.rsplit("/", 1)[0] + f"/{redis_db}",
            YBGATE_BOOTSTRAP_ADMIN_TOKEN=self.token,
            YBGATE_DECISION_LOG_DIR=str(self.work / "decisions"),
            YBGATE_SECRETS_KEY=self.secrets_key,
        )
        child = Child(self.work, name, list(args), env)
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in self.children:
            child.stop()

    # -- 1. propagation -------------------------------------------------------------------
    async def propagation(self) -> bool:
        a = self.args
        await asyncio.to_thread(upgrade, self.pg_url)
        admin_port = free_port()
        self.spawn("admin", "-m", "app.cli", "serve", "admin", "--port", str(admin_port))
        self.spawn("relay", "-m", "app.sync.relay")
        su = {"Authorization": f"Bearer {self.token}"}
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            base = f"http://127.0.0.1:{admin_port}"
            await wait_http(http, f"{base}/readyz")
            agreements, codes = await world(http, base, su, a.writers * 10)
            his = (await post(http, f"{base}/admin/v1/institutions/{INST}/tokens", {}, su))["token"]
            targets = await self.start_targets(http, a.target, a.followers)
            start_version = await db_version(self.pg_url)
            load = Load(http, {"Authorization": f"Bearer {his}"}, codes)
            tasks = [asyncio.create_task(load.run(port)) for port in targets for _ in range(4)]
            tasks += [asyncio.create_task(load.observe(port)) for port in targets]
            t0 = time.monotonic()
            per = a.writes // a.writers
            await asyncio.gather(
                *(
                    writer(http, base, su, agreements[w :: a.writers], per, a.pause)
                    for w in range(a.writers)
                )
            )
            took = time.monotonic() - t0
            last = await db_version(self.pg_url)
            await asyncio.sleep(1.0)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        commits = await commit_times(self.pg_url, start_version)
        seen = {p: load.first_seen(p) for p in targets} if targets else self.probe_seen()
        hot = (
            f"{load.ok} HIS requests ({load.ok / took:.0f}/s), {load.failed} failed"
            if targets
            else f"{INST}@{DAY} judged in a loop inside each probe"
        )
        print(
            f"\npropagation: {last - start_version} writes from {a.writers} writers in "
            f"{took:.1f}s, {len(seen)} {a.target}; hot path: {hot}"
        )
        every: list[float] = []
        for name, first in seen.items():
            lat = [(first[v] - commits[v]) * 1000 for v in commits if v in first]
            missing = len(commits) - len(lat)
            every += lat
            print(
                f"  {name:>16}  p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  "
                f"max {max(lat):7.1f} ms  ({len(lat)} versions, {missing} never seen)"
            )
        ok = pct(every, 99) <= 250 and load.failed == 0
        print(
            f"  {'all':>16}  p50 {pct(every, 50):7.1f} ms  p99 {pct(every, 99):7.1f} ms  "
            f"target p99 <= 250 ms: {'PASS' if ok else 'FAIL'}"
        )
        return ok

    async def start_targets(self, http: httpx.AsyncClient, target: str, n: int) -> list[int]:
        if target == "probes":
            probes = [
                self.spawn(f"probe-{i}", "-m", "app.sync.probe", "--load", f"{INST}@{DAY}")
                for i in range(n)
            ]
            deadline = time.monotonic() + 60
            while not all(any(e["event"] == "ready" for e in p.events) for p in probes):
                if time.monotonic() > deadline:
                    raise SystemExit("the probes did not start: see their logs")
                await asyncio.sleep(0.05)
            return []
        ports = [free_port() for _ in range(n)]
        for port in ports:
            self.spawn(
                f"gatekeeper-{port}", "-m", "app.cli", "serve", "gatekeeper", "--port", str(port)
            )
        for port in ports:
            await wait_http(http, f"http://127.0.0.1:{port}/readyz")
        return ports

    def probe_seen(self) -> dict[str, dict[int, float]]:
        out = {}
        for c in self.children:
            if c.name.startswith("probe"):
                out[c.name] = {e["version"]: e["t"] for e in c.events if e["event"] == "apply"}
        return out

    # -- 2. cold start ----------------------------------------------------------------------
    async def cold_start(self) -> bool:
        reg = await asyncio.to_thread(load_snapshot, self.args.snapshot)
        value = await asyncio.to_thread(encode_snapshot, reg)
        count = reg.physician_count()
        del reg
        redis = connect(self.redis_url.rsplit("/", 1)[0] + "/1", timeout=60)
        await redis.flushdb()
        await put_snapshot(redis, Keys(), int(value[6:26]), value)
        await redis.aclose()
        print(
            f"\ncold start from the Redis snapshot: {count:,} physicians, {len(value) / 1e6:.1f} MB"
        )
        probe = self.spawn("cold-probe", "-m", "app.sync.probe", redis_db=1)
        t0 = time.monotonic()
        while not any(e["event"] == "ready" for e in probe.events):
            if probe.proc.poll() is not None or time.monotonic() - t0 > 60:
                raise SystemExit("the cold-start probe failed: see its log")
            await asyncio.sleep(0.01)
        ready = next(e for e in probe.events if e["event"] == "ready")
        probe.stop()
        print(f"  follower start (GET + decode + swap)      {ready['seconds']:.2f} s")
        port = free_port()
        t0 = time.monotonic()
        self.spawn(
            "cold-gatekeeper",
            "-m",
            "app.cli",
            "serve",
            "gatekeeper",
            "--port",
            str(port),
            redis_db=1,
        )
        async with httpx.AsyncClient(timeout=5) as http:
            await wait_http(http, f"http://127.0.0.1:{port}/readyz", within=60, every=0.01)
        took = time.monotonic() - t0
        ok = took <= 3.0
        print(
            f"  gatekeeper process spawn -> /readyz 200    {took:.2f} s  "
            f"target <= 3 s: {'PASS' if ok else 'FAIL'}"
        )
        return ok


async def amain(args: argparse.Namespace, work: Path) -> int:
    bench = Bench(args, work)
    try:
        ok = True
        if not args.skip_propagation:
            ok = await bench.propagation() and ok
        if not args.skip_cold_start:
            ok = await bench.cold_start() and ok
        return 0 if ok else 1
    finally:
        bench.close()


def snapshot_file(given: str | None) -> Path:
    n = int(os.environ.get("BENCH_N", "1000000"))
    snap = Path(given or REPO / f"var/bench/registry-{n}.snap")
    if not snap.exists():
        print(f"building {snap} (bench/synth_snapshot.py) ...", flush=True)
        script = str(REPO / "bench/synth_snapshot.py")
        subprocess.run([sys.executable, script, str(snap)], check=True)
    return snap


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--writes", type=int, default=1000)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--pause", type=float, default=0.02, help="seconds between a writer's writes")
    p.add_argument("--target", choices=["gatekeepers", "probes"], default="gatekeepers")
    p.add_argument("--followers", type=int, default=2)
    p.add_argument("--snapshot", help="a registry snapshot file for the cold start")
    p.add_argument("--skip-propagation", action="store_true")
    p.add_argument("--skip-cold-start", action="store_true")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up children on TERM
    if not args.skip_cold_start:
        args.snapshot = snapshot_file(args.snapshot)
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-sync-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    subprocess.run([testenv, "start", str(work / "env")], check=True)
    try:
        status = asyncio.run(amain(args, work))
    finally:
        subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()

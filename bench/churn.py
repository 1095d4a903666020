"""Workload (c) of ``make bench``: the rotating workloads while an admin writer applies
10 registry patches per second to random physicians, on the production path.

    python bench/churn.py SNAPSHOT FLOOR_URL WORKLOAD.jsonl... [--rate 10]

The production profile as processes on a throwaway PostgreSQL + Redis (scripts/
testenv.sh): the admin API (``BENCH_ADMIN_PORT``, default 19501), the relay, and the
gatekeeper as benchmarked (bench/serve.sh's server setup, ``BENCH_CHURN_PORT``, default
19500) following Redis. The synthetic registry (SNAPSHOT) is too big to write through
the admin API, so the record holds what the writer patches (the bench institution and
its synthetic physicians, created through the admin API with their synth certificate
numbers) and the Redis snapshot holds the synthetic registry overlaid with the record's
facts at the record's version, as a relay would have written it. A writer then suspends
and resumes those physicians' agreements at ``--rate`` writes per second (admin API ->
outbox -> relay -> Redis stream -> the gatekeeper's follower) while
bench/rotcompare.sh runs each workload against the product and the floor; the writer
keeps writing through the floor's rounds too, so both share the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(SHARED / "bench"))

import httpx  # noqa: E402
import synth  # noqa: E402

from app.cli import PROTOCOLS  # noqa: E402
from app.core.db import create_engine, create_sessionmaker  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402
from app.registry.snapshot import load_snapshot  # noqa: E402
from app.registry.source import load_snapshot as load_record  # noqa: E402
from app.sync.redis_keys import Keys, connect  # noqa: E402
from app.sync.snapshot_store import encode_snapshot, put_snapshot  # noqa: E402
from bench.sync_bench import Child  # noqa: E402
from bench.sync_load import RESUME, SUSPEND, db_version, post, wait_http  # noqa: E402

REGION = "330100"
INST = synth.institution(synth.BENCH_INSTITUTION)


async def world(http: httpx.AsyncClient, base: str, su: dict[str, str], n: int) -> list[str]:
    """The bench institution and ``n`` of its synthetic physicians with an agreement
    there; their agreement ids."""
    await post(
        http,
        f"{base}/admin/v1/regions",
        {"code": REGION, "name": "杭州市", "policy": "zhejiang-2014"},
        su,
    )
    inst = {
        "code": INST,
        "name": "基准医院",
        "region": REGION,
        "agreement_starts_on": "2020-01-01",
        "agreement_ends_on": "2030-12-31",
    }
    await post(http, f"{base}/admin/v1/institutions", inst, su)
    gate = asyncio.Semaphore(8)

    async def one(k: int) -> str:
        i = synth.BENCH_INSTITUTION + synth.INSTITUTIONS * k
        async with gate:
            body = {"certificate_no": synth.certificate_no(i), "name": f"医师{k}"}
            doc = await post(http, f"{base}/admin/v1/physicians", body, su)
            ag = {"physician_code": doc["code"], "institution_code": INST}
            ag["starts_on"] = "2024-01-01"
            return str((await post(http, f"{base}/admin/v1/agreements", ag, su))["id"])

    return list(await asyncio.gather(*(one(k) for k in range(n))))


async def seed_redis(snapshot: Path, pg_url: str, redis_url: str) -> tuple[int, int, int]:
    """The synthetic registry overlaid with the record's facts, at the record's version,
    as the Redis snapshot; (version, snapshot bytes, physicians)."""
    reg = await asyncio.to_thread(load_snapshot, snapshot)
    engine = create_engine(pg_url)
    async with create_sessionmaker(engine)() as session:
        record = await load_record(session)
    await engine.dispose()
    reg.apply(record)
    value = await asyncio.to_thread(encode_snapshot, reg)
    redis = connect(redis_url, timeout=60)
    await put_snapshot(redis, Keys(), reg.version, value)
    await redis.aclose()
    return reg.version, len(value), reg.physician_count()


class Writer:
    def __init__(self, http: httpx.AsyncClient, base: str, su: dict[str, str], ids: list[str]):
        self.http, self.base, self.su, self.ids = http, base, su, ids
        self.suspended: set[str] = set()
        self.done = self.failed = 0
        self.rnd = random.Random(14)

    async def write(self) -> None:
        ag = self.rnd.choice(self.ids)
        resume = ag in self.suspended
        url = f"{self.base}/admin/v1/agreements/{ag}/{'resume' if resume else 'suspend'}"
        try:
            r = await self.http.post(url, json=RESUME if resume else SUSPEND, headers=self.su)
            r.raise_for_status()
            self.suspended ^= {ag}
            self.done += 1
        except httpx.HTTPError:
            self.failed += 1

    async def run(self, rate: float) -> None:
        t0, k = time.monotonic(), 0
        pending: set[asyncio.Task[None]] = set()
        while True:
            k += 1
            await asyncio.sleep(max(0.0, t0 + k / rate - time.monotonic()))
            task = asyncio.create_task(self.write())
            pending.add(task)
            task.add_done_callback(pending.discard)


async def amain(args: argparse.Namespace, work: Path) -> None:
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (work / "env" / "env").read_text().splitlines()
    )
    pg_url, redis_url = env["YBGATE_TEST_PG_URL"], env["YBGATE_TEST_REDIS_URL"]
    await asyncio.to_thread(upgrade, pg_url)
    token = secrets.token_urlsafe(24)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    base_env.update(
        PYTHONUNBUFFERED="1",
        YBGATE_DATABASE_URL=pg_url,
        YBGATE_REDIS_URL=redis_url,
        YBGATE_BOOTSTRAP_ADMIN_TOKEN=token,
        YBGATE_DECISION_LOG_DIR=os.environ.get("BENCH_DECISIONS_DIR", str(work / "decisions")),
        YBGATE_DECISION_LOG_SINK="spill",
        # the production profile needs a secrets key (app/core/secrets.py): one per run
        YBGATE_SECRETS_KEY=base64.b64encode(os.urandom(32)).decode(),
    )
    children: list[Child] = []

    def spawn(name: str, *cmd: str) -> None:
        children.append(Child(work, name, list(cmd), base_env))

    admin_port, port = args.admin_port, args.port
    try:
        spawn("admin", "-m", "app.cli", "serve", "admin", "--port", str(admin_port))
        su = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=30) as http:
            base = f"http://127.0.0.1:{admin_port}"
            await wait_http(http, f"{base}/readyz")
            n = min(args.physicians, synth.N // synth.INSTITUTIONS)
            ids = await world(http, base, su, n)
            version, _, _ = await seed_redis(args.snapshot, pg_url, redis_url)
            assert version == await db_version(pg_url)
            spawn("relay", "-m", "app.sync.relay")
            spawn(
                "gatekeeper",
                *("-m", "uvicorn", "app.gatekeeper:app", "--host", "127.0.0.1"),
                *("--port", str(port), "--workers", "1", "--loop", "uvloop"),
                *("--http", PROTOCOLS[os.environ.get("BENCH_HTTP", "inline")]),
                *("--no-access-log", "--log-level", "warning"),
                *("--no-proxy-headers", "--no-server-header"),
            )
            await wait_http(http, f"http://127.0.0.1:{port}/readyz", within=120)
            print(
                f"churn: {n} synthetic physicians in the record at version {version}; "
                f"writer at {args.rate:g} patches/s (admin -> outbox -> relay -> Redis -> "
                "gatekeeper follower)",
                flush=True,
            )
            writer = Writer(http, base, su, ids)
            task = asyncio.create_task(writer.run(args.rate))
            if args.hold:  # keep it all running for a look from outside
                print(f"holding {args.hold:g}s: gatekeeper :{port}, admin :{admin_port}")
                await asyncio.sleep(args.hold)
            t0 = time.monotonic()
            await asyncio.sleep(2.0)
            url = f"http://127.0.0.1:{port}"
            for workload in args.workloads:
                print(f"== (c) {Path(workload).stem} under churn", flush=True)
                await asyncio.to_thread(
                    subprocess.run,
                    [
                        *(str(REPO / "bench/rotcompare.sh"), f"{url}/v1/settlements/validate"),
                        *(args.floor, workload, "bench-token", str(args.rounds), str(args.seconds)),
                    ],
                    check=True,
                    env={**os.environ, "METRICS_URL": f"{url}/metrics"},
                )
            took = time.monotonic() - t0
            task.cancel()
            ready = (await http.get(f"{url}/readyz")).json()
            last = await db_version(pg_url)
            print(
                f"writer: {writer.done} patches in {took:.0f}s ({writer.done / took:.1f}/s), "
                f"{writer.failed} failed; gatekeeper at version {ready['registry_version']} "
                f"of {last}",
                flush=True,
            )
    finally:
        for child in reversed(children):
            child.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("snapshot", type=Path)
    p.add_argument("floor")
    p.add_argument("workloads", nargs="+")
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--hold", type=float, default=0.0, help="seconds to keep it all running")
    p.add_argument("--physicians", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_CHURN_PORT", "19500")))
    p.add_argument(
        "--admin-port", type=int, default=int(os.environ.get("BENCH_ADMIN_PORT", "19501"))
    )
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up children on TERM
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-churn-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    subprocess.run([testenv, "start", str(work / "env")], check=True)
    try:
        asyncio.run(amain(args, work))
    finally:
        subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

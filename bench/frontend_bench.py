"""前置 mode's cost: a client calling the stand-in platform directly, against the same
client calling ybgate in front of it (``ybgate serve gatekeeper`` with
``YBGATE_HSA_UPSTREAM``), at fixed rates (default 200 and 2,000 messages/s).

Each message is a 2204 of one line that passes (a physician in good standing in the demo
data), a new msgid each time, so ybgate judges it, claims its msgid, logs the decision
and forwards it. The load is open-loop: message i is due at start + i/rate, and its
latency counts from when it was due (a stalled server is not hidden by a waiting client).
Prints, per rate, p50/p99 and the throughput achieved for both, then the added p50 and
the throughput ratio against the bars (at most 1 ms p50 added, at least 0.8x direct).

    .venv/bin/python bench/frontend_bench.py [--rates 200,2000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import uvloop

PATH = "/fsi/api/rsfComIfsService/callService"
INST = "H33010200001"
CODE = "YB330102198000000000000000010"  # in good standing at INST (app/seed.py)
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bodies(n: int, tag: str) -> list[bytes]:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    out = []
    for i in range(n):
        line = {
            "feedetl_sn": "1",
            "mdtrt_id": f"MD{i}",
            "psn_no": "P1",
            "fee_ocur_time": f"{today} 09:00:00",
            "med_list_codg": "250101001",
            "det_item_fee_sumamt": 10.5,
            "cnt": 1,
            "pric": 10.5,
            "bilg_dr_codg": CODE,
        }
        msg = {
            "infno": "2204",
            "msgid": f"{tag}{i:012d}",
            "fixmedins_code": INST,
            "med_type": "11",
            "input": {"feedetail": [line]},
        }
        out.append(json.dumps(msg, ensure_ascii=False).encode())
    return out


async def drive(url: str, token: str, rate: float, msgs: list[bytes]) -> tuple[list[float], float]:
    """Latencies (s, from each message's due time) and the messages/s achieved."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30)
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes, due: float) -> None:
            nonlocal failures
            async with session.post(url, data=body, headers=headers) as r:
                doc = await r.read()
            if r.status != 200 or b'"infcode":0' not in doc:
                failures += 1
            latencies.append(time.perf_counter() - due)

        tasks = []
        start = time.perf_counter()
        for i, body in enumerate(msgs):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    if failures:
        print(f"  ! {failures} messages not answered infcode 0", file=sys.stderr)
    return latencies, len(msgs) / elapsed


def run(url: str, token: str, rate: float, seconds: float, tag: str) -> tuple[float, float, float]:
    uvloop.run(drive(url, token, rate, bodies(int(rate), tag + "W")))  # warm-up, one second
    lat, achieved = uvloop.run(drive(url, token, rate, bodies(int(rate * seconds), tag)))
    lat.sort()
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.99) - 1] * 1000, achieved


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"{url}: the server exited")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url}: not ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200,2000")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ybgate-frontend-bench."))
    up, gk = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    env.update(
        YBGATE_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'ybgate.db'}",
        YBGATE_DECISION_LOG_DIR=str(work / "decisions"),
        YBGATE_DECISION_LOG_SINK="spill",
        YBGATE_IDEMPOTENCY_DIR=str(work / "msgids"),
        YBGATE_SECRETS_KEY_FILE=str(work / "secrets.key"),
        YBGATE_HSA_UPSTREAM=f"http://127.0.0.1:{up}",
    )
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=REPO, check=True, capture_output=True)
    seeded = subprocess.run(
        [*cli, "seed", "--port", str(gk)], env=env, cwd=REPO, check=True, capture_output=True
    ).stdout.decode()
    token = re.findall(r"HIS=(\S+)", seeded)[-1]
    log = open(work / "servers.log", "wb")  # noqa: SIM115 (closed with the servers)
    standin = subprocess.Popen(
        [*cli, "standin", "--port", str(up), "--keep", "0", "--quiet"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=log,
    )
    server = subprocess.Popen(
        [*cli, "serve", "gatekeeper", "--port", str(gk)], env=env, cwd=REPO, stdout=log, stderr=log
    )
    try:
        wait_ready(f"http://127.0.0.1:{gk}/readyz", server)
        print(f"== 前置 bench: {args.seconds:g} s per run, open-loop, 2204 of one passing line")
        print(f"{'rate':>6} {'target':8} {'p50 ms':>8} {'p99 ms':>8} {'msg/s':>8}  ybgate CPU")
        direct, front = f"http://127.0.0.1:{up}{PATH}", f"http://127.0.0.1:{gk}{PATH}"
        for rate in (float(r) for r in args.rates.split(",")):
            tag = f"B{int(rate)}"
            d50, d99, dput = run(direct, token, rate, args.seconds, tag + "D")
            before = cpu_s(server.pid)
            f50, f99, fput = run(front, token, rate, args.seconds, tag + "F")
            per = (cpu_s(server.pid) - before) / (rate * (args.seconds + 1)) * 1e6
            print(f"{rate:6.0f} {'direct':8} {d50:8.3f} {d99:8.3f} {dput:8.0f}")
            print(f"{rate:6.0f} {'前置':8} {f50:8.3f} {f99:8.3f} {fput:8.0f}  {per:.0f} µs/msg")
            added, ratio = f50 - d50, fput / dput
            verdict = "meets" if added <= 1.0 and ratio >= 0.8 else "MISSES"
            print(
                f"  at {rate:.0f}/s: p50 added {added:.3f} ms (bar 1 ms), throughput "
                f"{ratio:.2f}x direct (bar 0.8x): {verdict} the bars"
            )
    finally:
        for proc in (server, standin):
            proc.terminate()
            proc.wait(10)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Which HTTP client forwards to the platform: aiohttp against httpx, measured.

Both clients post the same 2204 body to the same local server (the stand-in platform,
``ybgate standin``) over keep-alive connections, first one at a time (latency), then
64 at once (throughput), each on its own event loop (uvloop). Prints one line per client.

    .venv/bin/python bench/upstream_clients.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import uvloop

BODY = json.dumps(
    {
        "infno": "2204",
        "msgid": "BENCH-1",
        "fixmedins_code": "H33010200001",
        "input": {
            "feedetail": [{"feedetl_sn": str(i), "det_item_fee_sumamt": "12.50"} for i in range(20)]
        },
    }
).encode()
HEADERS = {"Content-Type": "application/json;charset=utf-8", "x-tif-paasid": "p"}
Post = Callable[[], Awaitable[bytes]]


async def _measure(post: Post, n: int, concurrency: int) -> tuple[float, float, float]:
    """(p50 latency ms one at a time, requests/s with ``concurrency`` at once, CPU µs of
    this process per request at once)."""
    for _ in range(200):
        await post()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await post()
        times.append(time.perf_counter() - t)
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await post()

    t, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    per = (time.process_time() - cpu) / n * 1e6
    return statistics.median(times) * 1000, n / (time.perf_counter() - t), per


async def _aiohttp(url: str, n: int, concurrency: int) -> tuple[float, float, float]:
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=30)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as s:

        async def post() -> bytes:
            async with s.post(url, data=BODY, headers=HEADERS) as r:
                return await r.read()

        return await _measure(post, n, concurrency)


async def _httpx(url: str, n: int, concurrency: int) -> tuple[float, float, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as c:

        async def post() -> bytes:
            r = await c.post(url, content=BODY, headers=HEADERS)
            return r.content

        return await _measure(post, n, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "app.cli", "standin", "--port", str(args.port), "--quiet"]
    server = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{args.port}/fsi/api/rsfComIfsService/callService"
    try:
        time.sleep(2.0)
        for name, run in (("aiohttp", _aiohttp), ("httpx", _httpx)):
            p50, rps, cpu = uvloop.run(run(url, args.requests, 64))
            print(
                f"{name:8s} p50 one at a time {p50:.3f} ms   64 at once {rps:,.0f} req/s,"
                f" {cpu:.0f} µs CPU per request"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

"""What a gateway signature costs a /v1/hsa request: microseconds per check.

    make bench-signature        # .venv/bin/python bench/signature_cost.py
    BENCH_REDIS_URL=redis://127.0.0.1:6379/0 make bench-signature   # else its own redis-server

Prints one line per step (median of 7 rounds, µs per request; CPU time for the steps in
this process, wall time for the Redis round trips):

- ``bearer admit`` / ``bearer hsa_caller``: the bearer-only request through the plain
  route's admit and through /v1/hsa's caller check (the four gateway-header lookups);
- ``x-tif verify``: the paasid looked up, the sealed secret opened (AES-GCM), the SHA-256
  compared; ``csb verify``: the same with the sorted text and HMAC-SHA1;
- ``x-tif + local nonce``: verify and the claim in memory (embedded default, inline);
- ``redis nonce claim``: one ``SET NX EX`` awaited at a time (a round trip: the latency a
  request adds), and with 64 claims in flight (what the Redis client and server cost per
  claim under load).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.secrets import SecretBox
from app.gatekeeper.edge.auth import admit
from app.gatekeeper.edge.gateway import Gateway, verify
from app.gatekeeper.edge.nonces import Claim, LocalNonces, RedisNonces
from app.gatekeeper.host.runtime import Runtime
from app.gatekeeper.national.signed import hsa_caller
from app.registry.compact import Registry
from app.registry.facts import GatewayCredentialFact, empty_patch

N = int(os.environ.get("BENCH_SIG_N", "20000"))  # calls per round
ROUNDS = int(os.environ.get("BENCH_SIG_ROUNDS", "7"))
BOX = SecretBox(os.urandom(32))
SECRET = "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv"


def registry() -> Registry:
    patch = empty_patch(1)
    patch["his_tokens"] = {hashlib.sha256(b"his-token").hexdigest(): "H1"}
    patch["gateway_credentials"] = {
        key: GatewayCredentialFact(
            institution="H1", scheme=scheme, secret=BOX.seal(SECRET, key), valid_until=None
        )
        for key, scheme in (("hptfyj", "x-tif"), ("csbak", "csb"))
    }
    return Registry.from_patch(patch)


def per_call_us(fn: Callable[[int], object], n: int = N) -> float:
    """CPU time per call (the process's own: stable on a machine other jobs share)."""
    rounds = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        for i in range(n):
            fn(i)
        rounds.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(rounds)


def raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


def xtif_headers(now: float) -> dict[str, str]:
    """As the platform's clients sign (docs/his-gateway.md)."""
    ts, nonce = str(int(now)), format(int(now * 1000), "x") + "-3fa2c1"
    sig = hashlib.sha256((ts + SECRET + nonce + ts).encode()).hexdigest()
    return {
        "x-tif-paasId": "hptfyj",
        "x-tif-timestamp": ts,
        "x-tif-nonce": nonce,
        "x-tif-signature": sig,
    }


def csb_headers(now: float) -> dict[str, str]:
    """As aliyun/csb-sdk SignUtil + SpasSigner sign (docs/his-gateway.md)."""
    headers = {
        "_api_name": "hsa2204",
        "_api_version": "1.0",
        "_api_timestamp": str(int(now * 1000)),
        "_api_access_key": "csbak",
    }
    text = "&".join(f"{k}={v}" for k, v in sorted(headers.items()))
    mac = hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()
    return {**headers, "_api_signature": base64.b64encode(mac).decode()}


def local_steps(reg: Registry) -> None:
    log = SimpleNamespace(sink="spill")  # Runtime reads only this of the decision log
    rt = Runtime(1000, 1 << 20, 300.0, log, None, None, visits=None, lines=None, withdrawals=None)  # type: ignore[arg-type]
    rt.gateway = Gateway(BOX, LocalNonces(1 << 30))
    bearer = [(b"authorization", b"Bearer his-token"), (b"content-length", b"900")]
    now = time.time()
    xtif = raw(xtif_headers(now))
    csb = raw(csb_headers(now))
    xh, ch = dict(xtif), dict(csb)
    where = ("/v1/hsa", b"")
    steps: list[tuple[str, Callable[[int], object]]] = [
        ("bearer admit", lambda i: admit(reg, bearer, rt.max_body)),
        ("bearer hsa_caller", lambda i: hsa_caller(rt, reg, bearer, "/v1/hsa", b"")),
        ("x-tif verify", lambda i: verify(reg, xh, xtif, where, now, BOX, bearer=False)),
        ("csb verify", lambda i: verify(reg, ch, csb, where, now, BOX, bearer=False)),
    ]
    for name, fn in steps:
        print(f"{name:<28} {per_call_us(fn):8.2f} µs")
    nonces = LocalNonces(1 << 30)

    def with_local(i: int) -> None:
        signed = verify(reg, xh, xtif, where, now, BOX, bearer=False)
        assert signed is not None
        nonces.claim_now([Claim("x-tif-nonce", f"hptfyj:{i}:{time.perf_counter_ns()}")])

    print(f"{'x-tif + local nonce':<28} {per_call_us(with_local):8.2f} µs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def redis_steps(url: str) -> None:
    store = RedisNonces(url)
    await store.redis.ping()
    run = time.time_ns()

    async def sequential(n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            await store.claim([Claim("x-tif-nonce", f"bench:{run}:s:{t0}:{i}")])
        return (time.perf_counter() - t0) / n * 1e6

    async def in_flight(n: int, width: int = 64) -> float:
        t0 = time.perf_counter()

        async def worker(w: int) -> None:
            for i in range(w, n, width):
                await store.claim([Claim("x-tif-nonce", f"bench:{run}:c:{t0}:{i}")])

        await asyncio.gather(*(worker(w) for w in range(width)))
        return (time.perf_counter() - t0) / n * 1e6

    one = statistics.median([await sequential(max(N // 10, 1)) for _ in range(ROUNDS)])
    print(f"{'redis nonce claim (1)':<28} {one:8.2f} µs")
    many = statistics.median([await in_flight(max(N // 2, 64)) for _ in range(ROUNDS)])
    print(f"{'redis nonce claim (64)':<28} {many:8.2f} µs")
    await store.stop()


def main() -> None:
    reg = registry()
    local_steps(reg)
    url = os.environ.get("BENCH_REDIS_URL")
    proc = None
    tmp = tempfile.mkdtemp(prefix="ybgate-sigbench-")
    if not url:
        server = shutil.which("redis-server")
        if server is None:
            print("redis nonce claim: skipped (no redis-server; set BENCH_REDIS_URL)")
            return
        port = free_port()
        proc = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    try:
        asyncio.run(redis_steps(url))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""docs/his-gateway.md as written: its shell block runs against the embedded default (a
real server) and does what the text says; ``make bench-signature`` runs (no timing is
asserted: speed lives in the benchmark's own output)."""

from __future__ import annotations

import asyncio
import os
import subprocess

from tests.docs.shell import run_block
from tests.gateway.support import ADMIN_TOKEN, Embedded, upload
from tests.sync.support import REPO

DOC = REPO / "docs" / "his-gateway.md"


async def test_the_try_it_block_registers_signs_lists_and_revokes(embedded: Embedded) -> None:
    admin = await embedded.start()
    [(code, _)] = await admin.world(1)
    (embedded.tmp / "2204.json").write_bytes(upload(code))
    env = {
        **os.environ,
        "YB": embedded.base,
        "A": f"Authorization: Bearer {ADMIN_TOKEN}",
    }
    registered, answer, listed, revoked = await run_block(DOC, "### Try it", embedded.tmp, env)
    assert registered["paasid"] == "hptfyj" and registered["secret"] is None
    assert answer["infcode"] == 0 and answer["output"]["result"][0]["ybgate_decision"] == "accept"
    assert [p["paasid"] for p in listed["items"]] == ["hptfyj"] and "secret" not in listed["items"][
        0
    ]
    assert revoked["revoked"] == ["hptfyj"]


async def test_the_signature_benchmark_runs() -> None:
    env = {**os.environ, "BENCH_SIG_N": "50", "BENCH_SIG_ROUNDS": "1"}
    done = await asyncio.to_thread(
        subprocess.run,
        ["make", "-s", "bench-signature"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    steps = [line.rsplit(None, 2)[0] for line in done.stdout.splitlines() if line.endswith("µs")]
    assert steps == [
        "bearer admit",
        "bearer hsa_caller",
        "x-tif verify",
        "csb verify",
        "x-tif + local nonce",
        "redis nonce claim (1)",
        "redis nonce claim (64)",
    ]

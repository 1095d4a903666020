"""make bench-console: every console page's answer time at scale, on PostgreSQL.

    python bench/console_bench.py [--physicians 100000] [--decisions 1000000] [--rounds 10]

A throwaway PostgreSQL and Redis (scripts/testenv.sh), migrated and seeded with the demo
data (its working week), then grown in SQL to ``--physicians`` physicians (one agreement
each, over the demo institutions), ``--decisions`` logged settlements over the last 30
days (a third with a rejected line) and one audit entry per added physician. The admin
app (``ybgate serve admin``, which serves the console) runs as its own process; a
superuser signs in and each page is fetched ``--rounds`` times after one warm-up, over
loopback (the figure is the server's answer time plus a loopback round trip). Prints
the first answer (a cold process), then, after a pause, median, p95 and max per page;
exits 1 when a page's p95 is over ``--budget`` ms (300); a first answer over it is flagged.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN = "yba_bench_console_" + secrets.token_hex(8)
INSTITUTIONS = ["H33010200001", "H33010200002", "H33010200003", "H62010000001", "H62010000002"]
GROW = """
INSERT INTO physicians (code, certificate_no, name, national_code, created_at)
SELECT 'YB9' || lpad(g::text, 26, '0'), '9' || lpad(g::text, 26, '0'), '规模医师' || g,
       CASE WHEN g % 10 = 0 THEN 'D9' || lpad(g::text, 11, '0') END, now()
FROM generate_series(1, :n) AS g;
INSERT INTO agreements (id, physician_code, institution_code, region_code, starts_on,
                        ends_on, no_renewal, created_at)
SELECT md5('a' || g)::uuid::text, 'YB9' || lpad(g::text, 26, '0'),
       (ARRAY{insts})[1 + g % 5], CASE WHEN g % 5 < 3 THEN '330100' ELSE '620100' END,
       DATE '2026-05-01', CASE WHEN g % 5 < 3 THEN NULL ELSE DATE '2028-04-30' END,
       NULL, now()
FROM generate_series(1, :n) AS g;
INSERT INTO audit_log (at, actor_token_id, actor_role, action, target_type, target_id,
                       region_code, before, after)
SELECT now() - (g % 2592000) * interval '1 second', NULL, 'superuser', 'physician.create',
       'physician', 'YB9' || lpad(g::text, 26, '0'), NULL, NULL,
       jsonb_build_object('code', 'YB9' || lpad(g::text, 26, '0'), 'name', '规模医师' || g)
FROM generate_series(1, :n) AS g;
"""
# The decision log in its compact form (app.registry.decision_codec): five line blobs
# (two lines: accepted, or the second rejected for one of four reasons), the codes they
# name by position in each row's ``physicians``.
DECISIONS = """
INSERT INTO settlement_decisions (registry_version, accepted_cents, rejected_cents,
    decision_id, outcome, institution_code, settlement_id, physicians, lines)
SELECT 1, 5000, CASE WHEN g % 3 = 0 THEN 2500 ELSE 0 END,
       CAST(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(m, 1, 3) || '-8'
         || substr(m, 4, 3) || '-' || substr(m, 7, 12) AS uuid),
       CASE WHEN g % 3 = 0 THEN 2 ELSE 0 END,
       (ARRAY{insts})[1 + g % 5], 'BENCH-' || g,
       'YB9' || lpad((1 + g % :p)::text, 26, '0') || chr(31) || 'YB1',
       (ARRAY[CAST(:b0 AS bytea), CAST(:b1 AS bytea), CAST(:b2 AS bytea), CAST(:b3 AS bytea),
              CAST(:b4 AS bytea)])[CASE WHEN g % 3 = 0 THEN 2 + g % 4 ELSE 1 END]
FROM (
  SELECT g, at, md5('d' || g) AS m,
         lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h
  FROM (SELECT g, date_trunc('milliseconds', now() - (g % 2592000) * interval '1 second')
               AS at FROM generate_series(1, :n) AS g) AS t
) AS s;
ANALYZE;
"""
REJECTED = ("NOT_AT_INSTITUTION", "CODE_MALFORMED", "AGREEMENT_SUSPENDED", "PHYSICIAN_UNREGISTERED")


def line_blobs() -> dict[str, bytes]:
    """``b0``: both lines accepted; ``b1``..``b4``: the second rejected for a reason."""
    from app.registry import decision_codec as codec

    inputs = [["C0", "2026-12-01", False], ["C1", "2026-12-01", False]]
    out = {}
    for k, reason in enumerate([None, *REJECTED]):
        second: dict[str, object] = {"line_id": "2", "decision": "accept", "reason": None}
        if reason is not None:
            second = {"line_id": "2", "decision": "reject", "reason": reason}
            second["field"] = "physician_code"
        first = {"line_id": "1", "decision": "accept", "reason": None}
        blob, codes = codec.encode_lines([first, second], inputs)
        assert codes == ["C0", "C1"]
        out[f"b{k}"] = blob
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def grow(url: str, physicians: int, decisions: int) -> None:
    import asyncio

    from sqlalchemy import text

    from app.core.db import create_engine

    insts = "[" + ",".join(f"'{c}'" for c in INSTITUTIONS) + "]"

    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            for statement in GROW.format(insts=insts).split(";"):
                if statement.strip():
                    await conn.execute(text(statement), {"n": physicians})
            for statement in DECISIONS.format(insts=insts).split(";"):
                if statement.strip():
                    params = {"n": decisions, "p": physicians, **line_blobs()}
                    await conn.execute(text(statement), params)
        await engine.dispose()

    asyncio.run(run())


def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    r = client.post("/console/login", data={"token": ADMIN, "csrf": csrf.group(1), "next": "/"})
    assert r.status_code == 303, r.text[:300]
    return client


def pages(client: httpx.Client, physicians: int) -> list[str]:
    code = "YB9" + str(physicians // 2).rjust(26, "0")
    settlement = "BENCH-" + str(physicians)
    return [
        "/console/",
        "/console/physicians?q=规模医师4242",
        "/console/physicians?q=YB900000000000000000000001",
        f"/console/physicians/{code}",
        "/console/physicians/D9" + str((physicians // 20) * 10).rjust(11, "0"),
        f"/console/physicians/{code}/violations/new",
        "/console/actions",
        "/console/objections",
        "/console/resumptions",
        "/console/institutions",
        "/console/institutions/H33010200001",
        "/console/institutions/H33010200001/gateway",
        f"/console/settlements?q={settlement}",
        "/console/imports",
        "/console/audit",
        f"/console/audit?physician={code}",
        "/console/audit?action=physician.create&since=2026-11-20&until=2026-11-30",
        "/console/tokens",
        "/console/calendar",
    ]


def measure(client: httpx.Client, paths: list[str], rounds: int, budget: float) -> int:
    worst = 0
    print(f"{'page':64} {'first':>8} {'median':>8} {'p95':>8} {'max':>8}  (ms)")
    for path in paths:
        t0 = time.perf_counter()
        r = client.get(path, follow_redirects=True)
        first = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        time.sleep(1.5)  # what the first view started in the background (工作台) settles
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = client.get(path, follow_redirects=True)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, int(p95 > budget))
        flag = "  OVER" if p95 > budget else "  (first)" if first > budget else ""
        med, top = statistics.median(times), times[-1]
        print(f"{path[:64]:64} {first:8.1f} {med:8.1f} {p95:8.1f} {top:8.1f}{flag}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--physicians", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--budget", type=float, default=300.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-console-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    subprocess.run([testenv, "start", str(work / "env")], check=True)
    server = None
    try:
        env_text = (work / "env" / "env").read_text()
        found = dict(re.findall(r"export (YBGATE_TEST_\w+)=(\S+)", env_text))
        url = found["YBGATE_TEST_PG_URL"]
        port = free_port()
        env = {
            **os.environ,
            "YBGATE_DATABASE_URL": url,
            "YBGATE_REDIS_URL": found.get("YBGATE_TEST_REDIS_URL", ""),
            "YBGATE_SECRETS_KEY": base64.b64encode(os.urandom(32)).decode(),
            "YBGATE_BOOTSTRAP_ADMIN_TOKEN": ADMIN,
            "YBGATE_DECISION_LOG_DIR": str(work / "decisions"),
        }
        cli = [sys.executable, "-m", "app.cli"]
        subprocess.run([*cli, "migrate"], cwd=REPO, env=env, check=True)
        subprocess.run([*cli, "seed"], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        grow(url, args.physicians, args.decisions)
        print(
            f"console at scale: {args.physicians} physicians, {args.decisions} decisions "
            f"(grown in {time.perf_counter() - t0:.0f} s), PostgreSQL"
        )
        log = open(work / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [*cli, "serve", "admin", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        client = sign_in(base)
        status = measure(client, pages(client, args.physicians), args.rounds, args.budget)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()

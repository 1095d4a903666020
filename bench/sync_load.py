"""HTTP helpers of bench/sync_bench.py: the admin writes, the HIS load, the record."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

INST, DAY = "H33010200001", "2026-06-15"
SUSPEND = {"starts_on": "2026-06-01", "ends_on": "2026-06-30", "reason": "bench"}
RESUME = {"effective_on": "2026-06-01"}


class Load:
    """HIS traffic: settlements of 20 lines, registry_version noted per response."""

    def __init__(self, http: httpx.AsyncClient, his: dict[str, str], codes: list[str]) -> None:
        self.http, self.his = http, his
        self.body = {
            "settlement_id": "S-bench",
            "institution_code": INST,
            "lines": [
                {
                    "line_id": str(i),
                    "physician_code": codes[i % len(codes)],
                    "service_date": DAY,
                    "amount": "12.50",
                }
                for i in range(20)
            ],
        }
        self.seen: dict[int, list[tuple[float, int]]] = {}
        self.ok = self.failed = 0

    async def run(self, port: int) -> None:
        url = f"http://127.0.0.1:{port}/v1/settlements/validate"
        log = self.seen.setdefault(port, [])
        while True:
            try:
                r = await self.http.post(url, json=self.body, headers=self.his)
                r.raise_for_status()
                log.append((time.time(), r.json()["registry_version"]))
                self.ok += 1
            except httpx.HTTPError:
                self.failed += 1

    async def observe(self, port: int) -> None:
        url = f"http://127.0.0.1:{port}/readyz"
        log = self.seen.setdefault(port, [])
        while True:
            r = await self.http.get(url)
            log.append((time.time(), r.json()["registry_version"]))

    def first_seen(self, port: int) -> dict[int, float]:
        """Version -> time of the first response carrying it or a later one."""
        first: dict[int, float] = {}
        top = -1
        for t, v in sorted(self.seen.get(port, [])):
            if v > top:
                for version in range(top + 1, v + 1):
                    first[version] = t
                top = v
        return first


async def wait_http(
    http: httpx.AsyncClient, url: str, within: float = 60, every: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if (await http.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(every)
    raise SystemExit(f"not ready in {within}s: {url}")


async def post(http: httpx.AsyncClient, url: str, body: dict[str, Any], h: dict[str, str]) -> Any:
    r = await http.post(url, json=body, headers=h)
    if r.status_code not in (200, 201):
        raise SystemExit(f"{url}: {r.status_code} {r.text}")
    return r.json()


async def world(
    http: httpx.AsyncClient, base: str, su: dict[str, str], n: int
) -> tuple[list[str], list[str]]:
    await post(
        http,
        f"{base}/admin/v1/regions",
        {"code": "330100", "name": "杭州市", "policy": "zhejiang-2014"},
        su,
    )
    await post(
        http,
        f"{base}/admin/v1/institutions",
        {
            "code": INST,
            "name": "医院",
            "region": "330100",
            "agreement_starts_on": "2024-01-01",
            "agreement_ends_on": "2027-12-31",
        },
        su,
    )
    agreements, codes = [], []
    for i in range(n):
        doc = await post(
            http,
            f"{base}/admin/v1/physicians",
            {"certificate_no": f"3301021980{i:017d}", "name": f"医师{i}"},
            su,
        )
        ag = await post(
            http,
            f"{base}/admin/v1/agreements",
            {"physician_code": doc["code"], "institution_code": INST, "starts_on": "2024-01-01"},
            su,
        )
        codes.append(doc["code"])
        agreements.append(ag["id"])
    return agreements, codes


async def writer(
    http: httpx.AsyncClient,
    base: str,
    su: dict[str, str],
    agreements: list[str],
    writes: int,
    pause: float,
) -> None:
    suspended: set[str] = set()
    for i in range(writes):
        ag = agreements[i % len(agreements)]
        action = "resume" if ag in suspended else "suspend"
        await post(
            http,
            f"{base}/admin/v1/agreements/{ag}/{action}",
            RESUME if ag in suspended else SUSPEND,
            su,
        )
        suspended.symmetric_difference_update({ag})
        await asyncio.sleep(pause)


async def _connect(pg_url: str) -> asyncpg.Connection:
    u = make_url(pg_url)
    return await asyncpg.connect(host=u.host, port=u.port, user=u.username, database=u.database)


async def db_version(pg_url: str) -> int:
    conn = await _connect(pg_url)
    try:
        return int(await conn.fetchval("SELECT version FROM registry_state WHERE id = 1"))
    finally:
        await conn.close()


async def commit_times(pg_url: str, after: int) -> dict[int, float]:
    conn = await _connect(pg_url)
    try:
        rows = await conn.fetch(
            "SELECT version, committed_at FROM registry_changes WHERE version > $1", after
        )
    finally:
        await conn.close()
    return {int(r["version"]): r["committed_at"].timestamp() for r in rows}

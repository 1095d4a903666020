"""前置 mode in the production profile, as processes: PostgreSQL, Redis, the relay, the
admin API and two gatekeepers (``ybgate serve gatekeeper``) in front of one stand-in
platform. A visit one instance forwards is known to the other; a fee upload answered
through one is answered again by the other from Redis, not forwarded twice; the decision
log (PostgreSQL) keeps the platform's infcode."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.frontend.support import PLATFORM_PATH, other, start_standin, upload
from tests.gateway.test_cluster import Sessions, admin
from tests.sync.conftest import db, fresh_db, procs, redis_srv
from tests.sync.support import Admin, Procs, free_port, wait_until

__all__ = ["admin", "db", "fresh_db", "procs", "redis_srv"]


async def test_two_gatekeepers_share_visits_msgids_and_answers_through_redis(
    procs: Procs, admin: Admin, db: Sessions, tmp_path: Path
) -> None:
    [(code, agreement)] = await admin.world(1)
    await admin.suspend(agreement)
    token = await admin.his_token()
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=15) as http:
        standin = await start_standin(tmp_path, http)
        bases = []
        for _ in range(2):
            port = free_port()
            procs.spawn(
                f"gatekeeper-{port}",
                *("-m", "app.cli", "serve", "gatekeeper", "--port", str(port)),
                YBGATE_HSA_UPSTREAM=standin.url,
            )
            bases.append(f"http://127.0.0.1:{port}")
        one, two = bases

        async def ready(base: str) -> bool:
            try:
                r = await http.get(f"{base}/readyz")
            except httpx.TransportError:
                return False
            return r.status_code == 200

        for base in bases:

            async def up(b: str = base) -> bool:
                return await ready(b)

            await wait_until(up, 60, f"{base} ready", 0.1)
        # the token reaches both (the relay publishes it)
        for base in bases:

            async def known(b: str = base) -> bool:
                r = await http.post(f"{b}{PLATFORM_PATH}", content=other("9001"), headers=bearer)
                return r.status_code == 200

            await wait_until(known, 30, f"the token at {base}", 0.1)

        # an emergency visit forwarded through one; its line passes through the other
        info = {"mdtrt_id": "MZ-C1", "psn_no": "P1", "med_type": "13"}
        r = await http.post(
            f"{one}{PLATFORM_PATH}",
            content=other("2203", input={"mdtrtinfo": info}),
            headers=bearer,
        )
        assert r.json()["infcode"] == 0
        body = upload(code, mdtrt_id="MZ-C1")

        async def passed() -> bool:
            r = await http.post(f"{two}{PLATFORM_PATH}", content=body, headers=bearer)
            return bool(r.json()["infcode"] == 0)

        await wait_until(passed, 10, "the visit known on the other gatekeeper", 0.2)
        first = await http.post(f"{two}{PLATFORM_PATH}", content=body, headers=bearer)
        again = await http.post(f"{one}{PLATFORM_PATH}", content=body, headers=bearer)
        assert again.content == first.content and again.json()["inf_refmsgid"].startswith("SI")
        forwarded = [b for b in await standin.bodies(http) if b == body]
        assert len(forwarded) == 1
        standin.proc.stop()

    msgid = json.loads(body)["msgid"]

    async def logged() -> list[tuple[int | None, str | None]]:
        async with db() as session:
            rows = await session.execute(
                text(
                    "SELECT upstream_infcode, upstream_error FROM settlement_decisions"
                    " WHERE settlement_id = :m"
                ),
                {"m": msgid},
            )
            return [(r[0], r[1]) for r in rows]

    found = await wait_until(logged, 30, "the forwarded decision in PostgreSQL", 0.2)
    assert (0, None) in found

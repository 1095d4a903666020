"""Gateway signatures in the production profile, as processes: PostgreSQL, Redis, the
relay, the admin API and two gatekeepers (``ybgate serve gatekeeper``). A signed request
replayed on the other instance is refused (nonces in Redis); a revocation reaches both;
the record holds no secret; without ``YBGATE_SECRETS_KEY`` the servers refuse to start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.gateway.clients import csb_java, xtif_dotnet, xtif_java
from tests.gateway.support import answered, post_hsa, refused, until_accepted, until_refused, upload
from tests.sync.cluster import start_cluster
from tests.sync.support import INST, Admin, Procs, free_port

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def admin(procs: Procs) -> AsyncIterator[Admin]:
    """The admin API (a process, bootstrap token) and the relay (tests/sync/cluster.py)."""
    async with start_cluster(procs) as cluster:
        yield cluster.admin


async def gatekeepers(procs: Procs, n: int) -> list[str]:
    bases = []
    for _ in range(n):
        port = free_port()
        procs.spawn(
            f"gatekeeper-{port}", "-m", "app.cli", "serve", "gatekeeper", "--port", str(port)
        )
        bases.append(f"http://127.0.0.1:{port}")
    return bases


async def test_a_replay_on_the_other_gatekeeper_is_refused_and_revocation_reaches_both(
    procs: Procs, admin: Admin, db: Sessions
) -> None:
    [(code, _)] = await admin.world(1)
    pair = await admin.post(f"/admin/v1/institutions/{INST}/gateway-credentials", {})
    paasid, secret = pair["paasid"], pair["secret"]
    one, two = await gatekeepers(procs, 2)

    def sign() -> dict[str, str]:
        return xtif_dotnet(paasid, secret)

    async with httpx.AsyncClient(timeout=10) as http:
        for base in (one, two):
            await until_accepted(http, base, sign, code)
        headers = sign()
        answered(await post_hsa(http, one, headers, upload(code)))
        # the same signed request on the other instance: its nonce is in Redis
        assert refused(await post_hsa(http, two, headers, upload(code))) == "x-tif-nonce"
        assert refused(await post_hsa(http, one, headers, upload(code))) == "x-tif-nonce"
        answered(await post_hsa(http, two, xtif_java(paasid, secret), upload(code)))

        # a CSB pair registered on the admin API reaches the gatekeepers too
        csb = {"paasid": "js-csb-ak", "secret": "jiangsu-csb-secret-01", "scheme": "csb"}
        await admin.post(f"/admin/v1/institutions/{INST}/gateway-credentials", csb)

        def sign_csb() -> dict[str, str]:
            return csb_java(f"{two}/v1/hsa", "hsa_2204", "1.0.0", csb["paasid"], csb["secret"])

        await until_accepted(http, two, sign_csb, code)

        r = await admin.c.delete(
            f"/admin/v1/institutions/{INST}/gateway-credentials", headers=admin.su
        )
        assert r.status_code == 200 and paasid in r.json()["revoked"]
        for base in (one, two):
            await until_refused(http, base, sign, code, "x-tif-paasid")
            await until_refused(http, base, sign_csb, code, "_api_access_key")

    async with db() as session:
        sealed = (
            (await session.execute(text("SELECT secret_sealed FROM gateway_credentials")))
            .scalars()
            .all()
        )
        payloads = (
            (await session.execute(text("SELECT payload::text FROM registry_changes")))
            .scalars()
            .all()
        )
    assert len(sealed) == 2 and not any(secret in s or csb["secret"] in s for s in sealed)
    assert not any(secret in p or csb["secret"] in p for p in payloads)


@pytest.mark.parametrize("which", ["gatekeeper", "admin", "all"])
async def test_the_production_profile_refuses_to_start_without_the_secrets_key(
    procs: Procs, which: str
) -> None:
    proc = procs.spawn(
        f"nokey-{which}",
        "-m",
        "app.cli",
        "serve",
        which,
        "--port",
        str(free_port()),
        YBGATE_SECRETS_KEY="",
    )
    code = await asyncio.to_thread(proc.proc.wait, 60)
    assert code != 0
    assert "YBGATE_SECRETS_KEY is not set" in proc.log.read_text()

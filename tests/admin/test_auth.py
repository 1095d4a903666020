"""Every call is authenticated; every 403 boundary of the contract."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin import flows
from tests.conftest import make_token


async def test_no_or_bad_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = await client.get("/admin/v1/regions", headers=headers)
        assert r.status_code == 401
        assert r.json()["type"].endswith("/unauthenticated")


async def test_operator_writes_only_its_region(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await flows.region(client, su, "330100")
    await flows.region(client, su, "620100", "lanzhou-2014")
    await flows.institution(client, su, "H62010000001", region="620100")
    op_a = await make_token(sessions, "operator", region="330100")

    await flows.institution(client, op_a, "H33010200001", region="330100")
    r = await client.post(
        "/admin/v1/institutions",
        json={
            "code": "H62010000002",
            "name": "n",
            "region": "620100",
            "agreement_starts_on": "2026-01-01",
        },
        headers=op_a,
    )
    assert r.status_code == 403
    doc = await flows.physician(client, op_a)
    r = await client.post(
        "/admin/v1/agreements",
        json={
            "physician_code": doc["code"],
            "institution_code": "H62010000001",
            "starts_on": "2026-01-01",
        },
        headers=op_a,
    )
    assert r.status_code == 403
    r = await client.post(
        "/admin/v1/institutions/H62010000001/suspend",
        json={"starts_on": "2026-01-01", "reason": "x"},
        headers=op_a,
    )
    assert r.status_code == 403
    r = await client.post("/admin/v1/institutions/H62010000001/tokens", headers=op_a)
    assert r.status_code == 403
    r = await client.post(
        "/admin/v1/regions",
        json={"code": "110100", "name": "京", "policy": "nhsa-2024"},
        headers=op_a,
    )
    assert r.status_code == 403
    r = await client.post("/admin/v1/tokens", json={"role": "auditor"}, headers=op_a)
    assert r.status_code == 403
    # Reads are allowed everywhere.
    r = await client.get("/admin/v1/institutions/H62010000001", headers=op_a)
    assert r.status_code == 200


async def test_operator_may_not_cancel_a_code_held_elsewhere(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    w = await flows.world(client, su)
    await flows.region(client, su, "620100", "lanzhou-2014")
    op_b = await make_token(sessions, "operator", region="620100")
    r = await client.post(
        f"/admin/v1/physicians/{w['code']}/cancel",
        json={"effective_on": "2026-01-01", "reason": "x"},
        headers=op_b,
    )
    assert r.status_code == 403


async def test_auditor_reads_but_never_writes(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    w = await flows.world(client, su)
    auditor = await make_token(sessions, "auditor")
    assert (
        await client.get(f"/admin/v1/physicians/{w['code']}", headers=auditor)
    ).status_code == 200
    assert (await client.get("/admin/v1/audit", headers=auditor)).status_code == 200
    writes = [
        ("/admin/v1/regions", {"code": "110100", "name": "京", "policy": "nhsa-2024"}),
        ("/admin/v1/physicians", {"certificate_no": "1234567890123456", "name": "x"}),
        (
            f"/admin/v1/agreements/{w['agreement']['id']}/terminate",
            {"effective_on": "2026-01-01", "reason": "x"},
        ),
    ]
    for path, body in writes:
        r = await client.post(path, json=body, headers=auditor)
        assert r.status_code == 403, path


async def test_his_token_is_refused_by_the_admin_api(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await flows.world(client, su)
    r = await client.post("/admin/v1/institutions/H33010200001/tokens", headers=su)
    assert r.status_code == 201
    his = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.get("/admin/v1/regions", headers=his)).status_code == 403


async def test_tokens_are_stored_hashed_and_revocable(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await flows.region(client, su)
    r = await client.post(
        "/admin/v1/tokens", json={"role": "operator", "region": "330100"}, headers=su
    )
    assert r.status_code == 201
    created = r.json()
    op = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/admin/v1/regions", headers=op)).status_code == 200
    listing = (await client.get("/admin/v1/tokens", headers=su)).text
    assert created["token"] not in listing
    assert (
        await client.post(f"/admin/v1/tokens/{created['id']}/revoke", headers=su)
    ).status_code == 200
    assert (await client.get("/admin/v1/regions", headers=op)).status_code == 401
    r = await client.post("/admin/v1/tokens", json={"role": "operator"}, headers=su)
    assert r.status_code == 422

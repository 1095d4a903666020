"""The audit log: who, when, what, before/after; paged and filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin import flows
from tests.conftest import make_token


async def test_audit_filters_by_target_actor_and_time_and_pages(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    w = await flows.world(client, su)
    op = await make_token(sessions, "operator", region="330100")
    ag = w["agreement"]["id"]
    await flows.post(
        client,
        f"/admin/v1/agreements/{ag}/suspend",
        {"starts_on": "2026-01-05", "ends_on": "2026-01-31", "reason": "x"},
        op,
    )

    r = await client.get(
        "/admin/v1/audit", params={"target_type": "agreement", "target_id": ag}, headers=su
    )
    entries = r.json()["items"]
    assert [e["action"] for e in entries] == ["agreement.create", "agreement.suspend"]
    suspend = entries[1]
    assert suspend["actor_role"] == "operator" and suspend["region_code"] == "330100"
    assert suspend["after"]["starts_on"] == "2026-01-05" and suspend["before"] is None

    by_actor = (
        await client.get("/admin/v1/audit", params={"actor": suspend["actor_token_id"]}, headers=su)
    ).json()["items"]
    assert [e["id"] for e in by_actor] == [suspend["id"]]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await client.get("/admin/v1/audit", params={"since": future}, headers=su)
    assert r.json()["items"] == []

    first = (await client.get("/admin/v1/audit", params={"limit": 2}, headers=su)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    second = (
        await client.get("/admin/v1/audit", params={"limit": 2, "offset": 2}, headers=su)
    ).json()
    assert {e["id"] for e in first["items"]}.isdisjoint({e["id"] for e in second["items"]})
    r = await client.get("/admin/v1/audit", params={"limit": 0}, headers=su)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"

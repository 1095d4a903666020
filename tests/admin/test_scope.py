"""An operator acts only on the physicians linked to its region.

Linked: an agreement or a visit in the region covering the day in question. The
consequences of a legitimate act follow the policy's own scope (zhejiang-2014 三（二）:
points pool province-wide, 12 points end every agreement under the policy) and never
reach another policy's records; a superuser is unrestricted; each refusal is a 403
problem that says why.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin import flows
from tests.conftest import make_token

HZ, NB, LZ = "330100", "330200", "620100"  # two zhejiang-2014 regions, one lanzhou-2014
CERT2 = "330102198001011234000000002"


async def _world(c: httpx.AsyncClient, su: dict[str, str]) -> None:
    await flows.region(c, su, HZ)
    await flows.region(c, su, NB)
    await flows.region(c, su, LZ, "lanzhou-2014")
    await flows.institution(c, su, "H33010200001", region=HZ)
    await flows.institution(c, su, "H33020000001", region=NB)
    await flows.institution(c, su, "H62010000001", region=LZ)


def _violation(code: str, region: str, item: str = "1.1", day: str = "2026-03-02") -> Any:
    return {
        "physician_code": code,
        "region": region,
        "item": item,
        "occurred_on": day,
        "decided_on": day,
    }


def _forbidden(r: httpx.Response, slug: str) -> dict[str, Any]:
    assert r.status_code == 403, r.text
    body: dict[str, Any] = r.json()
    assert body["type"].endswith("/" + slug) and body["detail"]
    return body


async def _agreements(c: httpx.AsyncClient, su: dict[str, str], code: str) -> dict[str, Any]:
    r = await c.get("/admin/v1/agreements", params={"physician": code}, headers=su)
    assert r.status_code == 200, r.text
    return {a["region"]: a for a in r.json()["items"]}


async def test_operator_may_not_deduct_from_a_physician_of_another_region(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Region A's operator, a physician whose only agreement is in region B: 403, and the
    region-B agreement is not terminated by a 12-point deduction recorded in region A."""
    await _world(client, su)
    doc = await flows.physician(client, su)
    await flows.agreement(client, su, doc["code"], "H33020000001")
    op_hz = await make_token(sessions, "operator", region=HZ)

    r = await client.post("/admin/v1/violations", json=_violation(doc["code"], HZ), headers=op_hz)
    body = _forbidden(r, "physician-not-in-region")
    assert HZ in body["detail"] and doc["code"] in body["detail"]
    nb = (await _agreements(client, su, doc["code"]))[NB]
    assert nb["terminated_on"] is None
    # The superuser is unrestricted.
    r = await client.post("/admin/v1/violations", json=_violation(doc["code"], HZ), headers=su)
    assert r.status_code == 201, r.text


async def test_a_link_must_cover_the_day_in_question(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """An agreement that starts after the violation occurred is no link for that day; a
    visit registered in the region covering it is."""
    await _world(client, su)
    doc = await flows.physician(client, su)
    await flows.agreement(client, su, doc["code"], "H33010200001", starts="2026-06-01")
    other = await flows.physician(client, su, CERT2)
    await flows.agreement(client, su, other["code"], "H33020000001")
    await flows.post(
        client,
        "/admin/v1/visits",
        {
            "physician_code": other["code"],
            "host_institution_code": "H33010200001",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
        su,
    )
    op_hz = await make_token(sessions, "operator", region=HZ)
    early = _violation(doc["code"], HZ, "2.1", "2026-03-02")
    _forbidden(
        await client.post("/admin/v1/violations", json=early, headers=op_hz),
        "physician-not-in-region",
    )
    late = _violation(doc["code"], HZ, "2.1", "2026-07-01")
    assert (await client.post("/admin/v1/violations", json=late, headers=op_hz)).status_code == 201
    visiting = _violation(other["code"], HZ, "2.1", "2026-03-02")
    r = await client.post("/admin/v1/violations", json=visiting, headers=op_hz)
    assert r.status_code == 201, r.text


async def test_consequences_follow_the_policy_never_another_policy(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """zhejiang-2014 三（二）: 12 points end every zhejiang agreement (province-wide pool),
    never the physician's lanzhou-2014 agreement."""
    await _world(client, su)
    doc = await flows.physician(client, su)
    for inst in ("H33010200001", "H33020000001", "H62010000001"):
        await flows.agreement(client, su, doc["code"], inst, starts="2026-01-01")
    op_hz = await make_token(sessions, "operator", region=HZ)
    r = await client.post("/admin/v1/violations", json=_violation(doc["code"], HZ), headers=op_hz)
    assert r.status_code == 201, r.text
    after = await _agreements(client, su, doc["code"])
    assert after[HZ]["terminated_on"] == "2026-03-02"
    assert after[NB]["terminated_on"] == "2026-03-02"
    assert after[LZ]["terminated_on"] is None


async def test_operator_may_not_cancel_a_code_held_under_another_policy(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Cancelling a code ends its agreements: an operator may do it only when they are all
    under its region's policy; a code also held in lanzhou is the superuser's to cancel."""
    await _world(client, su)
    doc = await flows.physician(client, su)
    await flows.agreement(client, su, doc["code"], "H33010200001", starts="2026-01-01")
    await flows.agreement(client, su, doc["code"], "H62010000001", starts="2026-01-01")
    op_hz = await make_token(sessions, "operator", region=HZ)
    op_nb = await make_token(sessions, "operator", region=NB)
    cancel = {"effective_on": "2026-05-01", "reason": "注销"}
    url = f"/admin/v1/physicians/{doc['code']}/cancel"

    _forbidden(await client.post(url, json=cancel, headers=op_nb), "physician-not-in-region")
    body = _forbidden(
        await client.post(url, json=cancel, headers=op_hz), "physician-in-other-policy"
    )
    assert body["regions"] == [LZ]
    assert (await _agreements(client, su, doc["code"]))[LZ]["terminated_on"] is None
    r = await client.post(url, json=cancel, headers=su)
    assert r.status_code == 200, r.text

    # Held only under zhejiang-2014 (two regions): the operator may cancel.
    two = await flows.physician(client, su, CERT2)
    await flows.agreement(client, su, two["code"], "H33010200001")
    await flows.agreement(client, su, two["code"], "H33020000001")
    r = await client.post(f"/admin/v1/physicians/{two['code']}/cancel", json=cancel, headers=op_hz)
    assert r.status_code == 200, r.text
    assert (await _agreements(client, su, two["code"]))[NB]["terminated_on"] == "2026-05-01"

"""An admin write goes down once: each hand-off of its data to another package goes down
the layer order (tests/rules/test_architecture.py ``LAYERS``), never back up into a
caller's package (definitions: tests/admin/journey.py)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin import flows
from tests.admin.journey import journey
from tests.conftest import make_token

HZ, LZ = "330100", "620100"


def _violation(code: str, region: str, item: str, day: str) -> dict[str, str]:
    return {
        "physician_code": code,
        "region": region,
        "item": item,
        "occurred_on": day,
        "decided_on": day,
    }


async def test_a_violation_write_makes_at_most_6_stops_and_never_climbs(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """zhejiang-2014 三（二）: a 6-point deduction by the region's operator (scope checked,
    ledger locked, the deduction and its 约谈 written)."""
    w = await flows.world(client, su)
    op = await make_token(sessions, "operator", region=HZ)
    r, trip = await journey(
        client, "/admin/v1/violations", _violation(w["code"], HZ, "2.1", "2026-03-02"), op
    )
    assert r.status_code == 201, r.text
    assert [a["type"] for a in r.json()["actions"]] == ["interview"]
    assert trip.climbs == [], trip.describe()
    assert len(trip.stops) <= 6, trip.describe()
    assert trip.stops[0] == ("app.violations", "app.auth"), trip.describe()  # scope first
    assert ("app.violations", "app.points") in trip.stops


async def test_a_violation_that_ends_an_institution_goes_down_once(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """lanzhou-2014 第十七条/第二十二条: 10 points terminate the physician, and at a small
    institution its only revocation ends the institution's agreement: the cascade goes
    points -> agreements / institutions -> the unit of work, never back up."""
    await flows.region(client, su, LZ, "lanzhou-2014")
    inst = {
        "code": "H62010000009",
        "name": "小诊所",
        "region": LZ,
        "agreement_starts_on": "2025-01-01",
        "agreement_ends_on": "2026-12-31",
        "approved_physicians": 8,
    }
    await flows.post(client, "/admin/v1/institutions", inst, su)
    code = (await flows.physician(client, su))["code"]
    await flows.agreement(client, su, code, inst="H62010000009", starts="2025-01-01")
    body = _violation(code, LZ, "12.1", "2026-03-02")
    r, trip = await journey(client, "/admin/v1/violations", body, su)
    assert r.status_code == 201, r.text
    assert [a["type"] for a in r.json()["actions"]] == [
        "terminate",
        "institution_flag",
        "institution_terminate",
    ]
    assert trip.climbs == [], trip.describe()
    assert {("app.points", "app.agreements"), ("app.points", "app.institutions")} <= set(trip.stops)


async def test_other_writes_go_down_once(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Objection upheld (zhejiang-2014 五（一）), agreement suspension, visit, code
    cancellation: no hand-off up or sideways."""
    w = await flows.world(client, su)
    code = w["code"]
    op = await make_token(sessions, "operator", region=HZ)
    v = await flows.post(
        client, "/admin/v1/violations", _violation(code, HZ, "2.1", "2026-03-02"), op
    )
    await flows.institution(client, su, code="H33010200009")
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"/admin/v1/violations/{v['id']}/objection", {"filed_on": "2026-03-03", "grounds": "x"}),
        (
            f"/admin/v1/violations/{v['id']}/objection/decision",
            {"upheld": True, "decided_on": "2026-03-10"},
        ),
        (
            f"/admin/v1/agreements/{w['agreement']['id']}/suspend",
            {"starts_on": "2026-04-01", "ends_on": "2026-04-30", "reason": "审核"},
        ),
        (
            "/admin/v1/visits",
            {
                "physician_code": code,
                "host_institution_code": "H33010200009",
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
                "kind": "进修",
            },
        ),
        (f"/admin/v1/physicians/{code}/cancel", {"effective_on": "2026-06-01", "reason": "注销"}),
    ]
    for path, body in writes:
        r, trip = await journey(client, path, body, op)
        assert r.status_code in (200, 201), (path, r.text)
        assert trip.stops, path
        assert trip.climbs == [], (path, trip.describe())

"""Invalid transitions get a problem with a distinct type and change nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin import flows


async def audit_count(c: httpx.AsyncClient, h: dict[str, str]) -> int:
    r = await c.get("/admin/v1/audit", params={"limit": 500}, headers=h)
    return len(r.json()["items"])


def assert_problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"].endswith("/" + slug), body
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_resume_what_is_not_suspended(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    w = await flows.world(client, su)
    before = await audit_count(client, su)
    r = await client.post(
        f"/admin/v1/agreements/{w['agreement']['id']}/resume",
        json={"effective_on": "2026-01-01"},
        headers=su,
    )
    assert_problem(r, 409, "not-suspended")
    assert await audit_count(client, su) == before


async def test_overlapping_agreements_at_one_institution(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    r = await client.post(
        "/admin/v1/agreements",
        json={
            "physician_code": w["code"],
            "institution_code": "H33010200001",
            "starts_on": "2025-06-01",
        },
        headers=su,
    )
    assert_problem(r, 409, "agreement-overlap")
    r = await client.get("/admin/v1/agreements", params={"physician": w["code"]}, headers=su)
    assert len(r.json()["items"]) == 1


async def test_multi_site_agreements_are_allowed(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    await flows.institution(client, su, code="H33010200002")
    await flows.agreement(client, su, w["code"], inst="H33010200002")
    r = await client.get("/admin/v1/agreements", params={"physician": w["code"]}, headers=su)
    assert len(r.json()["items"]) == 2


async def test_visit_over_one_year(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    w = await flows.world(client, su)
    r = await client.post(
        "/admin/v1/visits",
        json={
            "physician_code": w["code"],
            "host_institution_code": "H33010200001",
            "starts_on": "2026-01-01",
            "ends_on": "2027-01-01",
        },
        headers=su,
    )
    body = assert_problem(r, 422, "visit-too-long")
    assert body["errors"][0]["field"] == "ends_on"
    r = await client.get("/admin/v1/visits", headers=su)
    assert r.json()["items"] == []


async def test_overlapping_suspension_and_double_termination(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    ag = w["agreement"]["id"]
    await flows.post(
        client,
        f"/admin/v1/agreements/{ag}/suspend",
        {"starts_on": "2026-01-01", "ends_on": "2026-03-31", "reason": "a"},
        su,
    )
    r = await client.post(
        f"/admin/v1/agreements/{ag}/suspend",
        json={"starts_on": "2026-03-01", "ends_on": "2026-04-30", "reason": "b"},
        headers=su,
    )
    assert_problem(r, 409, "suspension-overlap")
    await flows.post(
        client,
        f"/admin/v1/agreements/{ag}/terminate",
        {"effective_on": "2026-06-01", "reason": "x"},
        su,
    )
    r = await client.post(
        f"/admin/v1/agreements/{ag}/terminate",
        json={"effective_on": "2026-07-01", "reason": "y"},
        headers=su,
    )
    assert_problem(r, 409, "agreement-terminated")
    r = await client.post(
        f"/admin/v1/agreements/{ag}/suspend",
        json={"starts_on": "2026-08-01", "ends_on": "2026-08-31", "reason": "c"},
        headers=su,
    )
    assert_problem(r, 409, "agreement-terminated")
    r = await client.get(f"/admin/v1/agreements/{ag}", headers=su)
    assert r.json()["terminated_on"] == "2026-06-01"


async def test_duplicate_physician_and_alias(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    await flows.physician(client, su, national="D330100000123")
    r = await client.post(
        "/admin/v1/physicians", json={"certificate_no": flows.CERT, "name": "x"}, headers=su
    )
    assert_problem(r, 409, "physician-exists")
    r = await client.post(
        "/admin/v1/physicians",
        json={"certificate_no": "1234567890123456", "name": "y", "national_code": "D330100000123"},
        headers=su,
    )
    assert_problem(r, 409, "physician-exists")


async def test_validation_names_each_bad_field(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await flows.region(client, su)
    r = await client.post(
        "/admin/v1/institutions",
        json={
            "code": "h1",
            "name": "",
            "region": "330100",
            "agreement_starts_on": "2026-13-01",
            "agreement_ends_on": "2025-01-01",
        },
        headers=su,
    )
    body = assert_problem(r, 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}
    assert {"code", "name", "agreement_starts_on"} <= fields
    r = await client.post(
        "/admin/v1/institutions",
        json={
            "code": "H33010200123",
            "name": "n",
            "region": "330100",
            "agreement_starts_on": "2026-01-01",
            "agreement_ends_on": "2025-01-01",
        },
        headers=su,
    )
    body = assert_problem(r, 422, "validation-error")
    assert body["errors"] == [
        {
            "field": "agreement_ends_on",
            "message": "must be on or after agreement_starts_on (2026-01-01)",
        }
    ]
    r = await client.post(
        "/admin/v1/regions", json={"code": "620100", "name": "兰州", "policy": "nope"}, headers=su
    )
    assert assert_problem(r, 422, "validation-error")["errors"][0]["field"] == "policy"
    r = await client.post(
        "/admin/v1/regions",
        content=b"{not json",
        headers={**su, "content-type": "application/json"},
    )
    assert r.status_code == 422
    r = await client.get("/admin/v1/physicians/YB1", headers=su)
    assert_problem(r, 404, "not-found")


async def test_policies_are_listed(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    r = await client.get("/admin/v1/policies", headers=su)
    assert {p["id"] for p in r.json()} >= {"zhejiang-2014", "lanzhou-2014", "nhsa-2024"}

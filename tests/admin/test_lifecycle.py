"""The contract's lifecycle through the admin API, and "what held on date D"."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin import flows


async def standing(c: httpx.AsyncClient, h: dict[str, str], code: str, day: str) -> dict[str, Any]:
    r = await c.get(f"/admin/v1/physicians/{code}", params={"as_of": day}, headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_region_to_cancel_sequence_tells_the_truth_on_every_date(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    code, ag_id = w["code"], w["agreement"]["id"]
    assert code == "YB" + flows.CERT

    await flows.post(
        client,
        f"/admin/v1/agreements/{ag_id}/suspend",
        {"starts_on": "2026-03-01", "ends_on": "2026-05-31", "reason": "审核"},
        su,
    )
    await flows.post(
        client, f"/admin/v1/agreements/{ag_id}/resume", {"effective_on": "2026-04-15"}, su
    )
    await flows.post(
        client,
        f"/admin/v1/agreements/{ag_id}/terminate",
        {"effective_on": "2026-09-01", "reason": "协议解除"},
        su,
    )
    await flows.post(
        client,
        f"/admin/v1/physicians/{code}/cancel",
        {"effective_on": "2026-10-01", "reason": "注销"},
        su,
    )

    expected = {
        "2023-12-31": ("no_agreement", "not_started"),
        "2026-02-28": ("active", "active"),
        "2026-03-01": ("suspended", "suspended"),
        "2026-04-14": ("suspended", "suspended"),
        "2026-04-15": ("active", "active"),
        "2026-08-31": ("active", "active"),
        "2026-09-01": ("terminated", "terminated"),
        "2026-10-01": ("cancelled", "terminated"),
    }
    for day, (overall, agreement_status) in expected.items():
        doc = await standing(client, su, code, day)
        assert doc["status"] == overall, day
        assert doc["agreements"][0]["status"] == agreement_status, day

    r = await client.get("/admin/v1/audit", params={"limit": 100}, headers=su)
    actions = [e["action"] for e in r.json()["items"]]
    assert actions == [
        "region.create",
        "institution.create",
        "physician.create",
        "agreement.create",
        "agreement.suspend",
        "agreement.resume",
        "agreement.terminate",
        "physician.cancel",
    ]
    record = (await client.get(f"/admin/v1/physicians/{code}/record", headers=su)).json()
    assert [e["event"] for e in record["events"] if e["event"] != "registered"] == [
        "agreement.signed",
        "agreement.suspended",
        "agreement.resumed",
        "agreement.terminated",
        "code.cancelled",
        "ban",  # zhejiang-2014 三（二）: five years, province-wide
    ]
    (ban,) = [e for e in record["events"] if e["event"] == "ban"]
    assert (ban["on"], ban["ends_on"]) == ("2026-10-01", "2031-09-30")
    resume = r.json()["items"][5]
    assert resume["before"]["resumed_on"] is None
    assert resume["after"]["resumed_on"] == "2026-04-15"


async def test_cancel_ends_every_agreement_and_blocks_new_ones(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    await flows.institution(client, su, code="H33010200002")
    second = await flows.agreement(client, su, w["code"], inst="H33010200002", starts="2025-01-01")
    await flows.post(
        client,
        f"/admin/v1/physicians/{w['code']}/cancel",
        {"effective_on": "2026-06-01", "reason": "严重违规"},
        su,
    )
    for ag in (w["agreement"], second):
        r = await client.get(f"/admin/v1/agreements/{ag['id']}", headers=su)
        assert r.json()["terminated_on"] == "2026-06-01"
        assert r.json()["termination_kind"] == "cancellation"
    r = await client.post(
        "/admin/v1/agreements",
        json={
            "physician_code": w["code"],
            "institution_code": "H33010200002",
            "starts_on": "2026-07-01",
        },
        headers=su,
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/code-cancelled")


async def test_visit_counts_only_inside_its_dates(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    await flows.institution(client, su, code="H33010200009")
    await flows.post(
        client,
        "/admin/v1/visits",
        {
            "physician_code": w["code"],
            "host_institution_code": "H33010200009",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "kind": "进修",
        },
        su,
    )
    inside = await standing(client, su, w["code"], "2026-06-01")
    outside = await standing(client, su, w["code"], "2027-01-01")
    assert inside["visits"][0]["in_force"] is True
    assert outside["visits"][0]["in_force"] is False


async def test_institution_suspension_shows_on_its_physicians(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    await flows.post(
        client,
        "/admin/v1/institutions/H33010200001/suspend",
        {"starts_on": "2026-02-01", "ends_on": "2026-02-28", "reason": "整改"},
        su,
    )
    during = await standing(client, su, w["code"], "2026-02-10")
    after = await standing(client, su, w["code"], "2026-03-01")
    assert during["agreements"][0]["institution_status"] == "suspended"
    assert after["agreements"][0]["institution_status"] == "active"
    r = await client.get(
        "/admin/v1/institutions/H33010200001", params={"as_of": "2028-01-01"}, headers=su
    )
    assert r.json()["status"] == "ended"


async def test_every_write_reaches_the_in_process_registry_before_it_returns(
    client: httpx.AsyncClient, su: dict[str, str], store: Any
) -> None:
    """Embedded profile: a write's new version is in the registry when the response arrives."""
    start = store.version
    w = await flows.world(client, su)
    assert store.version == start + 4  # region, institution, physician, agreement
    before = store.version
    await flows.post(
        client,
        f"/admin/v1/agreements/{w['agreement']['id']}/suspend",
        {"starts_on": "2026-03-01", "ends_on": "2026-05-31", "reason": "审核"},
        su,
    )
    assert store.version == before + 1
    r = await client.get(f"/admin/v1/physicians/{w['code']}", headers=su)
    assert store.version == before + 1, "reads do not bump the version"
    assert r.status_code == 200

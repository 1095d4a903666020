"""Hostile input on the admin API: a 422 naming the field, never
a 500, never a silent acceptance."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin import flows

HUGE = "9223372036854775808"


def _fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in r.json()["errors"]}


async def test_a_json_number_is_not_a_date(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    """{"effective_on": 0} was taken as 1970-01-01 and applied."""
    w = await flows.world(client, su)
    url = f"/admin/v1/physicians/{w['code']}/cancel"
    for bad in (0, 1700000000, "0", "2026-5-1", "2026-05-01T00:00:00", "1989-12-31", "2101-01-01"):
        r = await client.post(url, json={"effective_on": bad, "reason": "x"}, headers=su)
        assert _fields(r) == {"effective_on"}, bad
    doc = (await client.get(f"/admin/v1/physicians/{w['code']}", headers=su)).json()
    assert doc["status"] == "active" and doc["cancellations"] == []
    r = await client.get(
        f"/admin/v1/physicians/{w['code']}", params={"as_of": "0001-01-01"}, headers=su
    )
    assert _fields(r) == {"as_of"}


async def test_paging_parameters_are_bounded_on_every_list(
    client: httpx.AsyncClient, su: dict[str, str], admin_app: Any
) -> None:
    doc = admin_app.openapi()
    lists = [
        path
        for path, ops in doc["paths"].items()
        if "get" in ops and "offset" in {p["name"] for p in ops["get"].get("parameters", [])}
    ]
    assert len(lists) >= 8, lists
    for path in lists:
        for params in ({"offset": HUGE}, {"offset": "-1"}, {"limit": HUGE}, {"limit": "0"}):
            r = await client.get(path, params=params, headers=su)
            assert _fields(r) == set(params), (path, params, r.text)


async def test_audit_times_need_an_offset(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    for bad in ("0", "2026-11-30T08:00:00", "2026-11-30"):
        r = await client.get("/admin/v1/audit", params={"since": bad}, headers=su)
        assert _fields(r) == {"since"}, bad
    ok = await client.get(
        "/admin/v1/audit", params={"since": "2026-11-30T08:00:00+08:00"}, headers=su
    )
    assert ok.status_code == 200


async def test_institution_codes_are_h_and_11_digits(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await flows.region(client, su)
    for bad in ("H1", "H3301020000", "H330102000011", "X33010200001", "h33010200001"):
        body = {
            "code": bad,
            "name": "医院",
            "region": "330100",
            "agreement_starts_on": "2026-01-01",
        }
        assert _fields(await client.post("/admin/v1/institutions", json=body, headers=su)) == {
            "code"
        }, bad
    await flows.institution(client, su, "H33010200001")


async def test_control_characters_in_names_are_refused(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await flows.region(client, su)
    for bad in ("张\x00医生", "张\n医生", "\x1b[31m张", "张医生\x7f"):
        body = {"certificate_no": "330102198001011234000000009", "name": bad}
        assert _fields(await client.post("/admin/v1/physicians", json=body, headers=su)) == {
            "name"
        }, repr(bad)
    r = await client.get("/admin/v1/physicians", headers=su)
    assert r.json()["items"] == []


async def test_401_says_bearer_and_405_says_allow(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/v1/regions")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("/admin/v1/regions", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"


async def test_two_authorization_headers_are_refused(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    headers = [("authorization", su["Authorization"]), ("authorization", "Bearer other")]
    r = await client.get("/admin/v1/regions", headers=headers)
    assert r.status_code == 400
    assert r.json()["type"].endswith("/duplicate-authorization")
    assert r.json()["errors"] == [{"field": "Authorization", "message": "sent more than once"}]

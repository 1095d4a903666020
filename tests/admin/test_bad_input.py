"""Bad input gets a problem naming the field, never a 500 and never a partial write."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.admin import flows

BAD_BODIES: list[Any] = [
    None,
    [],
    "text",
    {},
    {"starts_on": "2026-02-30", "ends_on": 5, "reason": None},
    {"effective_on": "yesterday", "reason": "x" * 5000},
    {"code": "1" * 500, "name": "n", "policy": ["zhejiang-2014"]},
    {
        "physician_code": "YB1",
        "region": "330100",
        "item": "99.99",
        "occurred_on": "2026-01-01",
        "decided_on": "2026-01-01",
        "points": -3,
    },
    {"approve": "maybe", "months": 1.5, "decided_on": "2026-01-01"},
    {"filed_on": "2026-01-01", "grounds": "", "extra": 1},
]


async def test_no_bad_body_gets_a_500_or_writes(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    w = await flows.world(client, su)
    ag = w["agreement"]["id"]
    paths = [
        "/admin/v1/regions",
        "/admin/v1/institutions",
        "/admin/v1/institutions/H33010200001/suspend",
        "/admin/v1/institutions/H33010200001/resume",
        "/admin/v1/institutions/H33010200001/terminate",
        "/admin/v1/institutions/H33010200001/terms",
        "/admin/v1/tokens",
        "/admin/v1/physicians",
        f"/admin/v1/physicians/{w['code']}/cancel",
        "/admin/v1/agreements",
        f"/admin/v1/agreements/{ag}/suspend",
        f"/admin/v1/agreements/{ag}/resume",
        f"/admin/v1/agreements/{ag}/terminate",
        "/admin/v1/visits",
        "/admin/v1/violations",
        "/admin/v1/violations/nope/objection",
        "/admin/v1/actions/nope/decide",
    ]
    before = len(
        (await client.get("/admin/v1/audit", params={"limit": 500}, headers=su)).json()["items"]
    )
    for path in paths:
        for body in BAD_BODIES:
            r = await client.post(path, json=body, headers=su)
            assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            problem = r.json()
            assert {"type", "title", "status", "detail"} <= problem.keys()
            if r.status_code == 422 and problem["type"].endswith("/validation-error"):
                assert all(e["field"] for e in problem["errors"]), problem
    after = len(
        (await client.get("/admin/v1/audit", params={"limit": 500}, headers=su)).json()["items"]
    )
    assert after == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/admin/v1/physicians/YB123456789012345", {"as_of": "2026-02-30"}),
        ("/admin/v1/audit", {"since": "not-a-time"}),
        ("/admin/v1/actions", {"limit": "many"}),
        ("/admin/v1/institutions/H1/standing", {"as_of": "x"}),
    ],
)
async def test_bad_query_parameters_name_the_parameter(
    client: httpx.AsyncClient, su: dict[str, str], path: str, params: dict[str, str]
) -> None:
    r = await client.get(path, params=params, headers=su)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == next(iter(params))

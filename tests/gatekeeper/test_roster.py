"""GET /v1/roster (CONTRACT.md "HIS read-side"): the token's institution's physicians with
their dated windows there, registry_version, since_version deltas, ETag / 304."""

from __future__ import annotations

from typing import Any

import httpx

from app.gatekeeper import GatekeeperApp
from app.registry.facts import empty_patch
from app.registry.roster import build_index
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import (
    ALIAS,
    DR_ALIASED,
    DR_AT_H3,
    DR_CANCELLED,
    DR_LONG,
    DR_PLAIN,
    DR_SUSPENDED,
    DR_TERMINATED,
    DR_VISIT_SUSP,
    DR_VISITING,
    his,
    town,
)
from tests.gatekeeper.world import agreement, institution, patch, physician, yb

AT_H1 = sorted(
    [
        DR_PLAIN,
        DR_SUSPENDED,
        DR_TERMINATED,
        DR_CANCELLED,
        DR_VISITING,
        DR_ALIASED,
        DR_LONG,
        DR_VISIT_SUSP,
    ]
)


async def roster(client: httpx.AsyncClient, query: str = "", **headers: str) -> httpx.Response:
    return await client.get(f"/v1/roster{query}", headers={**his(), **headers})


def by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["physician_code"]: p for p in body["physicians"]}


async def test_the_roster_lists_the_institution_s_physicians_with_their_windows(
    client: httpx.AsyncClient,
) -> None:
    r = await roster(client)
    assert r.status_code == 200
    body = r.json()
    assert (body["institution_code"], body["registry_version"], body["full"]) == ("H1", 1, True)
    assert [p["physician_code"] for p in body["physicians"]] == AT_H1
    assert DR_AT_H3 not in by_code(body)
    rows = by_code(body)
    assert rows[DR_SUSPENDED]["agreements"] == [
        {
            "institution_code": "H1",
            "starts_on": "2024-01-01",
            "ends_on": None,
            "terminated_on": None,
            "suspensions": [{"starts_on": "2026-03-01", "ends_on": "2026-03-31"}],
        }
    ]
    assert rows[DR_TERMINATED]["agreements"][0]["terminated_on"] == "2026-06-01"
    assert rows[DR_CANCELLED]["cancellations"] == [{"starts_on": "2026-02-01", "ends_on": None}]
    assert rows[DR_ALIASED]["national_code"] == ALIAS
    # A visitor: the visit here and the home agreement that decides rules 6/7.
    assert rows[DR_VISITING]["visits"] == [{"starts_on": "2026-01-01", "ends_on": "2026-06-30"}]
    assert [a["institution_code"] for a in rows[DR_VISITING]["agreements"]] == ["H2"]
    # A multi-site physician: only the agreement here.
    assert [a["institution_code"] for a in rows[DR_PLAIN]["agreements"]] == ["H1"]
    assert body["institution"] == {
        "terms": [{"starts_on": "2020-01-01", "ends_on": None}],
        "suspensions": [],
    }


async def test_since_version_gives_only_what_changed(
    client: httpx.AsyncClient, gk: GatekeeperApp
) -> None:
    newcomer = yb(500)
    gk.store.apply(
        patch(
            2,
            [
                physician(DR_PLAIN, agreement("H2", "2024-01-01")),  # leaves H1
                physician(newcomer, agreement("H1", "2026-01-01")),  # arrives
                physician(DR_AT_H3, agreement("H3", "2020-01-01")),  # elsewhere
            ],
            [],
            [],
            {},
        )
    )
    gk.store.apply(
        patch(
            3,
            [physician(DR_SUSPENDED, agreement("H1", "2024-01-01", terminated="2026-12-01"))],
            [institution("H1", "R1", suspensions=[["2026-12-24", "2026-12-25"]])],
            [],
            {},
        )
    )
    body = (await roster(client, "?since_version=1")).json()
    assert (body["full"], body["since_version"], body["registry_version"]) == (False, 1, 3)
    assert sorted(by_code(body)) == sorted([newcomer, DR_SUSPENDED])
    assert body["removed"] == [DR_PLAIN]
    assert body["institution"]["suspensions"] == [
        {"starts_on": "2026-12-24", "ends_on": "2026-12-25"}
    ]

    body = (await roster(client, "?since_version=2")).json()
    assert list(by_code(body)) == [DR_SUSPENDED] and body["removed"] == []
    body = (await roster(client, "?since_version=3")).json()
    assert body["physicians"] == [] and body["removed"] == []
    # Older than what this gatekeeper loaded: the full roster, said so.
    gk.store.replace(town(4))  # a fresh load (snapshot) at version 4
    body = (await roster(client, "?since_version=3")).json()
    assert body["full"] is True


async def test_etag_and_304(client: httpx.AsyncClient, gk: GatekeeperApp) -> None:
    first = await roster(client)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = await roster(client, **{"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    # A change elsewhere does not change this institution's roster.
    unrelated = empty_patch(2)
    unrelated["physicians"][DR_AT_H3] = physician(DR_AT_H3, agreement("H3", "2021-01-01"))
    gk.store.apply(unrelated)
    assert (await roster(client, **{"If-None-Match": etag})).status_code == 304
    # A change here does.
    gk.store.apply(patch(3, [physician(yb(600), agreement("H1", "2026-01-01"))], [], [], {}))
    changed = await roster(client, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert yb(600) in by_code(changed.json())


async def test_paging_and_bad_queries(client: httpx.AsyncClient) -> None:
    page = (await roster(client, "?limit=3")).json()
    assert [p["physician_code"] for p in page["physicians"]] == AT_H1[:3]
    assert page["next_after"] == AT_H1[2]
    rest = (await roster(client, f"?limit=1000&after={page['next_after']}")).json()
    assert [p["physician_code"] for p in rest["physicians"]] == AT_H1[3:]
    assert rest["next_after"] is None
    for query, field in (("?since_version=x", "since_version"), ("?limit=0", "limit")):
        r = await roster(client, query)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == field
    assert (await client.get("/v1/roster")).status_code == 401
    r = await client.post("/v1/roster", headers=his())
    assert r.status_code == 405


async def test_the_openapi_document_describes_both_endpoints_with_their_bounds(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["paths"]["/v1/hsa"]["post"]["responses"]["200"]
    assert {p["name"] for p in doc["paths"]["/v1/roster"]["get"]["parameters"]} == {
        "since_version",
        "after",
        "limit",
        "If-None-Match",
    }
    schemas = doc["components"]["schemas"]
    assert schemas["HsaInputDoc"]["properties"]["feedetail"]["anyOf"][0]["maxItems"] == 1000
    assert schemas["HsaRequest"]["properties"]["msgid"]["maxLength"] == 30
    assert "Roster" in schemas


def test_an_index_built_off_the_lock_catches_up_with_patches_applied_meanwhile() -> None:
    store = RegistryStore()
    store.replace(town())
    reg, log = store.registry, store.roster
    copy, seen = dict(reg.physicians), len(log.codes)
    index = build_index(copy, set(reg.alias_owner))  # the worker thread's part
    newcomer = yb(700)
    store.apply(
        patch(
            2,
            [
                physician(DR_PLAIN, agreement("H2", "2024-01-01")),
                physician(newcomer, agreement("H1", "2026-01-01")),
            ],
            [],
            [],
            {},
        )
    )
    log.install(store.registry, index, seen, copy)
    assert sorted(log.codes_at(store.registry, "H1")) == sorted(
        [c for c in AT_H1 if c != DR_PLAIN] + [newcomer]
    )
    assert DR_PLAIN in log.codes_at(store.registry, "H2")
    assert ALIAS not in log.codes_at(store.registry, "H1")

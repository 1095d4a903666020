"""Small builders for admin-API tests: each call goes through the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

CERT = "330102198001011234000000001"


async def post(c: httpx.AsyncClient, path: str, body: dict[str, Any], h: dict[str, str]) -> Any:
    r = await c.post(path, json=body, headers=h)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


async def region(
    c: httpx.AsyncClient, h: dict[str, str], code: str = "330100", policy: str = "zhejiang-2014"
) -> Any:
    return await post(
        c, "/admin/v1/regions", {"code": code, "name": f"R{code}", "policy": policy}, h
    )


async def institution(
    c: httpx.AsyncClient,
    h: dict[str, str],
    code: str = "H33010200001",
    region: str = "330100",
    starts: str = "2024-01-01",
    ends: str | None = "2027-12-31",
) -> Any:
    body = {
        "code": code,
        "name": f"医院{code}",
        "region": region,
        "agreement_starts_on": starts,
        "agreement_ends_on": ends,
    }
    return await post(c, "/admin/v1/institutions", body, h)


async def physician(
    c: httpx.AsyncClient, h: dict[str, str], cert: str = CERT, national: str | None = None
) -> Any:
    body: dict[str, Any] = {"certificate_no": cert, "name": "张医生"}
    if national:
        body["national_code"] = national
    return await post(c, "/admin/v1/physicians", body, h)


async def agreement(
    c: httpx.AsyncClient,
    h: dict[str, str],
    code: str,
    inst: str = "H33010200001",
    starts: str = "2024-01-01",
    ends: str | None = None,
) -> Any:
    body = {"physician_code": code, "institution_code": inst, "starts_on": starts, "ends_on": ends}
    return await post(c, "/admin/v1/agreements", body, h)


async def world(c: httpx.AsyncClient, h: dict[str, str]) -> dict[str, Any]:
    """One zhejiang region with one institution and one physician under agreement."""
    await region(c, h)
    await institution(c, h)
    doc = await physician(c, h)
    ag = await agreement(c, h, doc["code"])
    return {"code": doc["code"], "agreement": ag}

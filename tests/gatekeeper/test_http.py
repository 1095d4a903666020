"""Edge validation (401/403/413/422 as problem+json naming the field), the small routes,
metrics and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.gatekeeper import GatekeeperApp
from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, his, line, settlement
from tests.gatekeeper.world import digest

URL = "/v1/settlements/validate"
PROBLEM = "application/problem+json"


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "tok-h1"},
        {"Authorization": "Basic dG9rLWgxOg=="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer " + "x" * 10_000},
    ],
)
async def test_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.post(URL, json=settlement("H1", line("1", DR_PLAIN)), headers=headers)
    problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_token_is_refused(client: httpx.AsyncClient, gk: GatekeeperApp) -> None:
    body = settlement("H1", line("1", DR_PLAIN))
    assert (await client.post(URL, json=body, headers=his())).status_code == 200
    gk.store.apply(
        {
            "version": 2,
            "physicians": {},
            "institutions": {},
            "regions": {},
            "his_tokens": {digest("tok-h1"): None},
        }
    )
    problem(await client.post(URL, json=body, headers=his()), 401)


async def test_403_other_institution(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=settlement("H2", line("1", DR_PLAIN)), headers=his("tok-h1"))
    problem(r, 403)
    r = await client.get(
        f"/v1/physicians/{DR_PLAIN}/eligibility", params={"institution": "H2"}, headers=his()
    )
    problem(r, 403)


def _many(n: int) -> dict[str, Any]:
    return settlement("H1", *[line(str(i), DR_PLAIN) for i in range(n)])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"institution_code": "H1", "lines": [line("1", DR_PLAIN)]}, "settlement_id"),
        ({"settlement_id": "S", "lines": [line("1", DR_PLAIN)]}, "institution_code"),
        ({"settlement_id": "S", "institution_code": "H1"}, "lines"),
        (settlement("H1", line("1", DR_PLAIN), sid=""), "settlement_id"),
        (settlement("H1", line("1", DR_PLAIN), sid="s" * 65), "settlement_id"),
        ({**settlement("H1"), "settlement_id": 7}, "settlement_id"),
        (settlement("H1"), "lines"),
        (_many(1001), "lines"),
        ({**settlement("H1"), "lines": {"1": 2}}, "lines"),
        (settlement("H1", line("1", DR_PLAIN), line("", DR_PLAIN)), "lines[1].line_id"),
        (settlement("H1", line("1", DR_PLAIN), line("x" * 65, DR_PLAIN)), "lines[1].line_id"),
        (settlement("H1", line("1", DR_PLAIN), {"line_id": 3}), "lines[1].line_id"),
        (settlement("H1", line("1", DR_PLAIN), line("1", DR_PLAIN)), "lines[1].line_id"),
        (
            settlement("H1", {"line_id": "1", "service_date": "2026-01-01"}),
            "lines[0].physician_code",
        ),
        (
            settlement("H1", {**line("1", DR_PLAIN), "physician_code": 12}),
            "lines[0].physician_code",
        ),
        (settlement("H1", {"line_id": "1", "physician_code": DR_PLAIN}), "lines[0].service_date"),
        (settlement("H1", line("1", DR_PLAIN, "2026-02-30")), "lines[0].service_date"),
        (settlement("H1", line("1", DR_PLAIN, "2026-1-05")), "lines[0].service_date"),
        (settlement("H1", line("1", DR_PLAIN, "20260105")), "lines[0].service_date"),
        (settlement("H1", {**line("1", DR_PLAIN), "emergency": "yes"}), "lines[0].emergency"),
        (settlement("H1", {**line("1", DR_PLAIN), "item_code": 5}), "lines[0].item_code"),
        (settlement("H1", line("1", DR_PLAIN, amount="1.005")), "lines[0].amount"),
        (
            settlement("H1", line("1", DR_PLAIN), line("2", DR_PLAIN, amount="-1.00")),
            "lines[1].amount",
        ),
        (settlement("H1", line("1", DR_PLAIN, amount="1e3")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount="")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount=" 1.00")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount="1,00")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount="١.٠٠")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount="NaN")), "lines[0].amount"),
        (settlement("H1", line("1", DR_PLAIN, amount="1" * 19)), "lines[0].amount"),
        (settlement("H1", {**line("1", DR_PLAIN), "amount": 12.5}), "lines[0].amount"),
    ],
)
async def test_422_names_the_field(client: httpx.AsyncClient, body: Any, field: str) -> None:
    body = problem(await client.post(URL, json=body, headers=his()), 422)
    assert field in fields(body), body


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b"null", b'{"settlement_id": "S"} trailing', b"\xff\xfe", b"{}" * 3]
)
async def test_422_for_any_junk(client: httpx.AsyncClient, raw: bytes) -> None:
    headers = {**his(), "content-type": "application/json"}
    problem(await client.post(URL, content=raw, headers=headers), 422)


async def test_every_bad_amount_is_named(client: httpx.AsyncClient) -> None:
    body = settlement(
        "H1",
        line("1", DR_PLAIN, amount="1.5"),
        line("2", DR_PLAIN, amount="x"),
        line("3", DR_PLAIN, amount="1.234"),
    )
    got = problem(await client.post(URL, json=body, headers=his()), 422)
    assert fields(got) == ["lines[1].amount", "lines[2].amount"]


async def test_malformed_physician_code_is_not_a_422(client: httpx.AsyncClient) -> None:
    body = settlement("H1", line("1", ""), line("2", "yb0001"), line("3", "YB" + "1" * 80))
    r = await client.post(URL, json=body, headers=his())
    assert r.status_code == 200
    assert {ln["reason"] for ln in r.json()["lines"]} == {"CODE_MALFORMED"}


async def test_413_by_content_length_and_by_stream(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, gk: GatekeeperApp
) -> None:
    assert gk.rt is not None
    monkeypatch.setattr(gk.rt, "max_body", 2048)
    big = json.dumps(settlement("H1", *[line(str(i), DR_PLAIN) for i in range(60)])).encode()
    assert len(big) > 2048
    problem(await client.post(URL, content=big, headers=his()), 413)

    async def stream() -> AsyncIterator[bytes]:
        for k in range(0, len(big), 512):
            yield big[k : k + 512]

    problem(await client.post(URL, content=stream(), headers=his()), 413)
    small = json.dumps(settlement("H1", line("1", DR_PLAIN))).encode()

    async def small_stream() -> AsyncIterator[bytes]:
        yield small[:10]
        yield small[10:]

    assert (await client.post(URL, content=small_stream(), headers=his())).status_code == 200


async def test_wrong_method_and_unknown_path(client: httpx.AsyncClient) -> None:
    r = await client.get(URL, headers=his())
    problem(r, 405)
    assert r.headers["allow"] == "POST"
    problem(await client.get("/v1/nope"), 404)
    problem(await client.post("/healthz"), 405)


async def test_eligibility_validation_and_default_date(client: httpx.AsyncClient) -> None:
    path = f"/v1/physicians/{DR_SUSPENDED}/eligibility"
    assert fields(problem(await client.get(path, headers=his()), 422)) == ["institution"]
    for bad in ("2026-02-30", "yesterday", "2026-W10-1"):
        r = await client.get(path, params={"institution": "H1", "date": bad}, headers=his())
        assert fields(problem(r, 422)) == ["date"]
    problem(await client.get(path, params={"institution": "H1"}), 401)
    r = await client.get(path, params={"institution": "H1"}, headers=his())
    assert r.json()["date"] == datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


async def test_health_and_readiness(
    client: httpx.AsyncClient, gk: GatekeeperApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.get("/healthz")).status_code == 200
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["registry_version"] == 1
    assert gk.rt is not None
    monkeypatch.setattr(gk.rt, "max_age", 0.0)
    problem(await client.get("/readyz"), 503)


async def test_not_ready_before_start(gk_env: Any) -> None:
    from app.gatekeeper import create_gatekeeper_app

    app = create_gatekeeper_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
        problem(await c.post(URL, json=settlement("H1", line("1", DR_PLAIN)), headers=his()), 503)
        problem(await c.get("/readyz"), 503)
        assert (await c.get("/healthz")).status_code == 200


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.post(URL, json=settlement("H1", line("1", DR_PLAIN)), headers=his())
    await client.post(
        URL,
        json=settlement("H1", line("1", DR_PLAIN), line("2", DR_SUSPENDED, "2026-03-02")),
        headers=his(),
    )
    await client.post(URL, json=settlement("H1"), headers=his())
    r = await client.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'ybgate_validate_requests_total{outcome="accept"} 1.0' in text
    assert 'ybgate_validate_requests_total{outcome="partial"} 1.0' in text
    assert 'ybgate_validate_requests_total{outcome="422"} 1.0' in text
    assert 'ybgate_validate_duration_seconds_bucket{le="+Inf",outcome="accept"} 1.0' in text
    assert 'ybgate_lines_total{decision="accept",overridden="",reason=""} 2.0' in text
    assert (
        'ybgate_lines_total{decision="reject",overridden="",reason="AGREEMENT_SUSPENDED"} 1.0'
        in text
    )
    assert "ybgate_registry_version 1.0" in text
    assert "ybgate_registry_age_seconds" in text
    assert "ybgate_decision_log_queued" in text


async def test_openapi_has_the_hot_path(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    op = doc["paths"]["/v1/settlements/validate"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SettlementRequest"
    }
    assert {"200", "401", "403", "413", "422"} <= op["responses"].keys()
    assert "SettlementLine" in doc["components"]["schemas"]
    assert "/v1/physicians/{code}/eligibility" in doc["paths"]


async def test_a_bug_is_a_problem_500_not_a_crash(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["app.gatekeeper.plain.validate"], "judge_lines", broken)
    r = await client.post(URL, json=settlement("H1", line("1", DR_PLAIN)), headers=his())
    problem(r, 500)

"""Each reason of the contract's table, the emergency override per region policy, aliases,
visiting physicians, date boundaries and the institution cascade, through HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gatekeeper.conftest import (
    ALIAS,
    DR_ALIASED,
    DR_AT_H3,
    DR_AT_H4,
    DR_CANCELLED,
    DR_LONG,
    DR_PLAIN,
    DR_SUSPENDED,
    DR_TERMINATED,
    DR_VISIT_SUSP,
    DR_VISITING,
    his,
    line,
    settlement,
)
from tests.gatekeeper.world import yb


async def decide(client: httpx.AsyncClient, inst: str, *lines: dict[str, Any]) -> dict[str, Any]:
    token = {"H1": "tok-h1", "H2": "tok-h2", "H3": "tok-h3", "H4": "tok-h4"}[inst]
    r = await client.post(
        "/v1/settlements/validate", json=settlement(inst, *lines), headers=his(token)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return dict(r.json())


async def reason_of(client: httpx.AsyncClient, inst: str, code: str, day: str) -> Any:
    body = await decide(client, inst, line("1", code, day))
    return body["lines"][0]["reason"]


@pytest.mark.parametrize(
    ("inst", "code", "day", "reason"),
    [
        ("H1", DR_PLAIN, "2026-11-20", None),
        ("H1", "YB12AB", "2026-11-20", "CODE_MALFORMED"),
        ("H1", "D33010000000X", "2026-11-20", "CODE_MALFORMED"),
        ("H1", "D330100000999", "2026-11-20", "CODE_MALFORMED"),  # well-formed, unknown alias
        ("H1", yb(999), "2026-11-20", "PHYSICIAN_UNREGISTERED"),
        ("H1", DR_CANCELLED, "2026-01-31", None),
        ("H1", DR_CANCELLED, "2026-02-01", "CODE_CANCELLED"),
        ("H1", DR_AT_H3, "2026-11-20", "NOT_AT_INSTITUTION"),
        ("H1", DR_PLAIN, "2023-12-31", "NOT_AT_INSTITUTION"),  # before the term
        ("H3", DR_AT_H3, "2026-03-31", None),
        ("H3", DR_AT_H3, "2026-04-01", "INSTITUTION_SUSPENDED"),
        ("H3", DR_AT_H3, "2026-04-30", "INSTITUTION_SUSPENDED"),
        ("H3", DR_AT_H3, "2026-05-01", None),
        ("H4", DR_AT_H4, "2026-06-30", None),
        ("H4", DR_AT_H4, "2026-07-01", "INSTITUTION_SUSPENDED"),  # its term ended
        ("H1", DR_TERMINATED, "2026-05-31", None),
        ("H1", DR_TERMINATED, "2026-06-01", "AGREEMENT_TERMINATED"),
        ("H1", DR_SUSPENDED, "2026-02-28", None),  # before the suspension
        ("H1", DR_SUSPENDED, "2026-03-01", "AGREEMENT_SUSPENDED"),
        ("H1", DR_SUSPENDED, "2026-03-31", "AGREEMENT_SUSPENDED"),
        ("H1", DR_SUSPENDED, "2026-04-01", None),  # after it
    ],
)
async def test_reason(
    client: httpx.AsyncClient, inst: str, code: str, day: str, reason: Any
) -> None:
    assert await reason_of(client, inst, code, day) == reason


async def test_code_pattern_is_the_regions(client: httpx.AsyncClient) -> None:
    # A registered 27-digit code is well-formed in R1 but malformed under R2's pattern.
    assert await reason_of(client, "H1", DR_LONG, "2026-11-20") is None
    assert await reason_of(client, "H2", DR_LONG, "2026-11-20") == "CODE_MALFORMED"
    assert await reason_of(client, "H2", DR_PLAIN, "2026-11-20") is None


async def test_alias_is_judged_as_the_physician(client: httpx.AsyncClient) -> None:
    body = await decide(
        client, "H1", line("1", ALIAS), line("2", DR_ALIASED), line("3", ALIAS, "2023-06-01")
    )
    assert [ln["reason"] for ln in body["lines"]] == [None, None, "NOT_AT_INSTITUTION"]
    # The alias is not subject to the region's YB pattern (R2 accepts 24 digits only).
    assert await reason_of(client, "H2", ALIAS, "2026-11-20") == "NOT_AT_INSTITUTION"


async def test_visiting_physician(client: httpx.AsyncClient) -> None:
    # The visit at H1 covers January to June: rule 4 is satisfied by it.
    assert await reason_of(client, "H1", DR_VISITING, "2026-01-01") is None
    assert await reason_of(client, "H1", DR_VISITING, "2026-06-30") is None
    assert await reason_of(client, "H1", DR_VISITING, "2026-07-01") == "NOT_AT_INSTITUTION"
    assert await reason_of(client, "H1", DR_VISITING, "2025-12-31") == "NOT_AT_INSTITUTION"
    # Rules 6/7 look at the physician's own agreements anywhere: suspended at home in March.
    assert await reason_of(client, "H1", DR_VISIT_SUSP, "2026-02-28") is None
    assert await reason_of(client, "H1", DR_VISIT_SUSP, "2026-03-15") == "AGREEMENT_SUSPENDED"
    assert await reason_of(client, "H1", DR_VISIT_SUSP, "2026-04-01") is None


async def test_emergency_override_where_the_policy_allows(client: httpx.AsyncClient) -> None:
    body = await decide(
        client,
        "H1",
        line("1", DR_SUSPENDED, "2026-03-10", emergency=True),
        line("2", DR_SUSPENDED, "2026-03-10"),
        line("3", DR_PLAIN, emergency=True),
    )
    assert body["lines"] == [
        {
            "line_id": "1",
            "decision": "accept",
            "reason": "EMERGENCY_OVERRIDE",
            "overridden": "AGREEMENT_SUSPENDED",
        },
        {
            "line_id": "2",
            "decision": "reject",
            "reason": "AGREEMENT_SUSPENDED",
            "field": "physician_code",
        },
        {"line_id": "3", "decision": "accept", "reason": None},
    ]


@pytest.mark.parametrize(
    ("code", "day", "escapes"),
    [
        (yb(999), "2026-11-20", True),  # PHYSICIAN_UNREGISTERED: in R2's scope
        (DR_AT_H3, "2026-11-20", True),  # NOT_AT_INSTITUTION: in scope
        (DR_LONG, "2026-11-20", False),  # CODE_MALFORMED (R2 pattern): not in scope
        ("YB12AB", "2026-11-20", False),  # CODE_MALFORMED
    ],
)
async def test_override_scope_of_a_restricted_region(
    client: httpx.AsyncClient, code: str, day: str, escapes: bool
) -> None:
    body = await decide(client, "H2", line("1", code, day, emergency=True))
    got = body["lines"][0]
    assert (got["decision"] == "accept") is escapes
    assert (got["reason"] == "EMERGENCY_OVERRIDE") is escapes


async def test_institution_cascade(client: httpx.AsyncClient) -> None:
    # H3 suspended in April: every physician's line there is INSTITUTION_SUSPENDED, even
    # one that would be rejected for a later rule, and one of a visiting physician.
    body = await decide(
        client,
        "H3",
        line("1", DR_AT_H3, "2026-04-15"),
        line("2", DR_AT_H3, "2026-04-15", emergency=True),
        line("3", DR_AT_H3, "2026-05-15"),
    )
    assert [ln["reason"] for ln in body["lines"]] == [
        "INSTITUTION_SUSPENDED",
        "EMERGENCY_OVERRIDE",
        None,
    ]
    assert body["lines"][1]["overridden"] == "INSTITUTION_SUSPENDED"


async def test_outcomes_and_amounts(client: httpx.AsyncClient) -> None:
    accept = await decide(client, "H1", line("1", DR_PLAIN, amount="12.50"), line("2", DR_PLAIN))
    assert (accept["outcome"], accept["accepted_amount"], accept["rejected_amount"]) == (
        "accept",
        "22.50",
        "0.00",
    )
    partial = await decide(
        client,
        "H1",
        line("1", DR_PLAIN, amount="12.5"),
        line("2", "YB12AB", amount="30"),
        line("3", DR_PLAIN, amount=None),
        line("4", yb(999), amount="0.05"),
    )
    assert (partial["outcome"], partial["accepted_amount"], partial["rejected_amount"]) == (
        "partial",
        "12.50",
        "30.05",
    )
    reject = await decide(client, "H1", line("1", "YB12AB", amount=None))
    assert (reject["outcome"], reject["accepted_amount"], reject["rejected_amount"]) == (
        "reject",
        "0.00",
        "0.00",
    )


async def test_lines_in_order_with_ids_and_metadata(client: httpx.AsyncClient) -> None:
    ids = ['z"9', "a\\b", "中文", "x" * 64, "\u2028"]
    body = await decide(client, "H1", *[line(i, DR_PLAIN) for i in ids])
    assert [ln["line_id"] for ln in body["lines"]] == ids
    assert body["settlement_id"] == "S-1"
    assert body["registry_version"] == 1
    first = await decide(client, "H1", line("1", DR_PLAIN))
    second = await decide(client, "H1", line("1", DR_PLAIN))
    assert first["decision_id"] < second["decision_id"]


async def test_mixed_service_dates(client: httpx.AsyncClient) -> None:
    body = await decide(
        client,
        "H1",
        line("1", DR_SUSPENDED, "2026-02-28"),
        line("2", DR_SUSPENDED, "2026-03-01"),
        line("3", DR_TERMINATED, "2026-06-01"),
        line("4", DR_SUSPENDED, "2026-04-01"),
    )
    assert [ln["reason"] for ln in body["lines"]] == [
        None,
        "AGREEMENT_SUSPENDED",
        "AGREEMENT_TERMINATED",
        None,
    ]


async def test_eligibility(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"/v1/physicians/{DR_SUSPENDED}/eligibility",
        params={"institution": "H1", "date": "2026-03-05"},
        headers=his(),
    )
    assert r.status_code == 200
    assert r.json() == {
        "physician_code": DR_SUSPENDED,
        "institution_code": "H1",
        "date": "2026-03-05",
        "eligible": False,
        "reason": "AGREEMENT_SUSPENDED",
        "registry_version": 1,
    }
    ok = await client.get(
        f"/v1/physicians/{ALIAS}/eligibility", params={"institution": "H1"}, headers=his()
    )
    assert ok.status_code == 200
    assert ok.json()["eligible"] is True
    assert ok.json()["reason"] is None

"""Every staff code on a line judged (CONTRACT.md "Related staff (相关人员) and the national
rules"; 医保发〔2024〕23号 covers every 相关人员, and the person who carried out the order
is the one whose payment qualification a suspension stops): ``performer_code`` in the plain
format, ``orders_dr_code`` in the national one; a rejected line names the failing field."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gatekeeper.conftest import ALIAS, DR_PLAIN, DR_SUSPENDED, his
from tests.gatekeeper.hsa_support import fee, message

MARCH = "2026-03-10"  # DR_SUSPENDED is suspended 2026-03-01..2026-03-31 at H1


def line(lid: str, code: str, performer: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"line_id": lid, "physician_code": code, "service_date": MARCH}
    if performer is not None:
        out["performer_code"] = performer
    return out | extra


async def validate(client: httpx.AsyncClient, *lines: dict[str, Any]) -> Any:
    body = {"settlement_id": "S-STAFF", "institution_code": "H1", "lines": list(lines)}
    r = await client.post("/v1/settlements/validate", json=body, headers=his())
    assert r.status_code == 200, r.text
    return r.json()


async def test_nhsa_2024_a_suspended_performer_rejects_the_line_naming_performer_code(
    client: httpx.AsyncClient,
) -> None:
    got = await validate(
        client,
        line("1", DR_PLAIN, DR_SUSPENDED),
        line("2", DR_SUSPENDED, DR_PLAIN),
        line("3", DR_PLAIN, ""),  # empty: absent
        line("4", DR_PLAIN, ALIAS),  # a national alias of a physician in good standing
        line("5", DR_PLAIN, "N1"),  # malformed second code
    )
    assert got["outcome"] == "partial"
    assert got["lines"] == [
        {"line_id": "1", "decision": "reject", "reason": "AGREEMENT_SUSPENDED",
         "field": "performer_code"},
        {"line_id": "2", "decision": "reject", "reason": "AGREEMENT_SUSPENDED",
         "field": "physician_code"},
        {"line_id": "3", "decision": "accept", "reason": None},
        {"line_id": "4", "decision": "accept", "reason": None},
        {"line_id": "5", "decision": "reject", "reason": "CODE_MALFORMED",
         "field": "performer_code"},
    ]  # fmt: skip


async def test_nhsa_2024_emergency_lines_escape_for_either_code(client: httpx.AsyncClient) -> None:
    got = await validate(client, line("1", DR_PLAIN, DR_SUSPENDED, emergency=True))
    assert got["lines"] == [
        {"line_id": "1", "decision": "accept", "reason": "EMERGENCY_OVERRIDE",
         "overridden": "AGREEMENT_SUSPENDED"},
    ]  # fmt: skip


async def test_nhsa_2024_orders_dr_code_is_judged_and_named_in_the_national_format(
    client: httpx.AsyncClient,
) -> None:
    suspended_performer = fee("1", DR_PLAIN, MARCH) | {"orders_dr_code": DR_SUSPENDED}
    empty = fee("2", DR_PLAIN, MARCH) | {"orders_dr_code": ""}
    null = fee("3", DR_PLAIN, MARCH) | {"orders_dr_code": None}
    body = message("2204", "H1", suspended_performer, empty, null)
    r = await client.post("/v1/hsa", json=body, headers=his())
    got = r.json()
    assert got["infcode"] == -1
    assert "feedetl_sn=1 AGREEMENT_SUSPENDED (orders_dr_code)" in got["err_msg"]
    result = got["output"]["result"]
    assert result[0]["ybgate_decision"] == "reject"
    assert result[0]["ybgate_field"] == "orders_dr_code"
    assert [x["ybgate_decision"] for x in result[1:]] == ["accept", "accept"]
    assert "ybgate_field" not in result[1]
    # Every rejected line names its field, a single-code line too.
    r = await client.post(
        "/v1/hsa", json=message("2204", "H1", fee("9", DR_SUSPENDED, MARCH), msgid="M-2"),
        headers=his(),
    )  # fmt: skip
    assert r.json()["output"]["result"][0]["ybgate_field"] == "bilg_dr_codg"

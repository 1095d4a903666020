"""POST /v1/hsa: the national platform's wrapper, emergency by med_type, aliases, exact
amounts, malformed messages named by path, auth, 5102 (CONTRACT.md "National-platform
format")."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.gatekeeper import GatekeeperApp, create_gatekeeper_app
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import (
    ALIAS,
    DR_ALIASED,
    DR_PLAIN,
    DR_SUSPENDED,
    DR_TERMINATED,
    his,
)
from tests.gatekeeper.hsa_support import fee, message, staff
from tests.gatekeeper.world import agreement, patch, physician, yb

MARCH = "2026-03-10"  # DR_SUSPENDED is suspended 2026-03-01..2026-03-31 at H1


async def hsa(client: httpx.AsyncClient, body: object, token: str = "tok-h1") -> Any:
    r = await client.post("/v1/hsa", json=body, headers=his(token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_2204_message_gets_every_line_judged_in_the_platform_wrapper(
    client: httpx.AsyncClient,
) -> None:
    body = message(
        "2204",
        "H1",
        fee("1", DR_SUSPENDED, MARCH, amount=12.50),
        fee("2", DR_PLAIN, MARCH, amount="30.00"),
    )
    got = await hsa(client, body)
    assert got["infcode"] == -1
    assert got["err_msg"] == "1 条费用明细医保医师校验未通过: feedetl_sn=1 AGREEMENT_SUSPENDED"
    assert got["warn_msg"] is None
    assert got["inf_refmsgid"] == got["output"]["ybgate"]["decision_id"]
    assert got["output"]["result"] == [
        {
            "feedetl_sn": "1",
            "det_item_fee_sumamt": "12.50",
            "ybgate_decision": "reject",
            "ybgate_reason": "AGREEMENT_SUSPENDED",
            "ybgate_overridden": None,
            "ybgate_field": "bilg_dr_codg",
        },
        {
            "feedetl_sn": "2",
            "det_item_fee_sumamt": "30.00",
            "ybgate_decision": "accept",
            "ybgate_reason": None,
            "ybgate_overridden": None,
        },
    ]
    totals = got["output"]["ybgate"]
    assert (totals["outcome"], totals["accepted_amount"], totals["rejected_amount"]) == (
        "partial",
        "30.00",
        "12.50",
    )
    assert totals["registry_version"] == 1
    for stamp in (got["refmsg_time"], got["respond_time"]):
        datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")


async def test_all_accepted_is_infcode_0(client: httpx.AsyncClient) -> None:
    got = await hsa(client, message("2204", "H1", fee("1", DR_PLAIN), fee("2", DR_PLAIN)))
    assert (got["infcode"], got["err_msg"]) == (0, None)
    assert got["output"]["ybgate"]["outcome"] == "accept"


@pytest.mark.parametrize("med_type", ["13", "24"])
async def test_2204_emergency_comes_from_the_wrapper_med_type(
    client: httpx.AsyncClient, med_type: str
) -> None:
    body = message("2204", "H1", fee("1", DR_SUSPENDED, MARCH), med_type=med_type)
    line = (await hsa(client, body))["output"]["result"][0]
    assert (line["ybgate_reason"], line["ybgate_overridden"]) == (
        "EMERGENCY_OVERRIDE",
        "AGREEMENT_SUSPENDED",
    )


async def test_2204_ignores_a_line_med_type_and_2301_ignores_the_wrapper(
    client: httpx.AsyncClient,
) -> None:
    line_says = fee("1", DR_SUSPENDED, MARCH, med_type="13")
    got = await hsa(client, message("2204", "H1", line_says, med_type="11", msgid="A"))
    assert got["output"]["result"][0]["ybgate_reason"] == "AGREEMENT_SUSPENDED"
    wrapper_says = fee("1", DR_SUSPENDED, MARCH, med_type="11")
    got = await hsa(client, message("2301", "H1", wrapper_says, med_type="13", msgid="B"))
    assert got["output"]["result"][0]["ybgate_reason"] == "AGREEMENT_SUSPENDED"


async def test_2301_emergency_per_line(client: httpx.AsyncClient) -> None:
    body = message(
        "2301",
        "H1",
        fee("1", DR_SUSPENDED, MARCH, med_type="24"),
        fee("2", DR_SUSPENDED, MARCH, med_type="21"),
        fee("3", DR_SUSPENDED, MARCH),
        med_type=None,
    )
    got = await hsa(client, body)
    reasons = [ln["ybgate_reason"] for ln in got["output"]["result"]]
    assert reasons == ["EMERGENCY_OVERRIDE", "AGREEMENT_SUSPENDED", "AGREEMENT_SUSPENDED"]
    assert got["err_msg"].startswith("2 条费用明细医保医师校验未通过: feedetl_sn=2 ")


async def test_a_national_d_alias_is_the_physician(client: httpx.AsyncClient) -> None:
    gone = "2026-12-01"
    body = message("2204", "H1", fee("1", ALIAS, gone), fee("2", DR_ALIASED, gone), msgid="A")
    got = await hsa(client, body)
    assert [ln["ybgate_decision"] for ln in got["output"]["result"]] == ["accept", "accept"]
    unknown = message("2204", "H1", fee("1", "D330100999999"), msgid="B")
    got = await hsa(client, unknown)
    assert got["output"]["result"][0]["ybgate_reason"] == "CODE_MALFORMED"


@pytest.mark.parametrize(
    ("amounts", "shown", "total"),
    [
        ([0.1, 0.2], ["0.10", "0.20"], "0.30"),
        (["0.1", "0.2"], ["0.10", "0.20"], "0.30"),
        ([12.500, "7"], ["12.50", "7.00"], "19.50"),
        (["9999999999999999.99", 0.01], ["9999999999999999.99", "0.01"], "10000000000000000.00"),
        ([None, "1.05"], [None, "1.05"], "1.05"),
    ],
)
async def test_amounts_are_read_exactly(
    client: httpx.AsyncClient, amounts: list[object], shown: list[str | None], total: str
) -> None:
    fees = [fee(str(i), DR_PLAIN, amount=a) for i, a in enumerate(amounts)]
    got = await hsa(client, message("2204", "H1", *fees))
    assert [ln["det_item_fee_sumamt"] for ln in got["output"]["result"]] == shown
    assert got["output"]["ybgate"]["accepted_amount"] == total


async def test_an_amount_given_as_a_json_number_keeps_its_digits(
    client: httpx.AsyncClient,
) -> None:
    text = (
        '{"infno":"2204","msgid":"N","fixmedins_code":"H1","input":{"feedetail":['
        '{"feedetl_sn":"1","bilg_dr_codg":"DR","fee_ocur_time":"2026-11-20 09:00:00",'
        '"det_item_fee_sumamt":1234567890123456.78},'
        '{"feedetl_sn":"2","bilg_dr_codg":"DR","fee_ocur_time":"2026-11-20 09:00:00",'
        '"det_item_fee_sumamt":1e2}]}}'.replace("DR", DR_PLAIN)
    )
    r = await client.post("/v1/hsa", content=text.encode(), headers=his())
    got = r.json()["output"]
    assert [ln["det_item_fee_sumamt"] for ln in got["result"]] == ["1234567890123456.78", "100.00"]
    assert got["ybgate"]["accepted_amount"] == "1234567890123556.78"


def _bad(mutate: Any) -> dict[str, Any]:
    body = message("2204", "H1", fee("1", DR_PLAIN), fee("2", DR_PLAIN), fee("3", DR_PLAIN))
    mutate(body)
    return body


def _fees(body: dict[str, Any]) -> list[dict[str, Any]]:
    fees: list[dict[str, Any]] = body["input"]["feedetail"]
    return fees


MALFORMED = [
    (lambda b: b.pop("msgid"), "msgid"),
    (lambda b: b.update(msgid=""), "msgid"),
    (lambda b: b.update(msgid="M" * 31), "msgid"),
    (lambda b: b.pop("fixmedins_code"), "fixmedins_code"),
    (lambda b: b.update(infno="9999"), "infno"),
    (lambda b: b.update(infno=None), "infno"),
    (lambda b: b.pop("input"), "input"),
    (lambda b: b.update(input={"feedetail": []}), "input.feedetail"),
    (lambda b: _fees(b)[2].update(fee_ocur_time="2026-11-20"), "input.feedetail[2].fee_ocur_time"),
    (
        lambda b: _fees(b)[1].update(fee_ocur_time="2026-02-30 10:00:00"),
        "input.feedetail[1].fee_ocur_time",
    ),
    (lambda b: _fees(b)[1].update(feedetl_sn=2.5), "input.feedetail[1].feedetl_sn"),
    (lambda b: _fees(b)[1].update(feedetl_sn=None), "input.feedetail[1].feedetl_sn"),
    (lambda b: _fees(b)[0].update(cnt="一"), "input.feedetail[0].cnt"),
    (lambda b: _fees(b)[2].update(pric=[1]), "input.feedetail[2].pric"),
    (lambda b: _fees(b)[1].update(exp_content="急诊"), "input.feedetail[1].exp_content"),
    (lambda b: _fees(b)[1].update(exp_content=[1]), "input.feedetail[1].exp_content"),
    (
        lambda b: _fees(b)[2].update(fee_ocur_time=f"{_today() + timedelta(days=40)} 10:00:00"),
        "input.feedetail[2].fee_ocur_time",
    ),
    (
        lambda b: _fees(b)[0].update(fee_ocur_time="1989-12-31 10:00:00"),
        "input.feedetail[0].fee_ocur_time",
    ),
    (lambda b: _fees(b)[2].update(feedetl_sn="1"), "input.feedetail[2].feedetl_sn"),
    (
        lambda b: _fees(b)[1].update(det_item_fee_sumamt=12.345),
        "input.feedetail[1].det_item_fee_sumamt",
    ),
    (
        lambda b: _fees(b)[2].update(det_item_fee_sumamt="12.345"),
        "input.feedetail[2].det_item_fee_sumamt",
    ),
    (
        lambda b: _fees(b)[2].update(det_item_fee_sumamt="-0.001"),
        "input.feedetail[2].det_item_fee_sumamt",
    ),
    (
        lambda b: _fees(b)[0].update(det_item_fee_sumamt="1e2"),
        "input.feedetail[0].det_item_fee_sumamt",
    ),
    (
        lambda b: _fees(b)[0].update(det_item_fee_sumamt=10**16),
        "input.feedetail[0].det_item_fee_sumamt",
    ),
    (
        lambda b: _fees(b)[1].update(det_item_fee_sumamt=True),
        "input.feedetail[1].det_item_fee_sumamt",
    ),
]


@pytest.mark.parametrize(("mutate", "path"), MALFORMED)
async def test_a_malformed_message_is_infcode_minus_1_naming_the_path(
    client: httpx.AsyncClient, gk: GatekeeperApp, mutate: Any, path: str
) -> None:
    got = await hsa(client, _bad(mutate))
    assert got["infcode"] == -1
    assert got["output"] is None and got["inf_refmsgid"] is None
    assert got["err_msg"].startswith(f"报文格式错误: {path}: "), got["err_msg"]
    assert gk.rt is not None and not gk.rt.log.queue  # nothing decided, nothing logged


async def test_invalid_json_is_malformed(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/hsa", content=b'{"infno":', headers=his())
    assert r.status_code == 200
    assert r.json()["err_msg"].startswith("报文格式错误: body: ")


async def test_auth_failures_stay_http_problems(client: httpx.AsyncClient) -> None:
    body = message("2204", "H1", fee("1", DR_PLAIN))
    r = await client.post("/v1/hsa", json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.post("/v1/hsa", json=body, headers=his("tok-h2"))
    assert r.status_code == 403
    r = await client.get("/v1/hsa", headers=his())
    assert (r.status_code, r.headers["allow"]) == (405, "POST")


async def test_the_decision_is_logged_with_the_msgid_as_settlement_id(
    gk_env: Path, store: RegistryStore
) -> None:
    app = create_gatekeeper_app(store=store)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
            body = message("2204", "H1", fee("7", DR_TERMINATED, "2026-07-01"), msgid="H1-0001")
            got = await hsa(c, body)
    with sqlite3.connect(gk_env) as db:
        rows = db.execute(
            "SELECT decision_id, settlement_id, institution_code, outcome, rejected_cents"
            " FROM settlement_decisions"
        ).fetchall()
    assert [(str(uuid.UUID(r[0])), *r[1:]) for r in rows] == [
        (got["inf_refmsgid"], "H1-0001", "H1", 1, 1000)  # outcome 1: reject; cents
    ]


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def test_5102_states(client: httpx.AsyncClient, gk: GatekeeperApp) -> None:
    today = _today()
    first, last = today - timedelta(days=3), today + timedelta(days=4)
    active, suspended, ended = yb(901), yb(902), yb(903)
    gk.store.apply(
        patch(
            2,
            [
                physician(active, agreement("H1", "2024-01-01")),
                physician(
                    suspended,
                    agreement(
                        "H1", "2024-01-01", suspensions=[[first.isoformat(), last.isoformat()]]
                    ),
                ),
                physician(ended, agreement("H1", "2024-01-01", terminated=first.isoformat())),
            ],
            [],
            [],
            {},
        )
    )

    async def ask(code: str) -> dict[str, Any]:
        got = await hsa(client, staff("H1", code))
        assert got["infcode"] == 0
        rows: list[dict[str, Any]] = got["output"]["data"]
        assert len(rows) == 1 and rows[0]["prac_psn_code"] == code
        return rows[0]

    assert await ask(active) == {
        "prac_psn_code": active,
        "hi_dr_flag": "1",
        "begntime": "2024-01-01",
        "endtime": None,
        "chg_rea": None,
    }
    row = await ask(suspended)
    assert (row["hi_dr_flag"], row["chg_rea"]) == ("0", "AGREEMENT_SUSPENDED")
    assert (row["begntime"], row["endtime"]) == (first.isoformat(), last.isoformat())
    row = await ask(ended)
    assert (row["hi_dr_flag"], row["chg_rea"], row["begntime"], row["endtime"]) == (
        "0",
        "AGREEMENT_TERMINATED",
        first.isoformat(),
        None,
    )
    row = await ask(yb(999_999))
    assert (row["hi_dr_flag"], row["chg_rea"], row["begntime"]) == (
        "0",
        "PHYSICIAN_UNREGISTERED",
        None,
    )


async def test_metrics_count_the_national_format_by_operation(client: httpx.AsyncClient) -> None:
    await hsa(client, message("2204", "H1", fee("1", DR_PLAIN)))
    await hsa(client, staff("H1", DR_PLAIN))
    text = (await client.get("/metrics")).text
    assert 'ybgate_his_requests_total{operation="hsa_2204",outcome="accept"} 1.0' in text
    assert 'ybgate_his_requests_total{operation="hsa_5102",outcome="answered"} 1.0' in text
    assert 'ybgate_lines_total{decision="accept",overridden="",reason=""} 1.0' in text


async def test_line_ids_needing_json_escapes_come_back_as_sent(client: httpx.AsyncClient) -> None:
    sn = 'a"b\\c/中'
    got = await hsa(client, message("2204", "H1", fee(sn, DR_SUSPENDED, MARCH)))
    assert got["output"]["result"][0]["feedetl_sn"] == sn
    assert got["err_msg"].endswith(f"feedetl_sn={sn} AGREEMENT_SUSPENDED")

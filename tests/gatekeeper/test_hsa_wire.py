"""The national format read as clients write it (CONTRACT.md "National interface as HIS
clients send it"): paths, byte-order mark, amounts by value, integer line ids, null as
absent, empty codes, refunds, exp_content, one service-date rule for both formats, and
unserved infnos named. Real HTTP semantics (httpx over ASGI), the town's registry."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, DR_TERMINATED, his, line, settlement
from tests.gatekeeper.hsa_support import fee, message

MARCH = "2026-03-10"  # DR_SUSPENDED is suspended 2026-03-01..2026-03-31 at H1


async def post(
    client: httpx.AsyncClient, body: bytes | dict[str, Any], path: str = "/v1/hsa"
) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    r = await client.post(path, content=content, headers=his())
    assert r.status_code == 200, r.text
    return r.json()


def _results(got: Any) -> list[tuple[str, str | None, str | None]]:
    return [
        (ln["feedetl_sn"], ln["ybgate_reason"], ln["det_item_fee_sumamt"])
        for ln in got["output"]["result"]
    ]


async def test_post_to_the_path_of_the_infno_answers_exactly_as_the_wrapper(
    client: httpx.AsyncClient,
) -> None:
    body = message("2204", "H1", fee("1", DR_SUSPENDED, MARCH), fee("2", DR_PLAIN, MARCH))
    plain = await post(client, body)
    body["msgid"] = "MSG-2"
    by_path = await post(client, body, "/v1/hsa/2204")
    assert _results(by_path) == _results(plain)
    assert by_path["infcode"] == plain["infcode"] == -1
    body["msgid"] = "MSG-3"
    del body["infno"]  # the path names it
    assert _results(await post(client, body, "/v1/hsa/2204")) == _results(plain)


async def test_a_body_infno_differing_from_the_path_or_unserved_names_infno(
    client: httpx.AsyncClient,
) -> None:
    body = message("2204", "H1", fee("1", DR_PLAIN))
    got = await post(client, body, "/v1/hsa/2301")
    assert got["infcode"] == -1 and got["err_msg"].startswith("报文格式错误: infno: ")
    got = await post(client, body, "/v1/hsa/9999")
    assert got["err_msg"].startswith("报文格式错误: infno: ")
    # an unserved infno with any input is named by its infno, never by an input field
    other = {"infno": "1101", "msgid": "Q", "fixmedins_code": "H1", "input": {"data": {"x": 1}}}
    got = await post(client, other)
    assert got["err_msg"].startswith("报文格式错误: infno: "), got["err_msg"]
    assert "ybgate 不受理该交易" in got["err_msg"]


async def test_a_byte_order_mark_before_the_json_is_ignored(client: httpx.AsyncClient) -> None:
    body = message("2204", "H1", fee("1", DR_SUSPENDED, MARCH), fee("2", DR_PLAIN, MARCH))
    text = json.dumps(body, ensure_ascii=False).encode()
    got = await post(client, b"\xef\xbb\xbf" + text)
    assert _results(got) == [("1", "AGREEMENT_SUSPENDED", "10.00"), ("2", None, "10.00")]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("58.0000", "58.00"),
        (58.0, "58.00"),
        ("58", "58.00"),
        (58, "58.00"),
        ("86.4000", "86.40"),
        (86.4, "86.40"),
        ("0.1000000", "0.10"),
        ("-12.50", "-12.50"),
    ],
)
async def test_amounts_are_judged_by_value_whatever_their_text(
    client: httpx.AsyncClient, amount: object, shown: str
) -> None:
    got = await post(client, message("2204", "H1", fee("1", DR_PLAIN, amount=amount)))
    assert _results(got) == [("1", None, shown)]
    assert got["output"]["ybgate"]["accepted_amount"] == shown


async def test_an_amount_with_a_non_zero_third_decimal_is_malformed_naming_it(
    client: httpx.AsyncClient,
) -> None:
    body = message("2204", "H1", fee("1", DR_PLAIN), fee("2", DR_PLAIN, amount="12.345"))
    got = await post(client, body)
    assert got["infcode"] == -1 and got["output"] is None
    assert got["err_msg"].startswith("报文格式错误: input.feedetail[1].det_item_fee_sumamt: ")


async def test_an_integer_feedetl_sn_is_echoed_as_its_text(client: httpx.AsyncClient) -> None:
    body = message("2204", "H1", fee("x", DR_PLAIN), fee("y", DR_SUSPENDED, MARCH))
    for i, item in enumerate(body["input"]["feedetail"]):
        item["feedetl_sn"] = 1000 + i
    got = await post(client, body)
    assert _results(got) == [("1000", None, "10.00"), ("1001", "AGREEMENT_SUSPENDED", "10.00")]
    assert got["err_msg"].endswith("feedetl_sn=1001 AGREEMENT_SUSPENDED")


async def test_null_is_absent_and_an_empty_or_missing_code_is_a_malformed_line(
    client: httpx.AsyncClient,
) -> None:
    body = message("2204", "H1", fee("1", DR_PLAIN), fee("2", DR_PLAIN), fee("3", DR_PLAIN))
    fees = body["input"]["feedetail"]
    for key in ("mdtrt_id", "psn_no", "cnt", "pric", "med_type", "bilg_dr_name"):
        fees[0][key] = None
    fees[1]["bilg_dr_codg"] = None
    del fees[2]["bilg_dr_codg"]
    body["med_type"] = None
    got = await post(client, body)
    assert _results(got) == [
        ("1", None, "10.00"),
        ("2", "CODE_MALFORMED", "10.00"),
        ("3", "CODE_MALFORMED", "10.00"),
    ]
    assert got["infcode"] == -1 and got["output"]["ybgate"]["outcome"] == "partial"


async def test_a_refund_takes_its_original_lines_verdict_so_a_pair_nets_to_zero(
    client: httpx.AsyncClient,
) -> None:
    """Refund lines (退费: negative cnt and amount, init_feedetl_sn) are judged like any
    line; one naming an earlier decision's line takes that line's verdict."""
    first = message("2301", "H1", fee("A1", DR_SUSPENDED, MARCH, amount="30.00"))
    first["input"]["feedetail"][0]["mdtrt_id"] = "ZY-1"
    got = await post(client, first)
    assert _results(got) == [("A1", "AGREEMENT_SUSPENDED", "30.00")]
    # the refund arrives a month later, when the same code would be accepted
    refund = fee("A1-R", DR_SUSPENDED, "2026-04-10", amount="-30.00")
    refund.update(mdtrt_id="ZY-1", cnt=-1, init_feedetl_sn="A1")
    plain = fee("B", DR_SUSPENDED, "2026-04-10", amount="5.00")
    plain["mdtrt_id"] = "ZY-1"
    got = await post(client, message("2301", "H1", refund, plain, msgid="MSG-R"))
    assert _results(got) == [("A1-R", "AGREEMENT_SUSPENDED", "-30.00"), ("B", None, "5.00")]
    totals = got["output"]["ybgate"]
    assert (totals["accepted_amount"], totals["rejected_amount"]) == ("5.00", "-30.00")
    # a refund naming no remembered line is judged like any line
    orphan = fee("C-R", DR_SUSPENDED, "2026-04-10", amount="-7.00")
    orphan.update(mdtrt_id="ZY-1", init_feedetl_sn="NOPE")
    got = await post(client, message("2301", "H1", orphan, msgid="MSG-O"))
    assert _results(got) == [("C-R", None, "-7.00")]
    assert got["output"]["ybgate"]["accepted_amount"] == "-7.00"


@pytest.mark.parametrize(
    "exp_content",
    [
        {"er_flag": "1"},
        [{"other": "x"}, {"er_flag": "1"}],
        '{"er_flag":"1"}',
        '[{"er_flag":"1"}]',
        {"er_flag": 1},
    ],
)
async def test_exp_content_er_flag_marks_an_emergency_line_in_every_shape(
    client: httpx.AsyncClient, exp_content: object
) -> None:
    item = fee("1", DR_TERMINATED, "2026-07-01")
    item["exp_content"] = exp_content
    got = await post(client, message("2204", "H1", item, med_type=None))
    [result] = got["output"]["result"]
    assert (result["ybgate_reason"], result["ybgate_overridden"]) == (
        "EMERGENCY_OVERRIDE",
        "AGREEMENT_TERMINATED",
    )


@pytest.mark.parametrize("exp_content", [{"er_flag": "0"}, "", None, {"x": "y"}, "{}"])
async def test_exp_content_without_er_flag_1_is_not_an_emergency(
    client: httpx.AsyncClient, exp_content: object
) -> None:
    item = fee("1", DR_TERMINATED, "2026-07-01")
    item["exp_content"] = exp_content
    got = await post(client, message("2204", "H1", item, med_type=None))
    assert _results(got) == [("1", "AGREEMENT_TERMINATED", "10.00")]


def _shanghai_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def test_one_future_date_rule_for_both_formats(client: httpx.AsyncClient) -> None:
    """A service date later than tomorrow (Asia/Shanghai) is refused naming the field,
    in the national format as in the plain one; tomorrow itself is judged."""
    tomorrow = _shanghai_today() + timedelta(days=1)
    for ahead, judged in ((1, True), (2, False), (40, False)):
        day = (_shanghai_today() + timedelta(days=ahead)).isoformat()
        body = message("2204", "H1", fee("1", DR_PLAIN), fee("2", DR_PLAIN, day))
        got = await post(client, body | {"msgid": f"F-{ahead}"})
        plain = await client.post(
            "/v1/settlements/validate",
            json=settlement("H1", line("1", DR_PLAIN), line("2", DR_PLAIN, day), sid=f"P{ahead}"),
            headers=his(),
        )
        if judged:
            assert got["infcode"] == 0 and plain.status_code == 200, day
        else:
            assert got["err_msg"].startswith("报文格式错误: input.feedetail[1].fee_ocur_time: ")
            assert plain.status_code == 422
            assert plain.json()["errors"][0]["field"] == "lines[1].service_date"
    assert tomorrow > _shanghai_today()


async def test_the_openapi_document_lists_the_paths_and_transactions(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert {"/v1/hsa", "/v1/hsa/{infno}"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    infnos = schemas["HsaRequest"]["properties"]["infno"]["anyOf"][0]["enum"]
    assert set(infnos) == {"2201", "2203", "2204", "2205", "2301", "2302", "2401", "3101",
                           "3102", "5102"}  # fmt: skip
    assert {"AuditResult", "StaffQuery", "AuditRequestDoc", "InpatientWithdrawal"} <= set(schemas)

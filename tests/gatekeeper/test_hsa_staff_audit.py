"""5102 by certificate with windows that agree with line judgement, and 3101/3102 in the
platform's result shape (CONTRACT.md "National interface as HIS clients send it")."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.national.audit import RULES
from tests.gatekeeper.conftest import DR_PLAIN, DR_TERMINATED, his
from tests.gatekeeper.world import agreement, institution, patch, physician, visit, yb


async def post(client: httpx.AsyncClient, body: Any) -> Any:
    r = await client.post("/v1/hsa", content=json.dumps(body).encode(), headers=his())
    assert r.status_code == 200, r.text
    return r.json()


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def staff_by_cert(certno: str, name: str | None = "张三") -> Any:
    data: dict[str, Any] = {"psn_cert_type": "01", "certno": certno}
    if name is not None:
        data["psn_name"] = name
    return {"infno": "5102", "msgid": "Q", "fixmedins_code": "H1", "input": {"data": data}}


async def test_5102_by_certificate_finds_the_yb_code(client: httpx.AsyncClient) -> None:
    got = await post(client, staff_by_cert(DR_PLAIN[2:]))
    assert got["infcode"] == 0
    [row] = got["output"]["data"]
    assert (row["prac_psn_code"], row["hi_dr_flag"], row["chg_rea"]) == (DR_PLAIN, "1", None)
    assert (row["psn_cert_type"], row["certno"], row["psn_name"]) == ("01", DR_PLAIN[2:], "张三")
    got = await post(client, staff_by_cert("9" * 24, name=None))
    assert got["output"]["data"][0]["chg_rea"] == "PHYSICIAN_UNREGISTERED"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "input.data.prac_psn_code"),
        ({"psn_cert_type": "01"}, "input.data.certno"),
        ({"certno": "1"}, "input.data.psn_cert_type"),
    ],
)
async def test_5102_without_a_code_or_a_whole_certificate_names_the_field(
    client: httpx.AsyncClient, data: dict[str, str], field: str
) -> None:
    body = {"infno": "5102", "msgid": "Q", "fixmedins_code": "H1", "input": {"data": data}}
    got = await post(client, body)
    assert got["err_msg"].startswith(f"报文格式错误: {field}: "), got["err_msg"]


async def test_5102_windows_agree_with_how_a_line_is_judged(
    client: httpx.AsyncClient, gk: GatekeeperApp
) -> None:
    """An agreement without its own end ends with the institution's term; a visiting
    physician at the host shows the visit's window; and a line on the day after each
    window is rejected while one on its last day passes."""
    today = _today()
    term_end, visit_end = today + timedelta(days=30), today + timedelta(days=10)
    plain, visiting = yb(801), yb(802)
    gk.store.apply(
        patch(
            2,
            [
                physician(plain, agreement("H5", "2024-01-01")),
                physician(
                    visiting,
                    agreement("H2", "2024-01-01"),
                    visits=[
                        visit("H5", (today - timedelta(days=5)).isoformat(), visit_end.isoformat())
                    ],
                ),
            ],
            [institution("H5", "R1", terms=[("2024-01-01", term_end.isoformat(), None)])],
            [],
            {"tok-h5": "H5"},
        )
    )
    for code, last, first in (
        (plain, term_end, date(2024, 1, 1)),
        (visiting, visit_end, today - timedelta(days=5)),
    ):
        body = {
            "infno": "5102",
            "msgid": "Q",
            "fixmedins_code": "H5",
            "input": {"data": {"prac_psn_code": code}},
        }
        r = await client.post("/v1/hsa", json=body, headers=his("tok-h5"))
        [row] = r.json()["output"]["data"]
        assert (row["hi_dr_flag"], row["begntime"], row["endtime"]) == (
            "1",
            first.isoformat(),
            last.isoformat(),
        )
        for day, reason in ((last, None), (last + timedelta(days=1), "rejected")):
            if day > today + timedelta(days=1):
                continue  # past the service-date rule: checked by the pure property test
            lines = [{"line_id": "1", "physician_code": code, "service_date": day.isoformat()}]
            sett = {"settlement_id": "S", "institution_code": "H5", "lines": lines}
            r = await client.post("/v1/settlements/validate", json=sett, headers=his("tok-h5"))
            assert (r.json()["lines"][0]["reason"] is None) == (reason is None)


def audit_message(infno: str, encounter: dict[str, Any], one: bool = False) -> Any:
    patient: dict[str, Any] = {
        "patn_id": "PAT-1",
        "fsi_encounter_dtos": encounter if one else [encounter],
    }
    data = {"patient_dtos": patient if one else [patient], "task_id": "T-1", "trig_scen": "1"}
    return {"infno": infno, "msgid": "AU", "fixmedins_code": "H1", "input": {"data": data}}


def encounter(med_type: str = "11") -> dict[str, Any]:
    return {
        "mdtrt_id": "MZ-1",
        "medins_id": "H1",
        "med_type": med_type,
        "adm_date": "2026-05-20 08:00:00",
        "dr_codg": DR_PLAIN,
        "fsi_order_dtos": [
            # DR_TERMINATED: fine in May, terminated from 2026-06-01
            {
                "rx_id": "RX1",
                "drord_dr_codg": DR_TERMINATED,
                "drord_begn_date": "2026-05-21",
                "sumamt": "12.50",
            },
            {
                "rx_id": "RX2",
                "drord_dr_codg": DR_TERMINATED,
                "drord_begn_date": "2026-06-02",
                "sumamt": 30,
            },
            {
                "rx_id": 3,
                "drord_dr_codg": DR_TERMINATED,
                "drord_begn_date": "2026-06-03 10:00:00",
                "sumamt": "7.5000",
            },
            {"rx_id": "RX4", "drord_dr_codg": DR_PLAIN, "sumamt": "1.00"},
        ],
        "fsi_operation_dtos": [
            {
                "oper_dr_code": "YB-NOT-A-CODE",
                "anst_dr_code": DR_PLAIN,
                "oprn_oprt_date": "2026-05-22",
            },
        ],
    }


@pytest.mark.parametrize("infno", ["3101", "3102"])
@pytest.mark.parametrize("one", [False, True])
async def test_3101_3102_name_each_code_that_may_not_bill_on_the_day_it_acted(
    client: httpx.AsyncClient, infno: str, one: bool
) -> None:
    got = await post(client, audit_message(infno, encounter(), one))
    assert got["infcode"] == 0 and got["err_msg"] is None
    result = got["output"]["result"]
    assert [(r["rule_id"], r["vola_amt"]) for r in result] == [
        (RULES["AGREEMENT_TERMINATED"][0], "37.50"),
        (RULES["CODE_MALFORMED"][0], "0.00"),
    ]
    terminated, malformed = result
    assert set(terminated) == {
        "jr_id",
        "rule_id",
        "rule_name",
        "vola_cont",
        "patn_id",
        "mdtrt_id",
        "vola_amt",
        "sev_deg",
        "vola_evid",
        "vola_bhvr_type",
        "task_id",
        "judge_result_detail_dtos",
    }
    assert (
        DR_TERMINATED in terminated["vola_cont"]
        and "AGREEMENT_TERMINATED" in terminated["vola_cont"]
    )
    assert (terminated["patn_id"], terminated["mdtrt_id"], terminated["task_id"]) == (
        "PAT-1",
        "MZ-1",
        "T-1",
    )
    details = terminated["judge_result_detail_dtos"]
    assert [(d["rx_id"], d["vola_amt"]) for d in details] == [("RX2", "30.00"), ("3", "7.50")]
    assert len({d["jrd_id"] for d in details}) == 2
    assert "YB-NOT-A-CODE" in malformed["vola_cont"] and malformed["judge_result_detail_dtos"] == []


async def test_3101_honours_the_emergency_med_type(client: httpx.AsyncClient) -> None:
    """13 (急诊): the terminated doctor's orders escape (region R1 overrides every reason)."""
    got = await post(client, audit_message("3101", encounter("13")))
    assert got["output"]["result"] == []


async def test_3101_for_another_institution_or_with_a_bad_date_names_the_field(
    client: httpx.AsyncClient,
) -> None:
    enc = encounter()
    enc["medins_id"] = "H2"
    got = await post(client, audit_message("3101", enc))
    assert got["err_msg"].startswith(
        "报文格式错误: input.data.patient_dtos[0].fsi_encounter_dtos[0].medins_id: "
    )
    enc = encounter()
    enc["fsi_order_dtos"][1]["drord_begn_date"] = "06/02/2026"
    got = await post(client, audit_message("3102", enc, one=True))
    at = "input.data.patient_dtos.fsi_encounter_dtos.fsi_order_dtos[1].drord_begn_date"
    assert got["err_msg"].startswith(f"报文格式错误: {at}: ")

"""Builders for national-platform messages (CONTRACT.md "National-platform format")."""

from __future__ import annotations

from typing import Any


def fee(
    sn: str,
    code: str,
    day: str = "2026-11-20",
    *,
    amount: object = "10.00",
    med_type: str | None = None,
    time: str = "09:12:00",
) -> dict[str, Any]:
    """One feedetail item, with a few of the platform's other fields (ignored)."""
    out: dict[str, Any] = {
        "feedetl_sn": sn,
        "mdtrt_id": "M1",
        "psn_no": "P1",
        "fee_ocur_time": f"{day} {time}",
        "med_list_codg": "250101001",
        "cnt": 1,
        "pric": 10.0,
        "bilg_dr_codg": code,
        "bilg_dr_name": "张三",
    }
    if amount is not None:
        out["det_item_fee_sumamt"] = amount
    if med_type is not None:
        out["med_type"] = med_type
    return out


def message(
    infno: str,
    inst: str,
    *fees: dict[str, Any],
    msgid: str = "MSG-1",
    med_type: str | None = "11",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": "330102",
        "insuplc_admdvs": "330102",
        "recer_sys_code": "HIS",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": "2026-11-24 10:30:00",
        "fixmedins_code": inst,
        "fixmedins_name": "某医院",
        "sign_no": "",
        "input": {"feedetail": list(fees)},
    }
    if med_type is not None:
        out["med_type"] = med_type
    return out


def staff(inst: str, code: str, msgid: str = "Q-1") -> dict[str, Any]:
    return {
        "infno": "5102",
        "msgid": msgid,
        "fixmedins_code": inst,
        "input": {"data": {"prac_psn_code": code}},
    }


def from_settlement(body: dict[str, Any], infno: str, med_type: str = "11") -> dict[str, Any]:
    """The contract's field mapping of a plain settlement: line_id -> feedetl_sn,
    physician_code -> bilg_dr_codg, service_date -> fee_ocur_time's date, amount ->
    det_item_fee_sumamt, emergency -> med_type 13 (per line on 2301; on 2204 the wrapper's
    ``med_type`` applies to every line)."""
    fees = []
    for ln in body["lines"]:
        item = fee(
            ln["line_id"],
            ln["physician_code"],
            ln["service_date"],
            amount=ln.get("amount"),
            med_type=("13" if ln.get("emergency") else "11") if infno == "2301" else None,
        )
        fees.append(item)
    msgid = body["settlement_id"]
    return message(infno, body["institution_code"], *fees, msgid=msgid, med_type=med_type)

"""The 2204 form of a benchmark payload (../shared/bench/synth.py), by the contract's field
mapping: settlement_id -> msgid, institution_code -> fixmedins_code, line_id ->
feedetl_sn, physician_code -> bilg_dr_codg, service_date -> the date of fee_ocur_time,
item_code -> med_list_codg, amount -> det_item_fee_sumamt (a JSON number with the
amount's own digits). Each line carries the contract example's other platform fields
(ignored by the gatekeeper). The plain payload's per-line ``emergency`` has no 2204
form (the platform carries med_type on the visit): the wrapper says med_type 11.

The msgid is the placeholder ``MSGID``, which bench/hsa.lua replaces per request so
that every request is a new message (a repeated msgid would be answered from its
idempotency record instead of being judged).

    python bench/hsa_payload.py < payload20.json > hsa20.json
"""

from __future__ import annotations

import json
import sys

PLACEHOLDER = "MSGID"


def hsa_2204(plain: dict[str, object], infno: str = "2204") -> str:
    """``infno`` "2301": the inpatient form, each line's ``emergency`` as its own
    ``med_type`` (13 急诊, else 21 普通住院)."""
    lines = plain["lines"]
    assert isinstance(lines, list)
    fees = []
    for ln in lines:
        amount = ln["amount"]  # the digits as they are: a JSON number
        med = f',"med_type":"{13 if ln["emergency"] else 21}"' if infno == "2301" else ""
        fees.append(
            f'{{"feedetl_sn":{json.dumps(ln["line_id"])},"mdtrt_id":"M20261120001",'
            f'"psn_no":"P330102000001","fee_ocur_time":"{ln["service_date"]} 09:12:00",'
            f'"med_list_codg":{json.dumps(ln["item_code"])},"det_item_fee_sumamt":{amount},'
            f'"cnt":1,"pric":{amount},"bilg_dr_codg":{json.dumps(ln["physician_code"])},'
            f'"bilg_dr_name":"张三"{med}}}'
        )
    inst = json.dumps(plain["institution_code"])
    return (
        f'{{"infno":"{infno}","msgid":"{PLACEHOLDER}","mdtrtarea_admvs":"330102",'
        '"insuplc_admdvs":"330102","recer_sys_code":"HIS","infver":"V1.0","opter_type":"1",'
        '"opter":"001","opter_name":"收费员","inf_time":"2026-11-24 10:30:00",'
        f'"fixmedins_code":{inst},"fixmedins_name":"某医院","sign_no":"","med_type":"11",'
        f'"input":{{"feedetail":[{",".join(fees)}]}}}}'
    )


if __name__ == "__main__":
    sys.stdout.write(hsa_2204(json.load(sys.stdin)))

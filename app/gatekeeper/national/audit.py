"""3101 (明细审核事前事中分析) and 3102 (明细审核事后分析): every staff code of an
encounter judged on the day it acted, answered in the platform's result shape.

``input.data.patient_dtos`` (a list, or one object as some clients send it), each with
``fsi_encounter_dtos`` (likewise): the encounter's doctor (``dr_codg``) acted on
``adm_date``; each order's doctor (``fsi_order_dtos[].drord_dr_codg``) on
``drord_begn_date``, else ``adm_date``; each operation's surgeon and anaesthetist
(``fsi_operation_dtos[].oper_dr_code``, ``anst_dr_code``) on ``oprn_oprt_date``, else
``adm_date``. A code is judged like a fee line of that day at the caller's institution
(``medins_id``, when given, must be it), with the emergency override for ``med_type``
13/24. Each code that may not bill the fund on a day it acted gives one element of
``output.result`` per encounter: its first failing act names the rule, the details list
each order the code billed on a failing day (``judge_result_detail_dtos``) and
``vola_amt`` is their sum. ``result`` is ``[]`` when nobody fails. Nothing is logged:
an audit is a question, not a settlement.

Rule ids (``rule_id``, ``rule_name``), one per reason of the contract's table, in its
order: see :data:`RULES` and docs/his-national.md.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.gatekeeper.host.runtime import Host
from app.gatekeeper.national.amounts import decimal_of, signed_money
from app.gatekeeper.national.fee import day_message, day_of
from app.gatekeeper.national.lines import EMERGENCY_MED_TYPES, sn_text
from app.gatekeeper.national.render import Malformed, decode_part, ok_answer
from app.gatekeeper.national.requests import Encounter, audit_decoder
from app.gatekeeper.national.schemas import HsaMessage
from app.gatekeeper.plain.checks import day_in_bounds
from app.registry.judge import LineResult
from app.registry.memo import STATS as MEMO
from app.registry.memo import InstContext

AUDIT_INFNOS = frozenset({"3101", "3102"})
# reason -> (rule_id, rule_name, the rule as a sentence: vola_evid)
RULES: dict[str, tuple[str, str, str]] = {
    "CODE_MALFORMED": (
        "YBGATE-01",
        "医保医师编码不规范",
        "编码既不是 YB + 医师资格证书编码, 也不是已登记的国家医保医师编码",
    ),
    "PHYSICIAN_UNREGISTERED": ("YBGATE-02", "医保医师未登记", "没有医师持有该编码"),
    "CODE_CANCELLED": ("YBGATE-03", "医保医师编码已注销", "该编码在当日或之前已注销"),
    "NOT_AT_INSTITUTION": (
        "YBGATE-04",
        "未在本机构签订服务协议",
        "当日在本机构既无服务协议, 也无进修、对口支援登记",
    ),
    "INSTITUTION_SUSPENDED": (
        "YBGATE-05",
        "定点医疗机构协议中止或终止",
        "本机构的服务协议当日中止或已终止",
    ),
    "AGREEMENT_TERMINATED": ("YBGATE-06", "医保医师服务协议已解除", "服务协议在当日或之前已解除"),
    "AGREEMENT_SUSPENDED": ("YBGATE-07", "医保医师服务协议中止", "服务协议当日处于中止期"),
}
SEV_DEG = "1"  # 明确违规: a fee line of this code on that day is rejected
VOLA_BHVR_TYPE = "1"  # 医保医师资格
VOLA_ITEM_TYPE = "1"  # 医嘱
_CENT = Decimal("0.01")


def _day(text: str | None, fallback: date | None, path: str) -> date | None:
    if not text:
        return fallback
    try:
        day = day_of(text[:10])
    except ValueError:
        raise Malformed(path, "须为 yyyy-MM-dd 或 yyyy-MM-dd HH:mm:ss") from None
    if not day_in_bounds(day):
        raise Malformed(path, day_message(day))
    return day


def _cents(raw: Any, path: str) -> int:
    try:
        value = decimal_of(raw)
    except ValueError:
        raise Malformed(path, "须为数值或数字字符串") from None
    return 0 if value is None else int(value.quantize(_CENT, ROUND_HALF_UP) * 100)


class _Acts:
    """One encounter's acts: code -> [(result, day, order index or None, cents)]."""

    def __init__(self, ctx: InstContext, emergency: int) -> None:
        self.ctx, self.emergency = ctx, emergency
        self.by_code: dict[str, list[tuple[LineResult, date, int | None, int]]] = {}

    def add(self, code: str | None, day: date | None, order: int | None, cents: int) -> None:
        if not code or day is None:
            return
        result = self.ctx.judge_code(code, day)[self.emergency]
        MEMO.lookups += 1
        self.by_code.setdefault(code, []).append((result, day, order, cents))


def _acts(ctx: InstContext, enc: Encounter, path: str) -> _Acts:
    acts = _Acts(ctx, int(enc.med_type in EMERGENCY_MED_TYPES))
    adm = _day(enc.adm_date, None, f"{path}.adm_date")
    acts.add(enc.dr_codg, adm, None, 0)
    for j, order in enumerate(enc.fsi_order_dtos or ()):
        at = f"{path}.fsi_order_dtos[{j}]"
        day = _day(order.drord_begn_date, adm, f"{at}.drord_begn_date")
        acts.add(order.drord_dr_codg, day, j, _cents(order.sumamt, f"{at}.sumamt"))
    ops = enc.fsi_operation_dtos if isinstance(enc.fsi_operation_dtos, list) else []
    for j, op in enumerate(ops):
        day = _day(op.oprn_oprt_date, adm, f"{path}.fsi_operation_dtos[{j}].oprn_oprt_date")
        acts.add(op.oper_dr_code, day, None, 0)
        acts.add(op.anst_dr_code, day, None, 0)
    return acts


def _elements(app: Host, acts: _Acts, enc: Encounter, patn: str, task: str) -> list[Any]:
    out = []
    for code, done in acts.by_code.items():
        failing = [a for a in done if not a[0].ok]
        if not failing:
            continue
        result, day, _, _ = failing[0]
        rule_id, rule_name, evidence = RULES[str(result.reason)]
        details = []
        for _, _, order, cents in failing:
            if order is None:
                continue
            rx = (enc.fsi_order_dtos or [])[order].rx_id
            details.append(
                {
                    "jrd_id": app.new_id()[0],
                    "rx_id": None if rx is None else sn_text(rx),
                    "vola_item_type": VOLA_ITEM_TYPE,
                    "vola_amt": signed_money(cents),
                }
            )
        total = sum(c for _, _, o, c in failing if o is not None)
        out.append(
            {
                "jr_id": app.new_id()[0],
                "rule_id": rule_id,
                "rule_name": rule_name,
                "vola_cont": f"医保医师 {code} 于 {day} 不能使用医保基金结算: "
                f"{rule_name} ({result.reason})",
                "patn_id": patn,
                "mdtrt_id": enc.mdtrt_id,
                "vola_amt": signed_money(total),
                "sev_deg": SEV_DEG,
                "vola_evid": evidence,
                "vola_bhvr_type": VOLA_BHVR_TYPE,
                "task_id": task,
                "judge_result_detail_dtos": details,
            }
        )
    return out


def audit(app: Host, inst: str, message: HsaMessage, received: str) -> bytes:
    """3101/3102: the staff codes of every encounter judged (see the module doc)."""
    data = decode_part(audit_decoder, message.input.data, "input.data")
    patients = data.patient_dtos if isinstance(data.patient_dtos, list) else [data.patient_dtos]
    task = data.task_id or message.msgid
    result: list[Any] = []
    store = app.store
    many = isinstance(data.patient_dtos, list)
    for i, patient in enumerate(patients):
        encs = patient.fsi_encounter_dtos
        listed = isinstance(encs, list)
        at = "input.data.patient_dtos" + (f"[{i}]" if many else "")
        for j, enc in enumerate(encs if isinstance(encs, list) else [] if encs is None else [encs]):
            path = f"{at}.fsi_encounter_dtos" + (f"[{j}]" if listed else "")
            if enc.medins_id and enc.medins_id != inst:
                raise Malformed(f"{path}.medins_id", "须为本机构 (令牌所属机构) 的编码")
            with store.lock:
                reg = store.registry
                acts = _acts(reg.contexts.get(inst) or reg.context(inst), enc, path)
            patn = "" if patient.patn_id is None else sn_text(patient.patn_id)
            result += _elements(app, acts, enc, patn, task)
    return ok_answer(received, {"result": result})

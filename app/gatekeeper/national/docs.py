"""The national format's requests and answers as the OpenAPI document describes them
(msgspec Structs used for their JSON Schemas only: the decoder's are ``schemas.py`` and
``requests.py``; what is written is ``render.py`` and the modules per ``infno``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from app.gatekeeper.national.schemas import FeeTime, MsgId
from app.gatekeeper.plain.schemas import Id64, LineReason
from app.rules.model import Reason

Infno = Literal[
    "2201", "2203", "2204", "2205", "2301", "2302", "2401", "3101", "3102", "5102"
]  # fmt: skip
Number = Annotated[
    str | float,
    Meta(description="A JSON number or a decimal string (any scale), up to 16 integer digits."),
]
Amount = Annotated[
    str | float,
    Meta(
        description='A JSON number or decimal string judged by its value: "58.0000", 58.0 and '
        '"58" are 58.00; at most 2 non-zero decimals; negative on a refund line.'
    ),
]


class FeeDetailDoc(msgspec.Struct):
    feedetl_sn: Annotated[Id64 | int, Meta(description="A string or an integer (echoed as text).")]
    fee_ocur_time: FeeTime
    bilg_dr_codg: (
        Annotated[str, Meta(max_length=64, description="YB code or national D alias.")] | None
    ) = None
    det_item_fee_sumamt: Amount | None = None
    cnt: Number | None = None
    pric: Number | None = None
    med_type: Annotated[str | None, Meta(description="2301: 13/24 = emergency.")] = None
    mdtrt_id: Annotated[str | None, Meta(description="The visit (visit memory, withdrawals).")] = (
        None
    )
    chrg_bchno: Annotated[str | None, Meta(description="Charge batch (2205 withdraws by it).")] = (
        None
    )
    init_feedetl_sn: Annotated[
        str | int | None,
        Meta(description="A refund line's original line: the refund takes its verdict."),
    ] = None
    exp_content: Annotated[
        dict[str, Any] | list[dict[str, Any]] | str | None,
        Meta(
            description='An object, a list of objects or a string holding JSON; "er_flag": "1" '
            "marks an emergency line."
        ),
    ] = None


class HsaInputDoc(msgspec.Struct):
    feedetail: Annotated[
        list[FeeDetailDoc] | None, Meta(description="2204/2301: the lines judged.")
    ] = None
    data: Annotated[
        dict[str, Any] | list[dict[str, Any]] | None,
        Meta(
            description="5102: StaffQuery; 2205: OutpatientWithdrawal; 2302: one or a list of "
            "InpatientWithdrawal; 3101/3102: AuditRequestDoc; 2201: ignored."
        ),
    ] = None
    mdtrtinfo: Annotated[
        dict[str, Any] | None, Meta(description="2201/2203/2401: MdtrtInfo (visit memory).")
    ] = None


class HsaRequest(msgspec.Struct):
    msgid: MsgId
    fixmedins_code: Annotated[
        str, Meta(min_length=1, max_length=32, description="Must be the token's institution.")
    ]
    input: HsaInputDoc
    infno: Annotated[
        Infno | None, Meta(description="Required unless the path names it (/v1/hsa/{infno}).")
    ] = None
    med_type: Annotated[str | None, Meta(description="2204 only: 13/24 = emergency.")] = None


Money = Annotated[str, Meta(pattern=r"^-?[0-9]+\.[0-9]{2}$")]


class FeeResult(msgspec.Struct):
    feedetl_sn: Id64
    det_item_fee_sumamt: Money | None
    ybgate_decision: Literal["accept", "reject"]
    ybgate_reason: LineReason | None
    ybgate_overridden: Reason | None
    ybgate_field: (
        Annotated[
            Literal["bilg_dr_codg", "orders_dr_code"],
            Meta(description="On a rejected line: the field whose staff code failed."),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class FeeTotals(msgspec.Struct):
    decision_id: str
    registry_version: int
    outcome: Literal["accept", "reject", "partial"]
    accepted_amount: Money
    rejected_amount: Money


class StaffStatus(msgspec.Struct):
    prac_psn_code: str
    hi_dr_flag: Literal["1", "0"]
    begntime: Annotated[str | None, Meta(description="First day of the status run; null: open.")]
    endtime: Annotated[str | None, Meta(description="Last day of the status run; null: open.")]
    chg_rea: Reason | None
    psn_cert_type: Annotated[str | None, Meta(description="Asked by certificate: echoed.")] = None
    certno: str | None = None
    psn_name: str | None = None


class AuditDetail(msgspec.Struct):
    jrd_id: str
    rx_id: str | None
    vola_item_type: str
    vola_amt: Money


class AuditResult(msgspec.Struct):
    jr_id: str
    rule_id: Annotated[str, Meta(description="YBGATE-01..07, one per reason (docs).")]
    rule_name: str
    vola_cont: str
    patn_id: str
    mdtrt_id: str | None
    vola_amt: Money
    sev_deg: str
    vola_evid: str
    vola_bhvr_type: str
    task_id: str
    judge_result_detail_dtos: list[AuditDetail]


class HsaOutput(msgspec.Struct):
    result: Annotated[
        list[FeeResult] | None, Meta(description="2204/2301; 3101/3102: list of AuditResult.")
    ] = None
    ybgate: Annotated[
        FeeTotals | None,
        Meta(
            description="2204/2301: the totals; 2201/2203/2401: {visit: the visit kept}; "
            "2205/2302: {withdrawn: [{decision_id, feedetl_sn, mdtrt_id}], lines}."
        ),
    ] = None
    data: list[StaffStatus] | None = None


class HsaResponse(msgspec.Struct):
    infcode: Literal[0, -1]
    inf_refmsgid: str | None
    refmsg_time: str
    respond_time: str
    err_msg: str | None
    warn_msg: str | None
    output: HsaOutput | None


class OrderDoc(msgspec.Struct):
    rx_id: str | int | None = None
    drord_dr_codg: Annotated[str | None, Meta(description="Judged on drord_begn_date.")] = None
    drord_begn_date: Annotated[str | None, Meta(description="Else the encounter's adm_date.")] = (
        None
    )
    sumamt: Number | None = None


class OperationDoc(msgspec.Struct):
    oper_dr_code: str | None = None
    anst_dr_code: str | None = None
    oprn_oprt_date: Annotated[str | None, Meta(description="Else the encounter's adm_date.")] = None


class EncounterDoc(msgspec.Struct):
    mdtrt_id: str | None = None
    medins_id: Annotated[str | None, Meta(description="The token's institution.")] = None
    med_type: Annotated[str | None, Meta(description="13/24: the emergency override.")] = None
    adm_date: str | None = None
    dr_codg: Annotated[str | None, Meta(description="Judged on adm_date.")] = None
    fsi_order_dtos: list[OrderDoc] | None = None
    fsi_operation_dtos: list[OperationDoc] | None = None


class PatientDoc(msgspec.Struct):
    patn_id: str | int | None = None
    fsi_encounter_dtos: list[EncounterDoc] | EncounterDoc | None = None


class AuditRequestDoc(msgspec.Struct):
    """3101/3102 ``input.data``."""

    patient_dtos: list[PatientDoc] | PatientDoc
    task_id: str | None = None

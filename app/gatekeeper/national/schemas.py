"""The national platform's message format (国家医疗保障信息平台 接口规范) as msgspec Structs.

``POST /v1/hsa`` decodes the wrapper first (``input`` kept raw), then ``input`` by
``infno``: ``2204``/``2301`` fee details (费用明细上传) or a ``5102`` staff query
(医执人员信息查询). Only the fields the judgement needs are declared; every other field
of the platform's specification is skipped by the decoder (accepted and ignored).

The response Structs describe what ``app.gatekeeper.national.hsa`` writes; they feed the OpenAPI
document.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from app.gatekeeper.plain.schemas import Id64, LineReason
from app.rules.model import Reason

FEE_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
MsgId = Annotated[str, Meta(min_length=1, max_length=30)]
FeeTime = Annotated[
    str,
    Meta(
        pattern=FEE_TIME_PATTERN,
        description="yyyy-MM-dd HH:mm:ss (Asia/Shanghai); the date part is the service date.",
    ),
]
# The decoder checks the length only; the shape is checked over all lines at once after
# decoding (a regex per line in the decoder costs more than the rest of the decode).
FeeTime19 = Annotated[str, Meta(min_length=19, max_length=19)]
Code = Annotated[str, Meta(max_length=64)]
NO_AMOUNT = msgspec.Raw(b"")


class FeeDetail(msgspec.Struct, gc=False):
    """One fee line (``feedetail`` item)."""

    feedetl_sn: Id64
    bilg_dr_codg: Code
    fee_ocur_time: FeeTime19
    # The raw JSON value: a number or a string, parsed exactly (see amounts.py).
    det_item_fee_sumamt: msgspec.Raw = NO_AMOUNT
    med_type: Annotated[str, Meta(max_length=8)] | None = None


class StaffQuery(msgspec.Struct, gc=False):
    prac_psn_code: Code


class HsaInput(msgspec.Struct, gc=False):
    """``input``: ``feedetail`` for 2204/2301, ``data`` for 5102 (required by ``infno``)."""

    feedetail: list[FeeDetail] | None = None
    data: StaffQuery | None = None


class HsaMessage(msgspec.Struct, gc=False):
    """The wrapper and its input, decoded in one pass."""

    infno: Annotated[str, Meta(max_length=8, description='"2204", "2301" or "5102".')]
    msgid: MsgId
    fixmedins_code: Annotated[str, Meta(min_length=1, max_length=32)]
    input: HsaInput
    med_type: Annotated[str, Meta(max_length=8)] | None = None


message_decoder = msgspec.json.Decoder(HsaMessage)

# -- documentation of the request (OpenAPI) and of the response -------------------------

Amount = Annotated[
    str | float,
    Meta(description="A JSON number or decimal string, up to 16 integer digits, 2 decimals."),
]


class FeeDetailDoc(msgspec.Struct):
    feedetl_sn: Id64
    bilg_dr_codg: Annotated[str, Meta(max_length=64, description="YB code or national D alias.")]
    fee_ocur_time: FeeTime
    det_item_fee_sumamt: Amount | None = None
    med_type: Annotated[str | None, Meta(description="2301 only: 13/24 = emergency.")] = None


class HsaInputDoc(msgspec.Struct):
    feedetail: list[FeeDetailDoc] | None = None
    data: StaffQuery | None = None


class HsaRequest(msgspec.Struct):
    infno: Literal["2204", "2301", "5102"]
    msgid: MsgId
    fixmedins_code: Annotated[
        str, Meta(min_length=1, max_length=32, description="Must be the token's institution.")
    ]
    input: HsaInputDoc
    med_type: Annotated[str | None, Meta(description="2204 only: 13/24 = emergency.")] = None


Money = Annotated[str, Meta(pattern=r"^[0-9]+\.[0-9]{2}$")]


class FeeResult(msgspec.Struct):
    feedetl_sn: Id64
    det_item_fee_sumamt: Money | None
    ybgate_decision: Literal["accept", "reject"]
    ybgate_reason: LineReason | None
    ybgate_overridden: Reason | None


class FeeTotals(msgspec.Struct):
    decision_id: str
    registry_version: int
    outcome: Literal["accept", "reject", "partial"]
    accepted_amount: Money
    rejected_amount: Money


class StaffStatus(msgspec.Struct):
    prac_psn_code: str
    hi_dr_flag: Literal["1", "0"]
    begntime: str | None
    endtime: str | None
    chg_rea: Reason | None


class HsaOutput(msgspec.Struct):
    result: list[FeeResult] | None = None
    ybgate: FeeTotals | None = None
    data: list[StaffStatus] | None = None


class HsaResponse(msgspec.Struct):
    infcode: Literal[0, -1]
    inf_refmsgid: str | None
    refmsg_time: str
    respond_time: str
    err_msg: str | None
    warn_msg: str | None
    output: HsaOutput | None


# -- GET /v1/roster (documentation of what app.gatekeeper.readside.roster writes) -----------------


class Span(msgspec.Struct):
    starts_on: Annotated[str, Meta(extra_json_schema={"format": "date"})]
    ends_on: Annotated[str | None, Meta(description="Last day, inclusive; null: open.")]


class RosterAgreement(msgspec.Struct):
    institution_code: str
    starts_on: Annotated[str, Meta(extra_json_schema={"format": "date"})]
    ends_on: str | None
    terminated_on: Annotated[str | None, Meta(description="First day no longer valid.")]
    suspensions: list[Span]


class RosterVisit(msgspec.Struct):
    starts_on: Annotated[str, Meta(extra_json_schema={"format": "date"})]
    ends_on: Annotated[str, Meta(extra_json_schema={"format": "date"})]


class RosterPhysician(msgspec.Struct):
    physician_code: str
    national_code: str | None
    agreements: Annotated[
        list[RosterAgreement],
        Meta(description="Here; for a visiting physician also the agreements elsewhere."),
    ]
    visits: Annotated[list[RosterVisit], Meta(description="Visiting registrations here.")]
    cancellations: Annotated[list[Span], Meta(description="Code cancellations (注销).")]


class RosterInstitution(msgspec.Struct):
    terms: list[Span]
    suspensions: list[Span]


class Roster(msgspec.Struct):
    institution_code: str
    registry_version: Annotated[int, Meta(description="Send as since_version next time.")]
    since_version: int | None
    full: Annotated[
        bool,
        Meta(description="true: the whole roster (replace your copy); false: a delta."),
    ]
    institution: RosterInstitution
    physicians: list[RosterPhysician]
    removed: Annotated[list[str], Meta(description="Codes no longer at the institution.")]
    next_after: Annotated[str | None, Meta(description="Pass as after= for the next page.")]

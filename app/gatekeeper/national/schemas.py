"""The national platform's message format (国家医疗保障信息平台 接口规范) as msgspec Structs.

``POST /v1/hsa`` decodes the wrapper and the fee details (``2204``/``2301``,
费用明细上传) in one pass, keeping ``input.data`` and ``input.mdtrtinfo`` raw; those are
decoded by ``infno`` afterwards (``requests.py``). Only the fields ybgate reads are
declared; every other field of the platform's specification is skipped by the decoder
(accepted and ignored). The documentation of requests and answers is in ``docs.py``;
the roster's (``GET /v1/roster``) is below.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from app.gatekeeper.plain.schemas import Id64

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
Short = Annotated[str, Meta(max_length=64)]
# A line id as clients write it: a string, or an integer counter (echoed as its text).
Sn = Id64 | int
NO_AMOUNT = msgspec.Raw(b"")
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark some clients write before the JSON


class FeeDetail(msgspec.Struct, gc=False):
    """One fee line (``feedetail`` item). ``null`` in an optional field is absent;
    ``bilg_dr_codg`` null or absent is judged like an empty code. A field judged later
    (``orders_dr_code``...) is one more optional member here."""

    feedetl_sn: Sn
    fee_ocur_time: FeeTime19
    bilg_dr_codg: Code | None = None
    # 受单/执行医生: judged like bilg_dr_codg when present and not empty.
    orders_dr_code: Code | None = None
    # The raw JSON values: a number or a string, read exactly (see amounts.py).
    det_item_fee_sumamt: msgspec.Raw = NO_AMOUNT
    cnt: msgspec.Raw = NO_AMOUNT
    pric: msgspec.Raw = NO_AMOUNT
    med_type: Annotated[str, Meta(max_length=8)] | None = None
    mdtrt_id: Short | None = None
    chrg_bchno: Short | None = None
    # A refund line's original line (退费: 原费用流水号); "" is absent.
    init_feedetl_sn: Code | int | None = None
    # An object, a list of objects or a string holding JSON (see fee.er_flags).
    exp_content: msgspec.Raw = NO_AMOUNT


class HsaInput(msgspec.Struct, gc=False):
    """``input``: ``feedetail`` (2204/2301), ``data`` (5102, 2201, 2205, 2302, 3101,
    3102: read by ``infno`` once the wrapper is known), ``mdtrtinfo`` (2201/2203/2401)."""

    feedetail: list[FeeDetail] | None = None
    data: msgspec.Raw = NO_AMOUNT
    mdtrtinfo: msgspec.Raw = NO_AMOUNT


class HsaMessage(msgspec.Struct, gc=False):
    """The wrapper and its input, decoded in one pass. ``infno`` may be left to the path
    (``POST /v1/hsa/{infno}``)."""

    msgid: MsgId
    fixmedins_code: Annotated[str, Meta(min_length=1, max_length=32)]
    input: HsaInput
    infno: Annotated[str, Meta(max_length=8)] | None = None
    med_type: Annotated[str, Meta(max_length=8)] | None = None


message_decoder = msgspec.json.Decoder(HsaMessage)

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

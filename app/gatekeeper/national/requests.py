"""The ``input`` of the national platform's messages other than fee uploads, as msgspec
Structs, decoded by ``infno`` once the wrapper is read (``input.data`` and
``input.mdtrtinfo`` are kept raw by :class:`~app.gatekeeper.national.schemas.HsaInput`).

Only the fields ybgate reads are declared; every other field of the specification is
skipped. ``null`` in an optional field is absent. Where clients write one object where
the specification has a list (``patient_dtos``, ``fsi_encounter_dtos`` of 3101; ``data``
of 2302), both are read.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from app.gatekeeper.national.schemas import NO_AMOUNT, Code, Short, Sn

Text = Annotated[str, Meta(max_length=64)]
Required = Annotated[str, Meta(min_length=1, max_length=64)]
Day = Annotated[str, Meta(max_length=32)]


class StaffQuery(msgspec.Struct, gc=False):
    """5102 (医执人员信息查询): by code, or by certificate (``psn_cert_type`` +
    ``certno``: the certificate number of the YB code)."""

    prac_psn_code: Code | None = None
    psn_cert_type: Text | None = None
    certno: Text | None = None
    psn_name: Annotated[str, Meta(max_length=100)] | None = None


class MdtrtInfo(msgspec.Struct, gc=False):
    """``input.mdtrtinfo`` of 2201/2203/2401: the visit and its 医疗类别."""

    mdtrt_id: Short | None = None
    med_type: Annotated[str, Meta(max_length=8)] | None = None


class OutpatientWithdrawal(msgspec.Struct, gc=False):
    """2205 (门诊费用明细信息撤销) ``input.data``; ``chrg_bchno`` "0000": every line."""

    mdtrt_id: Required
    chrg_bchno: Required


class InpatientWithdrawal(msgspec.Struct, gc=False):
    """One item of 2302 (住院费用明细信息撤销) ``input.data``; ``feedetl_sn`` "0000":
    every line of the visit."""

    feedetl_sn: Sn
    mdtrt_id: Required


class Order(msgspec.Struct, gc=False):
    """3101/3102 ``fsi_order_dtos[]``: an order, who ordered it, when, what it cost."""

    rx_id: Code | int | None = None
    drord_dr_codg: Code | None = None
    drord_begn_date: Day | None = None
    sumamt: msgspec.Raw = NO_AMOUNT


class Operation(msgspec.Struct, gc=False):
    """3101/3102 ``fsi_operation_dtos[]``: the surgeon and the anaesthetist, and when."""

    oper_dr_code: Code | None = None
    anst_dr_code: Code | None = None
    oprn_oprt_date: Day | None = None


class Encounter(msgspec.Struct, gc=False):
    """3101/3102 ``fsi_encounter_dtos``: one visit (``medins_id``: the caller)."""

    mdtrt_id: Text | None = None
    medins_id: Annotated[str, Meta(max_length=32)] | None = None
    med_type: Annotated[str, Meta(max_length=8)] | None = None
    adm_date: Day | None = None
    dr_codg: Code | None = None
    fsi_order_dtos: list[Order] | None = None
    # Some clients send "" (a string property left empty) where there is no operation.
    fsi_operation_dtos: list[Operation] | Annotated[str, Meta(max_length=0)] | None = None


class Patient(msgspec.Struct, gc=False):
    """3101/3102 ``patient_dtos``: a patient and its encounters."""

    patn_id: Text | int | None = None
    fsi_encounter_dtos: list[Encounter] | Encounter | None = None


class AuditRequest(msgspec.Struct, gc=False):
    """3101 (明细审核事前事中分析) / 3102 (明细审核事后分析) ``input.data``."""

    patient_dtos: list[Patient] | Patient
    task_id: Annotated[str, Meta(max_length=64)] | None = None


staff_decoder = msgspec.json.Decoder(StaffQuery)
mdtrtinfo_decoder = msgspec.json.Decoder(MdtrtInfo)
outpatient_withdrawal_decoder = msgspec.json.Decoder(OutpatientWithdrawal)
inpatient_withdrawal_decoder = msgspec.json.Decoder(InpatientWithdrawal | list[InpatientWithdrawal])
audit_decoder = msgspec.json.Decoder(AuditRequest)

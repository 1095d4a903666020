"""2205 (门诊费用明细信息撤销) and 2302 (住院费用明细信息撤销): lines withdrawn.

2205 names a visit and a charge batch (``input.data.mdtrt_id``, ``chrg_bchno``); 2302 a
visit and a line (``input.data``: one ``{feedetl_sn, mdtrt_id}`` or a list of them). The
value "0000" (batch or line) means every line of the visit. The lines are found among
the institution's remembered lines (``decisions/recent.py``: each decided line with its
visit, id, batch and decision); each one found becomes a withdrawal record naming its
decision and line; a target with no remembered line is recorded too, without a decision.
The records are journaled like decisions (``decisions/withdrawals.py``) before the
answer (``infcode`` 0) leaves, and a decision read back shows its withdrawn lines with
the withdrawing ``msgid``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.gatekeeper.decisions.recent import LineMemory
from app.gatekeeper.decisions.withdrawals import Withdrawn
from app.gatekeeper.national.effects import After
from app.gatekeeper.national.lines import sn_text
from app.gatekeeper.national.render import Malformed, decode_part, ok_answer
from app.gatekeeper.national.requests import (
    InpatientWithdrawal,
    inpatient_withdrawal_decoder,
    outpatient_withdrawal_decoder,
)
from app.gatekeeper.national.schemas import HsaMessage

WITHDRAWAL_INFNOS = frozenset({"2205", "2302"})
EVERY = "0000"

# (mdtrt_id, feedetl_sn or None, chrg_bchno or None)
Target = tuple[str, str | None, str | None]


def targets_of(infno: str, message: HsaMessage) -> list[Target]:
    """What the message withdraws (Malformed naming a bad field)."""
    if infno == "2205":
        one = decode_part(outpatient_withdrawal_decoder, message.input.data, "input.data")
        return [(one.mdtrt_id, None, one.chrg_bchno)]
    data = decode_part(inpatient_withdrawal_decoder, message.input.data, "input.data")
    items: list[InpatientWithdrawal] = data if isinstance(data, list) else [data]
    if not items:
        raise Malformed("input.data", "须至少一条撤销的费用明细")
    return [(it.mdtrt_id, sn_text(it.feedetl_sn), None) for it in items]


def withdraw(
    infno: str,
    message: HsaMessage,
    inst: str,
    memory: LineMemory,
    new_id: Callable[[], tuple[str, int]],
    received: str,
) -> tuple[bytes, After]:
    """The answer and the withdrawal records to journal."""
    ms = int(time.time() * 1000)
    records: list[Withdrawn] = []
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for mdtrt_id, sn, chrg in targets_of(infno, message):
        matched = 0
        for decision_id, line_sn, line_chrg, _ in memory.lines(inst, mdtrt_id):
            hit = sn in (EVERY, line_sn) if sn is not None else chrg in (EVERY, line_chrg)
            if not hit or (decision_id, line_sn) in seen:
                continue
            seen.add((decision_id, line_sn))
            matched += 1
            chrg_bchno = line_chrg or None
            record = (decision_id, line_sn, mdtrt_id, chrg_bchno, message.msgid, infno, ms)
            records.append(Withdrawn(new_id()[0], inst, *record))
            found.append({"decision_id": decision_id, "feedetl_sn": line_sn, "mdtrt_id": mdtrt_id})
        if not matched:
            records.append(
                Withdrawn(new_id()[0], inst, None, sn, mdtrt_id, chrg, message.msgid, infno, ms)
            )
    output = {"ybgate": {"withdrawn": found, "lines": len(found)}}
    return ok_answer(received, output), After(inst, withdrawals=records)

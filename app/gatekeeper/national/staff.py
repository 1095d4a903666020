"""``POST /v1/hsa`` with ``infno`` 5102 (医执人员信息查询): a staff member's standing today.

By code (``input.data.prac_psn_code``: the YB code or a national alias) or by
certificate (``psn_cert_type`` + ``certno``: the certificate number of the YB code, i.e.
the code without its ``YB``; ``psn_name`` optional, echoed, not checked: the gatekeeper
holds no names). ``begntime``/``endtime`` are the run of days around today over which a
line would be judged as today (``app.registry.status``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.gatekeeper.host.runtime import Host
from app.gatekeeper.national.render import SHANGHAI, Malformed, decode_part, ok_answer
from app.gatekeeper.national.requests import StaffQuery, staff_decoder
from app.gatekeeper.national.schemas import HsaMessage
from app.registry.memo import STATS as MEMO
from app.registry.status import status_window


def _code(query: StaffQuery) -> str:
    if query.prac_psn_code:
        return query.prac_psn_code
    if not query.certno:
        field = "certno" if query.psn_cert_type else "prac_psn_code"
        raise Malformed(f"input.data.{field}", "field required")
    if not query.psn_cert_type:
        raise Malformed("input.data.psn_cert_type", "field required")
    certno = query.certno.strip().upper()
    return certno if certno.startswith("YB") else "YB" + certno


def staff_query(app: Host, inst: str, message: HsaMessage, received: str) -> bytes:
    """5102: the eligibility judgement today at the token's institution, with the
    window of the current status."""
    query = decode_part(staff_decoder, message.input.data, "input.data")
    code = _code(query)
    today = datetime.now(SHANGHAI).date()
    store = app.store
    with store.lock:
        reg = store.registry
        ctx = reg.contexts.get(inst) or reg.context(inst)
        result = ctx.judge_code(code, today)[0]
        MEMO.lookups += 1
        entry = None if code in ctx.nonconforming_on(today) else reg.physicians.get(code)
        first, last = status_window(entry, ctx.state, inst, today, result.reason)
    row: dict[str, Any] = {
        "prac_psn_code": code,
        "hi_dr_flag": "1" if result.ok else "0",
        "begntime": None if first is None else first.isoformat(),
        "endtime": None if last is None else last.isoformat(),
        "chg_rea": result.reason,
    }
    if not query.prac_psn_code:
        row.update(psn_cert_type=query.psn_cert_type, certno=query.certno, psn_name=query.psn_name)
    return ok_answer(received, {"data": [row]})

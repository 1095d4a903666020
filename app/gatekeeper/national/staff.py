"""``POST /v1/hsa`` with ``infno`` 5102 (医执人员信息查询): a staff member's standing today."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.gatekeeper.host.runtime import Host
from app.gatekeeper.national.render import SHANGHAI, Malformed, now_text
from app.gatekeeper.national.schemas import HsaMessage
from app.registry.memo import STATS as MEMO
from app.registry.status import status_window


def staff_query(app: Host, inst: str, message: HsaMessage, received: str) -> bytes:
    """5102: the eligibility judgement today at the token's institution, with the
    current status window."""
    if message.input.data is None:
        raise Malformed("input.data", "field required")
    code = message.input.data.prac_psn_code
    today = datetime.now(SHANGHAI).date()
    store = app.store
    with store.lock:
        reg = store.registry
        ctx = reg.contexts.get(inst) or reg.context(inst)
        result = ctx.judge_code(code, today)[0]
        MEMO.lookups += 1
        entry = None if code in ctx.nonconforming else reg.physicians.get(code)
        first, last = status_window(entry, ctx.state, inst, today, result.reason)
    row = {
        "prac_psn_code": code,
        "hi_dr_flag": "1" if result.ok else "0",
        "begntime": None if first is None else first.isoformat(),
        "endtime": None if last is None else last.isoformat(),
        "chg_rea": result.reason,
    }
    answer = {
        "infcode": 0,
        "inf_refmsgid": None,
        "refmsg_time": received,
        "respond_time": now_text(),
        "err_msg": None,
        "warn_msg": None,
        "output": {"data": [row]},
    }
    return msgspec.json.encode(answer)

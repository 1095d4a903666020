"""``POST /v1/settlements/validate`` without I/O: the decision on a body.

Both servers of the hot path run it: the ASGI app (``app.gatekeeper.app``, also what an
embedding app mounts) and the inline path of the gatekeeper's HTTP protocol
(``app.gatekeeper.server.inline``), so the two give the same answers by construction.

Before it, ``edge.auth.admit`` runs on the headers alone (one Authorization header, a
known bearer, a Content-Length within the bound). :func:`decide` turns the body into the
response bytes and the decision-log item: msgspec decode -> 422/403 checks -> the
judgement under the store's lock (``decide.py``) -> totals -> response bytes.
"""

from __future__ import annotations

import time

import msgspec

from app.core.errors import Forbidden, ValidationFailed, field_error
from app.gatekeeper.decisions.ids import Uuid7
from app.gatekeeper.decisions.spill import Item, inputs_json
from app.gatekeeper.edge.asgi import decode_error, too_deep
from app.gatekeeper.host.runtime import Runtime
from app.gatekeeper.plain.checks import DATE_MIN, DAYS, bad_service_date, latest_day
from app.gatekeeper.plain.decide import check_line_ids, judge_lines, money, render, settle
from app.gatekeeper.plain.schemas import request_decoder
from app.registry.compact import Registry
from app.registry.judge import ACCEPTED, LineResult
from app.registry.memo import STATS as MEMO
from app.registry.store import RegistryStore

VALIDATE_PATH = "/v1/settlements/validate"
_time = time.time
_decode = request_decoder.decode

# (response body, decision-log item, line results, number of accepted lines)
Decided = tuple[bytes, Item, list[LineResult], int]


def decide(
    rt: Runtime, store: RegistryStore, reg: Registry, ids: Uuid7, inst: str, body: bytes
) -> Decided:
    """The decision on ``body`` for institution ``inst`` (DomainError: a problem)."""
    try:
        req = _decode(body)
    except msgspec.MsgspecError as exc:
        raise decode_error(exc) from None
    except RecursionError:
        raise too_deep() from None
    lines = req.lines
    n = len(lines)
    if not 0 < n <= rt.max_lines:
        raise ValidationFailed([field_error("lines", f"1 to {rt.max_lines} lines")])
    last = DAYS.latest if _time() < DAYS.until else latest_day()
    day0 = lines[0].service_date
    if not DATE_MIN <= day0 <= last:  # (before the 403, as it always was)
        raise bad_service_date(0, day0)
    if req.institution_code != inst:
        raise Forbidden("This token may validate settlements of its own institution only.")
    with store.lock:
        reg = store.current or reg
        ctx = reg.contexts.get(inst) or reg.context(inst)
        parts = judge_lines(ctx, lines, last)
        version = reg.version
    MEMO.lookups += n
    if len(set(parts[0::2])) != n:
        check_line_ids(parts)
    results: list[LineResult] = parts[1::2]  # type: ignore[assignment]
    n_accepted = results.count(ACCEPTED)
    outcome, acc, rej = settle(results, [ln.amount for ln in lines], n_accepted)
    accepted, rejected = money(acc), money(rej)
    did, ms = ids()
    sid = req.settlement_id
    out = render(sid, did, version, outcome, accepted, rejected, results, parts, body)
    item = (did, ms, sid, inst, version, outcome, accepted, rejected, out, inputs_json(lines))
    return out, item, results, n_accepted

"""``POST /v1/hsa``: the national platform's 2204/2301 fee uploads and 5102 staff query.

The same machinery as ``/v1/settlements/validate``: the bearer check of ``edge.auth``
(or the gateway's signature headers, ``signed.py``),
the institution's memo tables of the registry (``InstContext``) under the store's lock,
``decide.settle`` for the totals, the decision log (the stored decision is the plain
format's response with ``settlement_id`` = ``msgid``, so a decision reads back the same
whichever format asked for it), and the metrics. What differs is the wrapper: a malformed
message is HTTP 200 with ``infcode`` -1 and ``err_msg`` naming the field's path; auth,
a foreign ``fixmedins_code``, an oversized body and a not-ready gatekeeper stay HTTP
problems.

Fee uploads are idempotent on ``msgid`` per institution (``decisions.idempotency``): the
answer is judged, then its record claimed; a message whose record exists is answered
from that record (same decision id, same results) and not logged again.

The usual message (plain amounts, no escapes) is scanned, judged on the same memo tables
and written in C (``fast.py``, ``csrc/``); everything else, and every malformed
message, goes through the reference below (msgspec, :func:`fee_judge`). Both give the
same bytes (``tests/gatekeeper/test_hsa_fast.py``).
"""

from __future__ import annotations

import time
from datetime import date

import msgspec

from app.core.errors import (
    DomainError,
    Forbidden,
    NotReady,
    PayloadTooLarge,
)
from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.decisions.journal import JournalUnavailable
from app.gatekeeper.decisions.spill import Item
from app.gatekeeper.edge.asgi import (
    ClientGone,
    InternalError,
    MethodNotAllowed,
    Receive,
    Scope,
    Send,
    decode_error,
    read_body,
    send_bytes,
    send_problem,
)
from app.gatekeeper.host.runtime import Host, Runtime
from app.gatekeeper.national.amounts import AmountError, canonical_amounts, totals
from app.gatekeeper.national.fast import fast_judge, scan
from app.gatekeeper.national.fee import (
    EMERGENCY_MED_TYPES,
    TIME_MESSAGE,
    FeeDecision,
    fee_inputs_json,
    fingerprint,
    service_days,
)
from app.gatekeeper.national.render import (
    RESULT_CHAR,
    Malformed,
    answer_bytes,
    fee_answer,
    malformed_answer,
    now_text,
)
from app.gatekeeper.national.schemas import FeeDetail, HsaMessage, message_decoder
from app.gatekeeper.national.signed import admit_hsa
from app.gatekeeper.national.staff import staff_query
from app.gatekeeper.plain.decide import money, render, render_around
from app.registry.judge import ACCEPTED, ALL_RESULTS, LineResult
from app.registry.memo import STATS as MEMO
from app.registry.memo import InstContext

HSA_PATH = "/v1/hsa"
DEEP_MESSAGE = "JSON 嵌套过深"
_perf = time.perf_counter
_encode = msgspec.json.encode


def _malformed_from(exc: msgspec.MsgspecError) -> Malformed:
    err = decode_error(exc).extra["errors"][0]
    path, message = err["field"], err["message"]
    if path.endswith(".fee_ocur_time") and message != "field required":
        message = TIME_MESSAGE
    return Malformed(path, message)


def judge_fees(
    ctx: InstContext, fees: list[FeeDetail], days: dict[str, date], emergency: int | None
) -> list[str]:
    """Line parts (sn, result, sn, result...) as ``decide.judge_lines`` gives them.
    ``emergency``: 0/1 for every line (2204), None: each line's ``med_type`` (2301)."""
    # The memo's fast path holds only within its epoch (app/registry/memo.py).
    if len(days) == 1 and emergency is not None and ctx.epoch == ctx.budget[1]:
        try:
            table = ctx.tables[next(iter(days.values()))]
            parts: list[str] = []
            add = parts.append
            for ln in fees:
                add(ln.feedetl_sn)
                add(table[ln.bilg_dr_codg][emergency])
            return parts
        except KeyError:  # a memo miss: the general path fills the memo
            pass
    judge = ctx.judge_code
    parts = []
    for ln in fees:
        e = emergency if emergency is not None else ln.med_type in EMERGENCY_MED_TYPES
        parts.append(ln.feedetl_sn)
        parts.append(judge(ln.bilg_dr_codg, days[ln.fee_ocur_time[:10]])[e])
    return parts


def _totals(
    results: list[LineResult], amounts: list[str | None], floats: list[float] | None
) -> tuple[str, str, str]:
    outcome, acc, rej = totals(results, amounts, floats)
    return outcome, money(acc), money(rej)


async def handle_hsa(app: Host, scope: Scope, receive: Receive, send: Send) -> None:
    t0 = _perf()
    op = "hsa"
    try:
        if scope["method"] != "POST":
            raise MethodNotAllowed("Use POST.", allow="POST")
        rt, reg = app.rt, app.store.current
        if rt is None or reg is None:
            raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
        inst = await admit_hsa(rt, reg, scope)  # bearer and/or signature, Content-Length
        msg = await receive()
        body = msg.get("body", b"")
        if msg.get("more_body"):
            body = await read_body(scope, msg, receive, rt.max_body)
        elif len(body) > rt.max_body:
            raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
        op, out, outcome, fee = begin(app, rt, inst, body)
        if fee is not None:
            prior = await rt.idempotency.claim(inst, fee.msgid, fee.rec)
            out, outcome, item = await _answer_claimed(rt, fee, prior)
            if item is not None:
                app.metrics.count_lines(fee.results, fee.results.count(ACCEPTED))
    except DomainError as err:
        await send_problem(send, err, HSA_PATH)
        app.metrics.observe_op(op, str(err.status), _perf() - t0)
        return
    except ClientGone:
        return
    except Exception:  # a bug, not the request
        app.log_exception("hsa failed")
        await send_problem(send, InternalError("The decision failed."), HSA_PATH)
        app.metrics.observe_op(op, "500", _perf() - t0)
        return
    await send_bytes(send, 200, out)
    app.metrics.observe_op(op, outcome, _perf() - t0)


def begin(
    app: Host, rt: Runtime, inst: str, body: bytes, *, fast: bool = True
) -> tuple[str, bytes, str, FeeDecision | None]:
    """(operation, answer, outcome, fee upload to claim): everything of a message up to
    its msgid claim, without I/O. A fee upload's answer comes from :func:`claimed`. The
    ASGI handler and the inline protocol (``server.inline``) both run it. ``fast=False``:
    the reference alone (what the C fast path is tested against)."""
    received = now_text()
    op = "hsa"
    try:
        scanned = scan(body, rt.max_lines) if fast and rt.hsa_fast else None
        if scanned is not None:  # the fast subset (fast.py), valid as it stands
            if scanned.fixmedins_code != inst:
                raise Forbidden("This token may send messages of its own institution only.")
            judged = fast_judge(app, inst, scanned, body, received)
            if judged is not None:
                return f"hsa_{scanned.infno}", b"", "", judged
        try:
            message = message_decoder.decode(body)
        except msgspec.MsgspecError as exc:
            raise _malformed_from(exc) from None
        except RecursionError:  # deeper than msgspec goes, in a field it would skip
            raise Malformed("body", DEEP_MESSAGE) from None
        if message.fixmedins_code != inst:
            raise Forbidden("This token may send messages of its own institution only.")
        op = f"hsa_{message.infno}"
        if message.infno in ("2204", "2301"):
            return op, b"", "", fee_judge(app, rt, inst, message, body, received)
        if message.infno == "5102":
            return op, staff_query(app, inst, message, received), "answered", None
        op = "hsa"
        raise Malformed("infno", "须为 2204、2301 或 5102")
    except Malformed as err:
        return op, malformed_answer(err, received), "malformed", None


def fee_judge(
    app: Host, rt: Runtime, inst: str, message: HsaMessage, body: bytes, received: str
) -> FeeDecision:
    """A 2204/2301 message judged, its msgid record made (not claimed yet)."""
    fees = message.input.feedetail
    if fees is None:
        raise Malformed("input.feedetail", "field required")
    n = len(fees)
    if not 0 < n <= rt.max_lines:
        raise Malformed("input.feedetail", f"须为 1 至 {rt.max_lines} 条费用明细")
    fee = FeeDecision(inst, message.msgid, body, fees)
    try:
        fee.amounts, floats = canonical_amounts([ln.det_item_fee_sumamt for ln in fees])
    except AmountError as err:
        raise Malformed(f"input.feedetail[{err.index}].det_item_fee_sumamt", err.message) from None
    fee.days = days = service_days(fees)
    if message.infno == "2204":
        fee.emergency = 1 if message.med_type in EMERGENCY_MED_TYPES else 0
    store = app.store
    with store.lock:
        reg = store.current
        assert reg is not None
        ctx = reg.contexts.get(inst) or reg.context(inst)
        fee.parts = parts = judge_fees(ctx, fees, days, fee.emergency)
        fee.version = reg.version
    MEMO.lookups += n
    fee.sns = sns = parts[0::2]
    if len(set(sns)) != n:
        seen: set[str] = set()
        for i, sn in enumerate(sns):
            if sn in seen:
                raise Malformed(f"input.feedetail[{i}].feedetl_sn", f"feedetl_sn {sn!r} 重复")
            seen.add(sn)
    results: list[LineResult] = parts[1::2]  # type: ignore[assignment]
    fee.results = results
    fee.summed = _totals(results, fee.amounts, floats)
    did, ms = app.new_id()
    codes = "".join(map(RESULT_CHAR.__getitem__, results))
    fee.rec = Record(fingerprint(body), did, ms, fee.version, received, now_text(), codes)
    return fee


def claimed(fee: FeeDecision, prior: Record | None) -> tuple[bytes, str, Item | None]:
    """(answer, outcome, decision to log) once the msgid is claimed: ``prior`` is the
    record an earlier message left (answered from it, not logged again)."""
    rec, fast = fee.rec, fee.fast
    if prior is not None:
        if prior.body_hash != rec.body_hash:
            err = Malformed("msgid", "同一 msgid 已用于内容不同的报文 (24 小时内)")
            return malformed_answer(err, rec.refmsg_time), "malformed", None
        if fast is not None:  # the ids and amounts, read by the reference
            fees = message_decoder.decode(fee.body).input.feedetail or []
            fee.sns = [ln.feedetl_sn for ln in fees]
            fee.amounts = canonical_amounts([ln.det_item_fee_sumamt for ln in fees])[0]
        results = [ALL_RESULTS[ord(c) - 65] for c in prior.results]
        summed = _totals(results, fee.amounts, None)
        escape = b"\\" in fee.body
        answer = fee_answer(fee.sns, fee.amounts, results, prior, summed, escape)
        return answer, "replayed", None
    outcome, acc, rej = fee.summed
    did, ms, version = rec.decision_id, rec.decided_ms, fee.version
    if fast is not None:
        lines, plain_lines, inputs, err_json = fast
        plain = render_around(fee.msgid, did, version, outcome, acc, rej, plain_lines)
        answer = answer_bytes(lines, err_json, rec, fee.summed)
    else:
        plain = render(fee.msgid, did, version, outcome, acc, rej, fee.results, fee.parts, fee.body)
        inputs = fee_inputs_json(fee.fees, fee.days, fee.emergency)
        answer = fee_answer(fee.sns, fee.amounts, fee.results, rec, fee.summed, b"\\" in fee.body)
    item = (did, ms, fee.msgid, fee.inst, version, outcome, acc, rej, plain, inputs)
    return answer, outcome, item


async def _answer_claimed(
    rt: Runtime, fee: FeeDecision, prior: Record | None
) -> tuple[bytes, str, Item | None]:
    """:func:`claimed`, then the decision kept (:func:`_keep`). Whatever fails before the
    decision is kept (a bug included, or the request cancelled) releases the msgid
    claimed here, so that the message sent again is judged, not refused as a repeat."""
    try:
        out, outcome, item = claimed(fee, prior)
        if item is not None:
            await _keep(rt, fee, item)
    except BaseException:
        if prior is None:
            await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
        raise
    return out, outcome, item


async def _keep(rt: Runtime, fee: FeeDecision, item: Item) -> None:
    """The decision in the log's queue and the journal before the answer, else its msgid
    record released and a 503."""
    if rt.queue_decisions and not rt.log.offer(item) and not await rt.log.offer_or_wait(item):
        await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
        raise NotReady("The decision log cannot keep up; retry shortly.")
    try:  # in the journal before the answer (crash safety, see decisions/journal.py)
        await rt.journal.add(item)
    except JournalUnavailable:
        await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
        raise NotReady("The decision journal cannot be written; retry shortly.") from None

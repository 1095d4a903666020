"""``POST /v1/hsa``: the national platform's 2204/2301 fee uploads and 5102 staff query.

The same machinery as ``/v1/settlements/validate``: the bearer check of ``routes.py``,
the institution's memo tables of the registry (``InstContext``) under the store's lock,
``decide.settle`` for the totals, the decision log (the stored decision is the plain
format's response with ``settlement_id`` = ``msgid``, so a decision reads back the same
whichever format asked for it), and the metrics. What differs is the wrapper: a malformed
message is HTTP 200 with ``infcode`` -1 and ``err_msg`` naming the field's path; auth,
a foreign ``fixmedins_code``, an oversized body and a not-ready gatekeeper stay HTTP
problems.

Fee uploads are idempotent on ``msgid`` per institution (``idempotency.py``): the
answer is judged, then its record claimed; a message whose record exists is answered
from that record (same decision id, same results) and not logged again.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from app.core.errors import (
    DomainError,
    Forbidden,
    NotReady,
    PayloadTooLarge,
    ValidationFailed,
)
from app.gatekeeper.decide import json_inner, money, render, settle
from app.gatekeeper.hsa_amounts import AmountError, canonical_amounts, exact_totals
from app.gatekeeper.hsa_schemas import (
    FeeDetail,
    HsaMessage,
    fee_input_decoder,
    message_decoder,
    staff_input_decoder,
)
from app.gatekeeper.http import (
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
from app.gatekeeper.idempotency import Record
from app.gatekeeper.routes import authenticate
from app.registry.compact import InstContext
from app.registry.judge import ACCEPTED, ALL_RESULTS, LineResult
from app.registry.status import status_window

if TYPE_CHECKING:
    from app.gatekeeper.app import GatekeeperApp, Runtime

HSA_PATH = "/v1/hsa"
EMERGENCY_MED_TYPES = frozenset({"13", "24"})
SHANGHAI = ZoneInfo("Asia/Shanghai")
_perf = time.perf_counter
_json = msgspec.json.encode
_CHAR = {r: chr(65 + i) for i, r in enumerate(ALL_RESULTS)}


def _q(s: str | None) -> str:
    return "null" if s is None else f'"{s}"'


# Each result's tail of a line in output.result: closes the line object.
_TAIL = {
    r: f',"ybgate_decision":"{r.decision}","ybgate_reason":{_q(r.reason)},'
    f'"ybgate_overridden":{_q(r.overridden)}}}'
    for r in ALL_RESULTS
}
_days: dict[str, date] = {}


class Malformed(Exception):
    """A malformed message: answered with infcode -1 naming ``path``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _now() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _malformed_from(exc: msgspec.MsgspecError, prefix: str = "") -> Malformed:
    err = decode_error(exc).extra["errors"][0]
    path = err["field"]
    if prefix:
        path = prefix if path == "body" else f"{prefix}.{path}"
    return Malformed(path, err["message"])


def _day(prefix: str) -> date:
    d = _days.get(prefix)
    if d is None:
        d = date.fromisoformat(prefix)  # ValueError: no such day
        if len(_days) > 10_000:
            _days.clear()
        _days[prefix] = d
    return d


def service_days(fees: list[FeeDetail]) -> dict[str, date]:
    """The distinct date parts of ``fee_ocur_time`` -> date; Malformed naming the first
    line whose date does not exist (the shape is checked by the decoder)."""
    out: dict[str, date] = {}
    for prefix in {ln.fee_ocur_time[:10] for ln in fees}:
        try:
            out[prefix] = _day(prefix)
        except ValueError:
            i = next(i for i, ln in enumerate(fees) if ln.fee_ocur_time.startswith(prefix))
            raise Malformed(f"input.feedetail[{i}].fee_ocur_time", "没有这一天") from None
    return out


def judge_fees(
    ctx: InstContext, fees: list[FeeDetail], days: dict[str, date], emergency: int | None
) -> list[str]:
    """Line parts (sn, result, sn, result...) as ``decide.judge_lines`` gives them.
    ``emergency``: 0/1 for every line (2204), None: each line's ``med_type`` (2301)."""
    if len(days) == 1 and emergency is not None:
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


def _totals(results: list[LineResult], amounts: list[str | None]) -> tuple[str, str, str]:
    n_accepted = results.count(ACCEPTED)
    try:
        outcome, acc, rej = settle(results, amounts, n_accepted)
    except ValidationFailed:  # 16 integer digits: past the plain format's bound
        oks = [r.ok for r in results]
        outcome = "accept" if all(oks) else "reject" if not any(oks) else "partial"
        acc, rej = exact_totals(amounts, oks)
    return outcome, money(acc), money(rej)


def fee_answer(
    sns: list[str],
    amounts: list[str | None],
    results: list[LineResult],
    rec: Record,
    totals: tuple[str, str, str],
    escape: bool,
) -> bytes:
    """The 2204/2301 answer. ``escape``: the ids need JSON escaping (the request body
    had a backslash; see ``decide.render``)."""
    rejected = [(s, r.reason) for s, r in zip(sns, results, strict=True) if not r.ok]
    if rejected:
        listed = "; ".join(f"feedetl_sn={s} {reason}" for s, reason in rejected)
        err = _json(f"{len(rejected)} 条费用明细医保医师校验未通过: {listed}").decode()
    else:
        err = "null"
    if escape:
        sns = [json_inner(s) for s in sns]
    if None in amounts:
        lines = [
            f'{{"feedetl_sn":"{s}","det_item_fee_sumamt":{_q(a)}{_TAIL[r]}'
            for s, a, r in zip(sns, amounts, results, strict=True)
        ]
    else:
        lines = [
            f'{{"feedetl_sn":"{s}","det_item_fee_sumamt":"{a}"{_TAIL[r]}'
            for s, a, r in zip(sns, amounts, results, strict=True)
        ]
    outcome, acc, rej = totals
    return (
        f'{{"infcode":{-1 if rejected else 0},"inf_refmsgid":"{rec.decision_id}",'
        f'"refmsg_time":"{rec.refmsg_time}","respond_time":"{rec.respond_time}",'
        f'"err_msg":{err},"warn_msg":null,"output":{{"result":[{",".join(lines)}],'
        f'"ybgate":{{"decision_id":"{rec.decision_id}",'
        f'"registry_version":{rec.registry_version},"outcome":"{outcome}",'
        f'"accepted_amount":"{acc}","rejected_amount":"{rej}"}}}}}}'
    ).encode()


def malformed_answer(err: Malformed, received: str) -> bytes:
    body = {
        "infcode": -1,
        "inf_refmsgid": None,
        "refmsg_time": received,
        "respond_time": _now(),
        "err_msg": f"报文格式错误: {err.path}: {err.message}",
        "warn_msg": None,
        "output": None,
    }
    return _json(body)


async def handle_hsa(app: GatekeeperApp, scope: Scope, receive: Receive, send: Send) -> None:
    t0 = _perf()
    op = "hsa"
    try:
        if scope["method"] != "POST":
            raise MethodNotAllowed("Use POST.", allow="POST")
        rt, reg = app.rt, app.store.current
        if rt is None or reg is None:
            raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
        auth = dict(scope["headers"]).get(b"authorization")
        inst = reg.bearer_cache.get(auth) if auth is not None else None
        if inst is None:
            inst = authenticate(reg, auth)
        msg = await receive()
        body = msg.get("body", b"")
        if msg.get("more_body"):
            body = await read_body(scope, msg, receive, rt.max_body)
        elif len(body) > rt.max_body:
            raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
        received = _now()
        try:
            try:
                message = message_decoder.decode(body)
            except msgspec.MsgspecError as exc:
                raise _malformed_from(exc) from None
            if message.fixmedins_code != inst:
                raise Forbidden("This token may send messages of its own institution only.")
            op = f"hsa_{message.infno}"
            if message.infno in ("2204", "2301"):
                out, outcome = await fee_upload(app, rt, inst, message, body, received)
            elif message.infno == "5102":
                out, outcome = staff_query(app, inst, message, received), "answered"
            else:
                op = "hsa"
                raise Malformed("infno", "须为 2204、2301 或 5102")
        except Malformed as err:
            out, outcome = malformed_answer(err, received), "malformed"
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


async def fee_upload(
    app: GatekeeperApp, rt: Runtime, inst: str, message: HsaMessage, body: bytes, received: str
) -> tuple[bytes, str]:
    """A 2204/2301 message: (answer, outcome for the metrics)."""
    try:
        fees = fee_input_decoder.decode(message.input).feedetail
    except msgspec.MsgspecError as exc:
        raise _malformed_from(exc, "input") from None
    n = len(fees)
    if not 0 < n <= rt.max_lines:
        raise Malformed("input.feedetail", f"须为 1 至 {rt.max_lines} 条费用明细")
    try:
        amounts = canonical_amounts([ln.det_item_fee_sumamt for ln in fees])
    except AmountError as err:
        raise Malformed(f"input.feedetail[{err.index}].det_item_fee_sumamt", err.message) from None
    days = service_days(fees)
    emergency = None
    if message.infno == "2204":
        emergency = 1 if message.med_type in EMERGENCY_MED_TYPES else 0
    store = app.store
    with store.lock:
        reg = store.current
        assert reg is not None
        ctx = reg.contexts.get(inst) or reg.context(inst)
        parts = judge_fees(ctx, fees, days, emergency)
        version = reg.version
    sns = parts[0::2]
    if len(set(sns)) != n:
        seen: set[str] = set()
        for i, sn in enumerate(sns):
            if sn in seen:
                raise Malformed(f"input.feedetail[{i}].feedetl_sn", f"feedetl_sn {sn!r} 重复")
            seen.add(sn)
    results: list[LineResult] = parts[1::2]  # type: ignore[assignment]
    totals = _totals(results, amounts)
    did, ms = app.new_id()
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    codes = "".join(map(_CHAR.__getitem__, results))
    rec = Record(digest, did, ms, version, received, _now(), codes)
    prior = await rt.idempotency.claim(inst, message.msgid, rec)
    escape = b"\\" in body
    if prior is not None:  # answered before: the same answer, not logged again
        if prior.body_hash != digest:
            raise Malformed("msgid", "同一 msgid 已用于内容不同的报文 (24 小时内)")
        results = [ALL_RESULTS[ord(c) - 65] for c in prior.results]
        answer = fee_answer(sns, amounts, results, prior, _totals(results, amounts), escape)
        return answer, "replayed"
    outcome, acc, rej = totals
    plain = render(message.msgid, did, version, outcome, acc, rej, results, parts, body)
    item = (did, ms, message.msgid, inst, version, outcome, acc, rej, plain)
    dlog = rt.log
    if len(dlog.queue) < dlog.limit:
        dlog.queue.append(item)
    elif not await dlog.offer_or_wait(item):
        await rt.idempotency.release(inst, message.msgid, rec)
        raise NotReady("The decision log cannot keep up; retry shortly.")
    app.metrics.count_lines(results, results.count(ACCEPTED))
    return fee_answer(sns, amounts, results, rec, totals, escape), outcome


def staff_query(app: GatekeeperApp, inst: str, message: HsaMessage, received: str) -> bytes:
    """5102: the eligibility judgement today at the token's institution, with the
    current status window."""
    try:
        code = staff_input_decoder.decode(message.input).data.prac_psn_code
    except msgspec.MsgspecError as exc:
        raise _malformed_from(exc, "input") from None
    today = datetime.now(SHANGHAI).date()
    store = app.store
    with store.lock:
        reg = store.registry
        ctx = reg.contexts.get(inst) or reg.context(inst)
        result = ctx.judge_code(code, today)[0]
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
        "respond_time": _now(),
        "err_msg": None,
        "warn_msg": None,
        "output": {"data": [row]},
    }
    return _json(answer)

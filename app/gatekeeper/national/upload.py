"""The reference decision of a 2204/2301 fee upload (what the C fast path is held to):
the lines read as clients write them (``lines.py``, ``amounts.py``), judged on the
institution's memo tables, refund lines given their original line's verdict, the msgid
record made (:func:`fee_judge`); then, once the msgid is claimed, the answer and the
decision to log (:func:`claimed`)."""

from __future__ import annotations

from datetime import date

from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.decisions.spill import Item
from app.gatekeeper.host.runtime import Host, Runtime
from app.gatekeeper.national.amounts import (
    AmountError,
    canonical_amounts,
    check_number,
    signed_money,
    totals,
)
from app.gatekeeper.national.fee import FeeDecision, fee_inputs_json, fingerprint, service_days
from app.gatekeeper.national.lines import emergencies, memory_text, refund_of, sn_text
from app.gatekeeper.national.render import (
    RESULT_CHAR,
    Malformed,
    answer_bytes,
    fee_answer,
    malformed_answer,
    now_text,
)
from app.gatekeeper.national.schemas import BOM, FeeDetail, HsaMessage, message_decoder
from app.gatekeeper.plain.decide import render, render_around
from app.registry.judge import ALL_RESULTS, LineResult, combine
from app.registry.memo import STATS as MEMO
from app.registry.memo import InstContext


def judge_fees(
    ctx: InstContext,
    sns: list[str],
    codes: list[str],
    fees: list[FeeDetail],
    days: dict[str, date],
    emergency: int | list[int],
) -> list[str]:
    """Line parts (sn, result, sn, result...) as ``decide.judge_lines`` gives them.
    ``emergency``: 0/1 for every line, or each line's flag (``lines.emergencies``)."""
    n = len(sns)
    parts = [""] * (2 * n)
    parts[0::2] = sns
    # The memo's fast path holds only within its epoch (app/registry/memo.py).
    if len(days) == 1 and isinstance(emergency, int) and ctx.epoch == ctx.budget[1]:
        try:
            table = ctx.tables[next(iter(days.values()))]
            parts[1::2] = [table[c][emergency] for c in codes]
            return parts
        except KeyError:  # a memo miss: the general path fills the memo
            pass
    judge = ctx.judge_code
    flags = [emergency] * n if isinstance(emergency, int) else emergency
    parts[1::2] = [
        judge(code, days[ln.fee_ocur_time[:10]])[e]
        for code, ln, e in zip(codes, fees, flags, strict=True)
    ]
    return parts


def judge_orders(
    ctx: InstContext,
    fees: list[FeeDetail],
    days: dict[str, date],
    emergency: int | list[int],
    parts: list[str],
) -> None:
    """Every line's ``orders_dr_code`` (受单/执行), when present and not empty, judged like
    ``bilg_dr_codg``: the line passes only when both pass (nhsa-2024 相关人员)."""
    flags = [emergency] * len(fees) if isinstance(emergency, int) else emergency
    for i, (ln, e) in enumerate(zip(fees, flags, strict=True)):
        if ln.orders_dr_code:
            second = ctx.judge_code(ln.orders_dr_code, days[ln.fee_ocur_time[:10]])[e]
            parts[2 * i + 1] = combine(parts[2 * i + 1], second)  # type: ignore[arg-type]


def _totals(
    results: list[LineResult], amounts: list[str | None], floats: list[float] | None
) -> tuple[str, str, str]:
    outcome, acc, rej = totals(results, amounts, floats)
    return outcome, signed_money(acc), signed_money(rej)


def _read_lines(fees: list[FeeDetail]) -> tuple[list[str | None], list[float] | None]:
    """The amounts (and, in the usual shape, as floats), counts and prices checked;
    Malformed naming the first bad one."""
    try:
        amounts, floats = canonical_amounts([ln.det_item_fee_sumamt for ln in fees])
    except AmountError as err:
        raise Malformed(f"input.feedetail[{err.index}].det_item_fee_sumamt", err.message) from None
    for i, ln in enumerate(fees):
        for name in ("cnt", "pric"):
            problem = check_number(getattr(ln, name))
            if problem is not None:
                raise Malformed(f"input.feedetail[{i}].{name}", problem)
    return amounts, floats


def fee_judge(
    app: Host,
    rt: Runtime,
    inst: str,
    infno: str,
    message: HsaMessage,
    body: bytes,
    received: str,
) -> FeeDecision:
    """A 2204/2301 message judged, its msgid record made (not claimed yet)."""
    fees = message.input.feedetail
    if fees is None:
        raise Malformed("input.feedetail", "field required")
    n = len(fees)
    if not 0 < n <= rt.max_lines:
        raise Malformed("input.feedetail", f"须为 1 至 {rt.max_lines} 条费用明细")
    fee = FeeDecision(inst, message.msgid, body, fees)
    fee.amounts, floats = _read_lines(fees)
    fee.days = days = service_days(fees)
    fee.emergency = emergencies(infno, message.med_type, fees, rt.visits.of(inst))
    fee.sns = sns = [sn_text(ln.feedetl_sn) for ln in fees]
    fee.codes = codes = [ln.bilg_dr_codg or "" for ln in fees]
    store = app.store
    with store.lock:
        reg = store.current
        assert reg is not None
        ctx = reg.contexts.get(inst) or reg.context(inst)
        fee.parts = parts = judge_fees(ctx, sns, codes, fees, days, fee.emergency)
        judge_orders(ctx, fees, days, fee.emergency, parts)
        fee.version = reg.version
    MEMO.lookups += n
    _refunds(rt, inst, fees, parts)
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
    letters = "".join(map(RESULT_CHAR.__getitem__, results))
    fee.rec = Record(fingerprint(body), did, ms, fee.version, received, now_text(), letters)
    fee.memory = memory_text(fees, sns, letters)
    return fee


def _refunds(rt: Runtime, inst: str, fees: list[FeeDetail], parts: list[str]) -> None:
    """A refund line whose original line is remembered takes that line's verdict."""
    for i, ln in enumerate(fees):
        init = refund_of(ln)
        if init is not None:
            found = rt.lines.verdict(inst, ln.mdtrt_id or "", init)
            if found is not None:
                parts[2 * i + 1] = ALL_RESULTS[ord(found[0]) - 65]


def decode(body: bytes) -> HsaMessage:
    """A message already decided once (a leading byte-order mark ignored)."""
    return message_decoder.decode(body[3:] if body.startswith(BOM) else body)


def claimed(fee: FeeDecision, prior: Record | None) -> tuple[bytes, str, Item | None]:
    """(answer, outcome, decision to log) once the msgid is claimed: ``prior`` is the
    record an earlier message left (answered from it, not logged again)."""
    rec, fast = fee.rec, fee.fast
    if prior is not None:
        if prior.body_hash != rec.body_hash:
            err = Malformed("msgid", "同一 msgid 已用于内容不同的报文 (24 小时内)")
            return malformed_answer(err, rec.refmsg_time), "malformed", None
        if fast is not None:  # the ids and amounts, read by the reference
            fees = decode(fee.body).input.feedetail or []
            fee.sns = [sn_text(ln.feedetl_sn) for ln in fees]
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
        inputs = fee_inputs_json(fee.fees, fee.codes, fee.days, fee.emergency)
        answer = fee_answer(fee.sns, fee.amounts, fee.results, rec, fee.summed, b"\\" in fee.body)
    item = (did, ms, fee.msgid, fee.inst, version, outcome, acc, rej, plain, inputs)
    return answer, outcome, item

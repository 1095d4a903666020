"""``POST /v1/hsa`` and ``POST /v1/hsa/{infno}``: the national platform's messages.

Fee uploads (2204/2301) are judged; 5102 (staff query), 3101/3102 (audit), the visit
messages 2201/2203/2401 and the withdrawals 2205/2302 are answered (``staff.py``,
``audit.py``, ``acks.py``, ``withdraw.py``). The path's ``infno``, when given, must be
the body's (or stands for it); an ``infno`` ybgate does not serve is malformed, naming
``infno``. A UTF-8 byte-order mark before the JSON is ignored. Messages are read the way
clients write them (``lines.py``, ``amounts.py``).

The same machinery as ``/v1/settlements/validate``: the bearer check of ``edge.auth``
(or the gateway's signature headers, ``signed.py``),
the institution's memo tables of the registry (``InstContext``) under the store's lock,
the decision log (the stored decision is the plain format's response with
``settlement_id`` = ``msgid``, so a decision reads back the same whichever format asked
for it), and the metrics. What differs is the wrapper: a malformed message is HTTP 200
with ``infcode`` -1 and ``err_msg`` naming the field's path; auth, a foreign
``fixmedins_code``, an oversized body and a not-ready gatekeeper stay HTTP problems.

Fee uploads are idempotent on ``msgid`` per institution (``decisions.idempotency``): the
answer is judged, then its record claimed; a message whose record exists is answered
from that record (same decision id, same results) and not logged again. A decided
upload's lines are remembered (``decisions/recent.py``): a later refund line takes its
original line's verdict, a withdrawal finds the lines it names.

The usual message (plain amounts, no escapes) is scanned, judged on the same memo tables
and written in C (``fast.py``, ``csrc/``); everything else, and every malformed message,
goes through the reference below (msgspec, :func:`fee_judge`). Both give the same bytes
(``tests/gatekeeper/test_hsa_fast.py``).
"""

from __future__ import annotations

import contextlib

import msgspec

from app.core.errors import Forbidden, NotReady
from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.decisions.journal import JournalUnavailable
from app.gatekeeper.decisions.spill import Item
from app.gatekeeper.edge.asgi import JSON_CT, Receive, Scope, Send, decode_error
from app.gatekeeper.host.runtime import Host, Runtime
from app.gatekeeper.national.acks import VISIT_INFNOS, visit_ack
from app.gatekeeper.national.audit import AUDIT_INFNOS, audit
from app.gatekeeper.national.effects import After
from app.gatekeeper.national.exchange import Exchange, Failure, Reply, serve_message
from app.gatekeeper.national.fast import fast_judge, scan
from app.gatekeeper.national.fee import (
    TIME_MESSAGE,
    FeeDecision,
)
from app.gatekeeper.national.lines import refund_of
from app.gatekeeper.national.render import (
    Malformed,
    malformed_answer,
    now_text,
)
from app.gatekeeper.national.schemas import BOM, HsaMessage, message_decoder
from app.gatekeeper.national.staff import staff_query
from app.gatekeeper.national.upload import claimed, fee_judge
from app.gatekeeper.national.withdraw import WITHDRAWAL_INFNOS, targets_of, withdraw
from app.registry.judge import ACCEPTED

__all__ = ["HSA_PATH", "HSA_PREFIX", "begin", "claimed", "handle_hsa", "remember"]

HSA_PATH = "/v1/hsa"
HSA_PREFIX = "/v1/hsa/"
DEEP_MESSAGE = "JSON 嵌套过深"
FEE_INFNOS = frozenset({"2204", "2301"})
SERVED = FEE_INFNOS | {"5102"} | VISIT_INFNOS | WITHDRAWAL_INFNOS | AUDIT_INFNOS
SERVED_MESSAGE = "ybgate 不受理该交易; 受理: " + "、".join(sorted(SERVED))
_FAILURE = Failure(log="hsa failed", detail="The decision failed.")
_encode = msgspec.json.encode

# (operation, answer, outcome, fee upload to claim, what else to carry out)
Begun = tuple[str, bytes, str, FeeDecision | None, After | None]


class _Head(msgspec.Struct, gc=False):
    infno: str | None = None


_head_decoder = msgspec.json.Decoder(_Head)


def path_infno(path: str) -> str | None:
    """The ``infno`` of ``/v1/hsa/{infno}`` (None for ``/v1/hsa``)."""
    return path[len(HSA_PREFIX) :] if path.startswith(HSA_PREFIX) else None


def _malformed_from(exc: msgspec.MsgspecError) -> Malformed:
    err = decode_error(exc).extra["errors"][0]
    path, message = err["field"], err["message"]
    if path.endswith(".fee_ocur_time") and message != "field required":
        message = TIME_MESSAGE
    return Malformed(path, message)


def _infno(body_infno: str | None, from_path: str | None) -> str:
    """The message's ``infno``; Malformed naming it when missing, unserved or when the
    body's differs from the path's."""
    if body_infno and from_path and body_infno != from_path:
        raise Malformed("infno", f"报文的 infno {body_infno} 与路径的 {from_path} 不一致")
    infno = body_infno or from_path
    if not infno:
        raise Malformed("infno", "field required")
    if infno not in SERVED:
        raise Malformed("infno", SERVED_MESSAGE)
    return infno


def decode_message(body: bytes, from_path: str | None) -> tuple[HsaMessage, str]:
    """The message (a leading byte-order mark ignored) and its ``infno``; Malformed
    naming the first bad field, ``infno`` first when that is at fault."""
    text = body[3:] if body.startswith(BOM) else body
    try:
        message = message_decoder.decode(text)
    except msgspec.MsgspecError as exc:
        with contextlib.suppress(msgspec.MsgspecError, RecursionError):
            _infno(_head_decoder.decode(text).infno, from_path)
        raise _malformed_from(exc) from None
    except RecursionError:
        raise Malformed("body", DEEP_MESSAGE) from None  # deeper than msgspec goes
    return message, _infno(message.infno, from_path)


async def handle_hsa(app: Host, scope: Scope, receive: Receive, send: Send) -> None:
    from_path = path_infno(scope["path"])

    async def handling(rt: Runtime, inst: str, body: bytes, ex: Exchange) -> Reply:
        if rt.lines.remote:
            await prefetch(rt, inst, body, from_path)
        ex.op, out, outcome, fee, after = begin(app, rt, inst, body, from_path=from_path)
        if fee is not None:
            prior = await rt.idempotency.claim(inst, fee.msgid, fee.rec)
            out, outcome, item = await _answer_claimed(rt, fee, prior)
            if item is not None:
                remember(rt, fee)
                app.metrics.count_lines(fee.results, fee.results.count(ACCEPTED))
        if after is not None:
            await carry_out(rt, after)
        return (
            200,
            [(b"content-type", JSON_CT), (b"content-length", b"%d" % len(out))],
            out,
            outcome,
        )

    await serve_message(app, scope, receive, send, op="hsa", handling=handling, failure=_FAILURE)


async def prefetch(rt: Runtime, inst: str, body: bytes, from_path: str | None) -> None:
    """With the line memory in Redis: the visits a refund line or a withdrawal names,
    read before the (synchronous) judgement. A message that does not decode is left to
    :func:`begin` to name."""
    if b"init_feedetl_sn" not in body and not (
        b"2205" in body or b"2302" in body or from_path in WITHDRAWAL_INFNOS
    ):
        return
    try:
        message, infno = decode_message(body, from_path)
        if infno in WITHDRAWAL_INFNOS:
            visits = [t[0] for t in targets_of(infno, message)]
        else:
            visits = [ln.mdtrt_id or "" for ln in message.input.feedetail or () if refund_of(ln)]
    except Malformed:
        return
    await rt.lines.prefetch(inst, visits)


async def carry_out(rt: Runtime, after: After) -> None:
    """Visits made known (to every instance with Redis), withdrawals journaled; else 503."""
    for mdtrt_id, emergency in after.visits:
        await rt.visits.publish(after.inst, mdtrt_id, emergency)
    if after.withdrawals and not await rt.withdrawals.add(after.withdrawals):
        raise NotReady("The withdrawal journal cannot be written; retry shortly.")


def remember(rt: Runtime, fee: FeeDecision) -> None:
    """A decided upload's lines, for later refunds and withdrawals."""
    if fee.memory is not None:
        text, visit = fee.memory
        rt.lines.remember(fee.inst, fee.rec.decision_id, text, visit)


def begin(
    app: Host,
    rt: Runtime,
    inst: str,
    body: bytes,
    *,
    fast: bool = True,
    from_path: str | None = None,
) -> Begun:
    """(operation, answer, outcome, fee upload to claim, what else to carry out):
    everything of a message up to its msgid claim, without I/O. A fee upload's answer
    comes from :func:`claimed`. The ASGI handler and the inline protocol (``inline.py``)
    both run it (``server.inline``). ``fast=False``: the reference alone (what the C fast
    path is tested against). ``from_path``: the ``infno`` of ``/v1/hsa/{infno}``."""
    received = now_text()
    op = "hsa"
    try:
        if from_path is not None and from_path not in SERVED:
            raise Malformed("infno", SERVED_MESSAGE)
        scanned = scan(body, rt.max_lines) if fast and rt.hsa_fast else None
        if scanned is not None and from_path in (None, scanned.infno):
            if scanned.fixmedins_code != inst:
                raise Forbidden("This token may send messages of its own institution only.")
            judged = fast_judge(app, rt, inst, scanned, body, received)
            if judged is not None:
                return f"hsa_{scanned.infno}", b"", "", judged, None
        message, infno = decode_message(body, from_path)
        if message.fixmedins_code != inst:
            raise Forbidden("This token may send messages of its own institution only.")
        op = f"hsa_{infno}"
        if infno in FEE_INFNOS:
            return op, b"", "", fee_judge(app, rt, inst, infno, message, body, received), None
        if infno == "5102":
            return op, staff_query(app, inst, message, received), "answered", None, None
        if infno in VISIT_INFNOS:
            out, after = visit_ack(infno, message, inst, received)
            return op, out, "answered", None, after
        if infno in WITHDRAWAL_INFNOS:
            out, after = withdraw(infno, message, inst, rt.lines, app.new_id, received)
            return op, out, "withdrawn", None, after
        return op, audit(app, inst, message, received), "answered", None, None
    except Malformed as err:
        return op, malformed_answer(err, received), "malformed", None, None


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
    try:  # in the journal before the answer (crash safety, see journal.py)
        await rt.journal.add(item)
    except JournalUnavailable:
        await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
        raise NotReady("The decision journal cannot be written; retry shortly.") from None

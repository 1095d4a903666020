"""前置 mode: the platform's messages forwarded to it, fee uploads judged first.

With ``YBGATE_HSA_UPSTREAM`` set, ``/v1/hsa[/{infno}]`` and the platform's own paths
(``YBGATE_HSA_PATHS``) come here (``app.py`` routes them; the inline protocol leaves them
to ASGI). The caller is admitted as on ``/v1/hsa`` (bearer and/or the gateway's
signature, its nonce claimed: a forged or replayed message never leaves ybgate). Then:

* a body that is not UTF-8 JSON naming an ``infno`` is answered ``infcode`` -1 naming
  ``body``, never forwarded;
* a 2204/2301 is judged (``hsa.begin``) and its msgid claimed: a failing line, or a
  malformed message, is answered by ybgate as on ``/v1/hsa``; every line passing, it is
  forwarded and the platform's answer returned unchanged, its ``infcode`` logged with the
  decision (``upstream_infcode``) and the answer kept for the msgid (``upstream.answers``).
  A resend of that msgid gets the kept answer, not a second forward (an HTTP 5xx answer is
  returned but not kept: the resend is forwarded again);
* everything else is forwarded unchanged; 2201/2203/2401 answered ``infcode`` 0 feed
  visit memory (the request's ``med_type``; the ``mdtrt_id`` of the request or of the
  answer), 2205/2302 are recorded as withdrawals.

The platform not answering by ``YBGATE_HSA_UPSTREAM_TIMEOUT_S`` after the request's
arrival, or refusing the connection (or the breaker being open), gives ``infcode`` -1
saying so; a fee upload's decision is logged with ``upstream_error`` and its msgid is
released, so the resend is judged and forwarded again.
"""

from __future__ import annotations

import time

import msgspec

from app.core.errors import DomainError, Forbidden
from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.decisions.spill import Item
from app.gatekeeper.edge.asgi import Receive, Scope, Send
from app.gatekeeper.host.runtime import Host, Runtime
from app.gatekeeper.national.acks import VISIT_INFNOS
from app.gatekeeper.national.effects import After
from app.gatekeeper.national.exchange import Exchange, Failure, Reply, serve_message
from app.gatekeeper.national.fee import FeeDecision
from app.gatekeeper.national.hsa import (
    FEE_INFNOS,
    _keep,
    begin,
    carry_out,
    path_infno,
    prefetch,
    remember,
)
from app.gatekeeper.national.lines import EMERGENCY_MED_TYPES
from app.gatekeeper.national.render import Malformed, malformed_answer, now_text
from app.gatekeeper.national.schemas import BOM
from app.gatekeeper.national.upload import claimed
from app.gatekeeper.national.withdraw import WITHDRAWAL_INFNOS
from app.gatekeeper.upstream.client import Answer, UpstreamFailed
from app.gatekeeper.upstream.relay import PLATFORM_PATH, Relay
from app.registry.judge import ACCEPTED, ALL_RESULTS

NOT_ANSWERED = {
    "timeout": "医保平台未在时限内应答, 报文未确认受理, 请重发",
    "refused": "医保平台无法连接, 报文未转发, 请稍后重发",
}
FORWARDING = "同一 msgid 的报文已转发至医保平台, 平台应答尚未保存 (正在转发或已过期)"
_FAILURE = Failure(log="forwarding failed", detail="The message could not be handled.")
_JSON = [(b"content-type", b"application/json")]


class _Head(msgspec.Struct, gc=False):
    infno: str | int | None = None
    msgid: str | None = None
    fixmedins_code: str | None = None
    med_type: str | None = None


class _Visit(msgspec.Struct, gc=False):
    mdtrt_id: str | None = None
    med_type: str | None = None


class _VisitInput(msgspec.Struct, gc=False):
    data: _Visit | list[_Visit] | None = None
    mdtrtinfo: _Visit | None = None


class _VisitMessage(msgspec.Struct, gc=False):
    med_type: str | None = None
    input: _VisitInput | None = None


class _Output(msgspec.Struct, gc=False):
    data: _Visit | list[_Visit] | None = None
    result: _Visit | list[_Visit] | None = None


class _Platform(msgspec.Struct, gc=False):
    infcode: int | str | None = None
    output: _Output | None = None


_head = msgspec.json.Decoder(_Head)
_visit = msgspec.json.Decoder(_VisitMessage)
_platform = msgspec.json.Decoder(_Platform)


class _Code(msgspec.Struct, gc=False):
    infcode: int | str | None = None


_code = msgspec.json.Decoder(_Code)


def head_of(body: bytes, from_path: str | None) -> tuple[str, _Head]:
    """The message's ``infno`` and head; Malformed naming ``body`` when it is not UTF-8
    JSON naming an ``infno``, or ``infno`` when the path's differs."""
    text = body[3:] if body.startswith(BOM) else body
    try:
        head = _head.decode(text)
    except (msgspec.MsgspecError, RecursionError):
        raise Malformed("body", "报文不是 UTF-8 编码的 JSON 对象") from None
    infno = str(head.infno) if head.infno is not None else from_path
    if not infno:
        raise Malformed("body", "报文未指明 infno")
    if from_path and infno != from_path:
        raise Malformed("infno", f"报文的 infno {infno} 与路径的 {from_path} 不一致")
    return infno, head


def not_answered(kind: str, received: str) -> bytes:
    return msgspec.json.encode(
        {
            "infcode": -1,
            "inf_refmsgid": None,
            "refmsg_time": received,
            "respond_time": now_text(),
            "err_msg": NOT_ANSWERED[kind],
            "warn_msg": None,
            "output": None,
        }
    )


def platform_infcode(body: bytes) -> int | None:
    try:
        code = _code.decode(body[3:] if body.startswith(BOM) else body).infcode
        return None if code is None else int(code)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return None


def with_upstream(item: Item, infcode: int | None, error: str | None) -> Item:
    """The decision with ``upstream_infcode`` and ``upstream_error`` in its stored
    response (before ``lines``, its last member: ``spill.lines_json`` still finds it)."""
    extra = b',"upstream_infcode":%b,"upstream_error":%b,"lines":[' % (
        b"null" if infcode is None else str(infcode).encode(),
        b"null" if error is None else b'"%b"' % error.encode(),
    )
    body = item[8].replace(b',"lines":[', extra, 1)
    return (*item[:8], body, item[9])


async def handle_forward(app: Host, scope: Scope, receive: Receive, send: Send) -> None:
    arrival = time.monotonic()

    async def handling(rt: Runtime, inst: str, body: bytes, ex: Exchange) -> Reply:
        status, headers, out, ex.op, outcome = await forwarded(app, scope, inst, body, arrival)
        return status, headers, out, outcome

    await serve_message(
        app,
        scope,
        receive,
        send,
        op="hsa_forward",
        handling=handling,
        failure=_FAILURE,
        relay=True,
    )


Result = tuple[int, list[tuple[bytes, bytes]], bytes, str, str]


async def forwarded(app: Host, scope: Scope, inst: str, body: bytes, arrival: float) -> Result:
    """(status, headers, body, operation, outcome) of a message received at ``arrival``
    (``time.monotonic``) from an admitted caller: what both servers answer (the inline
    protocol passes a scope of ``path``, ``headers`` and ``query_string`` only)."""
    rt = app.rt
    assert rt is not None and rt.relay is not None
    path = scope["path"]
    target = path if path in rt.relay.paths else PLATFORM_PATH
    deadline = arrival + rt.relay.timeout_s
    call = _Call(app, rt, rt.relay, scope, inst, body, target, deadline)
    return await call.run(path_infno(path))


class _Call:
    """One message received in 前置 mode."""

    def __init__(
        self,
        app: Host,
        rt: Runtime,
        relay: Relay,
        scope: Scope,
        inst: str,
        body: bytes,
        target: str,
        deadline: float,
    ) -> None:
        self.app, self.rt, self.relay, self.scope = app, rt, relay, scope
        self.inst, self.body, self.target, self.deadline = inst, body, target, deadline
        self.received = now_text()

    async def run(self, from_path: str | None) -> Result:
        try:
            infno, head = head_of(self.body, from_path)
        except Malformed as err:
            return self._ours(malformed_answer(err, self.received), "hsa", "malformed")
        op = f"hsa_{infno}" if len(infno) <= 8 and infno.isalnum() else "hsa"
        if head.fixmedins_code is not None and head.fixmedins_code != self.inst:
            raise Forbidden("This token may send messages of its own institution only.")
        if self.rt.lines.remote and (infno in FEE_INFNOS or infno in WITHDRAWAL_INFNOS):
            await prefetch(self.rt, self.inst, self.body, from_path)  # refunds, withdrawals
        if infno in FEE_INFNOS:
            return await self._fee(op, from_path)
        if infno in VISIT_INFNOS:  # from the request, whatever the platform answers
            await self._visits(visits_of(self.body, b""))
        try:
            answer = await self._forward()
        except UpstreamFailed as failed:
            return self._ours(not_answered(failed.error, self.received), op, failed.error)
        if infno in VISIT_INFNOS or infno in WITHDRAWAL_INFNOS:
            await self._effects(infno, from_path, answer)
        return answer.status, answer.headers, answer.body, op, "forwarded"

    def _ours(self, out: bytes, op: str, outcome: str) -> Result:
        return 200, _JSON, out, op, outcome

    async def _forward(self) -> Answer:
        scope = self.scope
        return await self.relay.client.forward(
            self.target, scope.get("query_string", b""), scope["headers"], self.body, self.deadline
        )

    async def _fee(self, op: str, from_path: str | None) -> Result:
        rt = self.rt
        op, out, outcome, fee, _ = begin(self.app, rt, self.inst, self.body, from_path=from_path)
        if fee is None:
            return self._ours(out, op, outcome)
        prior = await rt.idempotency.claim(self.inst, fee.msgid, fee.rec)
        if prior is not None:
            return await self._repeat(op, fee, prior)
        try:
            out, outcome, item = claimed(fee, None)
            assert item is not None
            if outcome != "accept":  # a line the fund must not pay: ybgate's answer
                await _keep(rt, fee, with_upstream(item, None, None))
                self._done(fee)
                return self._ours(out, op, outcome)
            try:
                answer = await self._forward()
            except UpstreamFailed as failed:
                await _keep(rt, fee, with_upstream(item, None, failed.error))
                await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
                self._done(fee)
                return self._ours(not_answered(failed.error, self.received), op, failed.error)
            await _keep(rt, fee, with_upstream(item, platform_infcode(answer.body), None))
            if answer.status >= 500:  # the platform's gateway failing: the resend goes again
                await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
            else:
                await self.relay.answers.put(fee.inst, fee.msgid, answer)
        except BaseException:
            await rt.idempotency.release(fee.inst, fee.msgid, fee.rec)
            raise
        self._done(fee)
        return answer.status, answer.headers, answer.body, op, "forwarded"

    def _done(self, fee: FeeDecision) -> None:
        remember(self.rt, fee)
        self.app.metrics.count_lines(fee.results, fee.results.count(ACCEPTED))

    async def _repeat(self, op: str, fee: FeeDecision, prior: Record) -> Result:
        """A msgid answered before: the platform's kept answer when it was forwarded."""
        forwarded = prior.body_hash == fee.rec.body_hash and all(
            ALL_RESULTS[ord(c) - 65].decision == "accept" for c in prior.results
        )
        if forwarded:
            kept = await self.relay.answers.get(fee.inst, fee.msgid)
            if kept is not None:
                return kept.status, kept.headers, kept.body, op, "replayed"
            err = Malformed("msgid", FORWARDING)
            return self._ours(malformed_answer(err, self.received), op, "malformed")
        out, outcome, _ = claimed(fee, prior)
        return self._ours(out, op, outcome)

    async def _effects(self, infno: str, from_path: str | None, answer: Answer) -> None:
        """Visit memory and withdrawals from a message the platform accepted."""
        if answer.status != 200 or platform_infcode(answer.body) != 0:
            return
        after = After(self.inst)
        if infno in WITHDRAWAL_INFNOS:
            try:
                _, _, _, _, done = begin(
                    self.app, self.rt, self.inst, self.body, from_path=from_path
                )
            except DomainError:
                done = None
            if done is not None:
                after = done
        elif not visits_of(self.body, b""):  # the mdtrt_id the platform assigned
            after.visits = visits_of(self.body, answer.body)
        if after.visits or after.withdrawals:
            await carry_out(self.rt, after)

    async def _visits(self, visits: list[tuple[str, bool]]) -> None:
        if visits:
            await carry_out(self.rt, After(self.inst, visits))


def _first(v: _Visit | list[_Visit] | None) -> _Visit:
    if isinstance(v, list):
        return v[0] if v else _Visit()
    return v or _Visit()


def visits_of(request: bytes, answer: bytes) -> list[tuple[str, bool]]:
    """(mdtrt_id, emergency) of a visit message the platform accepted: ``med_type`` from
    ``input.mdtrtinfo``, ``input.data`` or the wrapper; ``mdtrt_id`` from the request,
    else from the answer's ``output.data`` (2201) or ``output.result`` (2401)."""
    try:
        msg = _visit.decode(request[3:] if request.startswith(BOM) else request)
        out = (
            _platform.decode(answer[3:] if answer.startswith(BOM) else answer).output
            if answer
            else None
        )
    except (msgspec.MsgspecError, RecursionError):
        return []
    inp = msg.input or _VisitInput()
    info, data = inp.mdtrtinfo or _Visit(), _first(inp.data)
    med_type = info.med_type or data.med_type or msg.med_type
    mdtrt_id = info.mdtrt_id or data.mdtrt_id
    if not mdtrt_id and out is not None:
        mdtrt_id = _first(out.data).mdtrt_id or _first(out.result).mdtrt_id
    if not mdtrt_id or not med_type:
        return []
    return [(mdtrt_id, med_type in EMERGENCY_MED_TYPES)]

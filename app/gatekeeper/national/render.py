"""The answers of ``POST /v1/hsa`` in the national platform's wrapper, joined from
pre-encoded fragments (like ``decide.render``): a line of ``output.result`` is
``{"feedetl_sn":"`` + id + ``","det_item_fee_sumamt":"`` + amount + the result's tail,
all columns interleaved by slice assignment and joined once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from itertools import compress
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.edge.asgi import decode_error
from app.gatekeeper.plain.decide import json_inner
from app.registry.judge import ALL_RESULTS, NATIONAL_FIELD, SECOND_CODE, LineResult

SHANGHAI = ZoneInfo("Asia/Shanghai")
_TIME_FMT = "%Y-%m-%d %H:%M:%S"
_json = msgspec.json.encode
# A result as one letter, for the msgid record.
RESULT_CHAR = {r: chr(65 + i) for i, r in enumerate(ALL_RESULTS)}


def _q(s: str | None) -> str:
    return "null" if s is None else f'"{s}"'


# Each result's tail of a line in output.result: closes the line object.
_TAIL = {
    r: f',"ybgate_decision":"{r.decision}","ybgate_reason":{_q(r.reason)},'
    f'"ybgate_overridden":{_q(r.overridden)}'
    + ("}" if r.field is None else f',"ybgate_field":"{NATIONAL_FIELD[r.field]}"}}')
    for r in ALL_RESULTS
}
_SEP = ',{"feedetl_sn":"'
_TAIL_NEXT = {r: t + _SEP for r, t in _TAIL.items()}
_QTAIL_NEXT = {r: '"' + t + _SEP for r, t in _TAIL.items()}
_MID, _MID_Q = '","det_item_fee_sumamt":', '","det_item_fee_sumamt":"'
_REJECTED = {r: not r.ok for r in ALL_RESULTS}
_SEP_LISTED = "; feedetl_sn="
_LISTED = {
    r: f" {r.reason}{'' if r.field != SECOND_CODE else ' (orders_dr_code)'}{_SEP_LISTED}"
    for r in ALL_RESULTS
}


class Malformed(Exception):
    """A malformed message: answered with infcode -1 naming ``path``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


T = TypeVar("T")


def decode_part(decoder: msgspec.json.Decoder[T], raw: msgspec.Raw, path: str) -> T:
    """``input.data`` or ``input.mdtrtinfo`` (kept raw by the wrapper) decoded; Malformed
    naming the field by its full path (``path`` is where ``raw`` sits)."""
    text = bytes(raw)
    if not text or text == b"null":
        raise Malformed(path, "field required")
    try:
        decoded: T = decoder.decode(text)
    except msgspec.MsgspecError as exc:
        err = decode_error(exc).extra["errors"][0]
        field = err["field"]
        at = f"{path}.{field}" if field not in ("", "body") else path
        raise Malformed(at, err["message"]) from None
    return decoded


def ok_answer(received: str, output: dict[str, Any] | None) -> bytes:
    """An answer with ``infcode`` 0 (acknowledgements, queries, audits, withdrawals)."""
    body = {
        "infcode": 0,
        "inf_refmsgid": None,
        "refmsg_time": received,
        "respond_time": now_text(),
        "err_msg": None,
        "warn_msg": None,
        "output": output,
    }
    return _json(body)


_clock: list[object] = [-1, ""]  # [whole second, its text]: formatted once per second


def now_text() -> str:
    """Now in Asia/Shanghai, ``yyyy-MM-dd HH:mm:ss`` (the platform's time format)."""
    now = time.time()
    second = int(now)
    if _clock[0] != second:
        _clock[:] = [second, datetime.fromtimestamp(second, SHANGHAI).strftime(_TIME_FMT)]
    return str(_clock[1])


def _interleave(*columns: Sequence[str]) -> list[str]:
    """``a0, b0, c0, a1, b1, c1, ...`` by slice assignment (no Python loop)."""
    k = len(columns)
    out = [""] * (k * len(columns[0]))
    for i, col in enumerate(columns):
        out[i::k] = col
    return out


ERR_PREFIX = "条费用明细医保医师校验未通过: feedetl_sn="
_ERR_PREFIX = ERR_PREFIX.encode()


def _err_msg(sns: list[str], results: list[LineResult]) -> bytes:
    """``err_msg`` listing each rejected line with its reason (JSON), or ``null``."""
    flags = list(map(_REJECTED.__getitem__, results))
    if not any(flags):
        return b"null"
    bad = list(compress(results, flags))
    parts = _interleave(list(compress(sns, flags)), list(map(_LISTED.__getitem__, bad)))
    listed = "".join(parts)[: -len(_SEP_LISTED)]
    return _json(f"{len(bad)} {ERR_PREFIX}{listed}")


def err_msg_listed(n_bad: int, listed: bytes) -> bytes:
    """``err_msg`` from the listing already joined (ids that need no JSON escaping)."""
    return b'"%d %b%b"' % (n_bad, _ERR_PREFIX, listed) if n_bad else b"null"


def fee_answer(
    sns: list[str],
    amounts: list[str | None],
    results: list[LineResult],
    rec: Record,
    totals: tuple[str, str, str],
    escape: bool,
) -> bytes:
    """The 2204/2301 answer, joined from pre-encoded fragments like ``decide.render``.
    ``escape``: the ids need JSON escaping (the request body had a backslash)."""
    err = _err_msg(sns, results)
    if escape:
        sns = [json_inner(s) for s in sns]
    n = len(sns)
    if None in amounts:
        shown = [_q(a) for a in amounts]
        parts = _interleave(sns, [_MID] * n, shown, list(map(_TAIL_NEXT.__getitem__, results)))
        parts[-1] = _TAIL[results[-1]]
    else:
        tails = list(map(_QTAIL_NEXT.__getitem__, results))
        parts = _interleave(sns, [_MID_Q] * n, amounts, tails)  # type: ignore[arg-type]
        parts[-1] = '"' + _TAIL[results[-1]]
    return answer_bytes("".join(parts).encode(), err, rec, totals)


def answer_bytes(lines: bytes, err: bytes, rec: Record, totals: tuple[str, str, str]) -> bytes:
    """The answer around its ``output.result`` lines (each line's fields after the first
    ``{"feedetl_sn":"``) and its ``err_msg`` JSON."""
    outcome, acc, rej = totals
    head = (
        f'{{"infcode":{0 if err == b"null" else -1},"inf_refmsgid":"{rec.decision_id}",'
        f'"refmsg_time":"{rec.refmsg_time}","respond_time":"{rec.respond_time}",'
        '"err_msg":'
    )
    tail = (
        f'],"ybgate":{{"decision_id":"{rec.decision_id}",'
        f'"registry_version":{rec.registry_version},"outcome":"{outcome}",'
        f'"accepted_amount":"{acc}","rejected_amount":"{rej}"}}}}}}'
    )
    # Encoded apart: err_msg is not ASCII, and a str holding it would make the whole
    # (ASCII) line array a wide string, several times slower to join and encode.
    return b"".join((head.encode(), err, _OPEN_RESULT, lines, tail.encode()))


_OPEN_RESULT = b',"warn_msg":null,"output":{"result":[{"feedetl_sn":"'


# Per result, the fragments the C fast path (fast.py) writes after a line's id or
# amount: the same texts as above, as bytes.
FAST_FRAGMENTS = (
    tuple(('"' + _TAIL_NEXT[r]).encode() for r in ALL_RESULTS),
    tuple(('"' + _TAIL[r]).encode() for r in ALL_RESULTS),
    tuple(r.encode() for r in ALL_RESULTS),
    tuple(r.last.encode() for r in ALL_RESULTS),
    tuple(_LISTED[r].encode() for r in ALL_RESULTS),
    _MID_Q.encode(),
    _SEP_LISTED.encode(),
)


def malformed_answer(err: Malformed, received: str) -> bytes:
    body = {
        "infcode": -1,
        "inf_refmsgid": None,
        "refmsg_time": received,
        "respond_time": now_text(),
        "err_msg": f"报文格式错误: {err.path}: {err.message}",
        "warn_msg": None,
        "output": None,
    }
    return _json(body)

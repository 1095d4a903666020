"""The lines of a logged decision in bytes, and the varints everything else is made of
(the format is described in ``decision_codec``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec

from app.registry.judge import ALL_RESULTS

EPOCH = date(2000, 1, 1)
_EPOCH_ORD = EPOCH.toordinal()
# A verdict's number: its first position in ALL_RESULTS (a rejection because of the
# line's second staff code is the same verdict; its field says which code failed), at
# most 15: the low four bits of a line's header byte.
_RESULT: dict[tuple[str, str | None, str | None], int] = {}
for _i, _r in enumerate(ALL_RESULTS):
    _RESULT.setdefault((_r.decision, _r.reason, _r.overridden), _i)
assert max(_RESULT.values()) <= 0x0F, "verdicts past four bits: widen the line header"
# The field a line failed on. A rejected line without the extension failed on its first
# code (IMPLIED); the extension names any other field, and a second staff code.
FIELDS = (None, "physician_code", "bilg_dr_codg", "orders_dr_code", "performer_code")
IMPLIED = "physician_code"
_FIELD = {f: i for i, f in enumerate(FIELDS)}
_SAME, _EMERGENCY, _EXT = 0x10, 0x20, 0x40
_IDS_SEQ, _IDS_INT, _IDS_STR, _NO_INPUTS = 0, 1, 2, 0x80


class CodecError(ValueError):
    """Bytes that are not a decision record of this format."""


# -- varints ----------------------------------------------------------------------------------
def put_uv(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def unzigzag(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def put_str(out: bytearray, s: str) -> None:
    b = s.encode()
    put_uv(out, len(b))
    out += b


class Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def uv(self) -> int:
        n = shift = 0
        while True:
            try:
                b = self.buf[self.pos]
            except IndexError:
                raise CodecError("truncated") from None
            self.pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise CodecError("truncated")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise CodecError("truncated")
        b = self.buf[self.pos : self.pos + n]
        self.pos += n
        return b

    def str(self) -> str:
        return self.take(self.uv()).decode()


# -- lines ------------------------------------------------------------------------------------
_SEQ_IDS = [str(i + 1) for i in range(1000)]
_ORD: dict[str, int] = {}


def _ordinal(day: str) -> int:
    o = _ORD.get(day)
    if o is None:
        if len(_ORD) > 4096:
            _ORD.clear()
        o = _ORD[day] = date.fromisoformat(day).toordinal()
    return o


def _line_ids(out: bytearray, ids: list[str]) -> None:
    n = len(ids)
    if n <= len(_SEQ_IDS) and ids == _SEQ_IDS[:n]:
        out.append(_IDS_SEQ)
        return
    if all(i.isdigit() and i == str(int(i)) for i in ids):
        nums = [int(i) for i in ids]
        if all(b > a for a, b in itertools.pairwise(nums)):
            out.append(_IDS_INT)
            prev = 0
            for num in nums:
                put_uv(out, num - prev)
                prev = num
            return
    out.append(_IDS_STR)
    for i in ids:
        put_str(out, i)


class Line(msgspec.Struct, gc=False):
    """A line of a response, as the decision log reads it."""

    line_id: str
    decision: str
    reason: str | None = None
    overridden: str | None = None
    field: str | None = None
    second_code: str | None = None


line_list = msgspec.json.Decoder(list[Line])


def encode_lines(
    lines: Sequence[Line | dict[str, Any]], inputs: Sequence[Sequence[Any]] | None
) -> tuple[bytes, list[str]]:
    """(the compact lines, the codes they name in order of first use)."""
    rows: Sequence[Line] = (
        lines  # type: ignore[assignment]  # decoded as Line (from_answer)
        if not lines or isinstance(lines[0], Line)
        else [msgspec.convert(ln, Line) for ln in lines]
    )
    out = bytearray()
    n = len(rows)
    put_uv(out, n)
    mode = len(out)
    _line_ids(out, [ln.line_id for ln in rows])
    results = [_RESULT[(ln.decision, ln.reason, ln.overridden)] for ln in rows]
    if inputs is None or len(inputs) != n:
        out[mode] |= _NO_INPUTS
        for result, ln in zip(results, rows, strict=True):
            if ln.field != _implied(ln.decision):
                out += bytes((result | _EXT, _FIELD.get(ln.field, 0)))
            else:
                out.append(result)
        return bytes(out), []
    codes: dict[str, int] = {}
    base = min(_ordinal(d) for d in {i[1] for i in inputs}) if n else _EPOCH_ORD
    put_uv(out, zigzag(base - _EPOCH_ORD))
    prev: Any = None
    for inp, result, ln in zip(inputs, results, rows, strict=True):
        code, day, emergency = inp[0], inp[1], inp[2]
        head = result | _EMERGENCY if emergency else result
        second = inp[3] if len(inp) > 3 and inp[3] else ln.second_code
        if second is not None or ln.field != _implied(ln.decision):
            head |= _EXT
        if prev is not None and prev[0] == code and prev[1] == day:
            out.append(head | _SAME)
        else:
            out.append(head)
            put_uv(out, codes.setdefault(code, len(codes)))
            put_uv(out, _ordinal(day) - base)
            prev = inp
        if head & _EXT:
            out.append(_FIELD.get(ln.field, 0))
            put_uv(out, 0 if second is None else codes.setdefault(second, len(codes)) + 1)
    return bytes(out), list(codes)


SEP = "\x1f"


def codes_text(codes: Sequence[str]) -> str:
    """The codes as the ``physicians`` column keeps them (a code cannot hold U+001F: a
    code that did, malformed anyway, keeps ``?`` in its place)."""
    return SEP.join(c.replace(SEP, "?") for c in codes)


def decode_lines(
    blob: bytes, codes: str | Sequence[str]
) -> tuple[list[dict[str, Any]], list[list[Any]] | None]:
    """(the lines as answered: ``line_id``, ``decision``, ``reason``[, ``overridden``];
    their inputs ``[code, service_date, emergency]`` or None when not kept). ``codes``:
    the list, or the ``physicians`` column's text."""
    if isinstance(codes, str):
        codes = codes.split(SEP)  # "" is one empty code (a line may name one)
    r = Reader(blob)
    n = r.uv()
    mode = r.byte()
    kind = mode & ~_NO_INPUTS
    if kind == _IDS_SEQ:
        ids = [str(i + 1) for i in range(n)]
    elif kind == _IDS_INT:
        ids, at = [], 0
        for _ in range(n):
            at += r.uv()
            ids.append(str(at))
    elif kind == _IDS_STR:
        ids = [r.str() for _ in range(n)]
    else:
        raise CodecError(f"line id mode {kind}")
    lines: list[dict[str, Any]] = []
    if mode & _NO_INPUTS:
        for lid in ids:
            head = r.byte()
            line = _answered(lid, head & 0x0F)
            if head & _EXT:
                if field := FIELDS[r.byte()]:
                    line["field"] = field
            elif line["decision"] == "reject":
                line["field"] = IMPLIED
            lines.append(line)
        return lines, None
    base = _EPOCH_ORD + unzigzag(r.uv())
    inputs: list[list[Any]] = []
    code, day = "", ""
    for lid in ids:
        head = r.byte()
        if not head & _SAME:
            code = codes[r.uv()]
            day = date.fromordinal(base + r.uv()).isoformat()
        line = _answered(lid, head & 0x0F)
        if head & _EXT:
            field, second = FIELDS[r.byte()], r.uv()
            if field:
                line["field"] = field
            if second:  # the line's second staff code: its inputs' fourth
                inputs.append([code, day, bool(head & _EMERGENCY), codes[second - 1]])
                lines.append(line)
                continue
        elif line["decision"] == "reject":
            line["field"] = IMPLIED
        lines.append(line)
        inputs.append([code, day, bool(head & _EMERGENCY)])
    return lines, inputs


def _implied(decision: str) -> str | None:
    return IMPLIED if decision == "reject" else None


def _answered(line_id: str, result: int) -> dict[str, Any]:
    try:
        res = ALL_RESULTS[result]
    except IndexError:
        raise CodecError(f"verdict {result}") from None
    line: dict[str, Any] = {"line_id": line_id, "decision": res.decision, "reason": res.reason}
    if res.overridden is not None:
        line["overridden"] = res.overridden
    return line

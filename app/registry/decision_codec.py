"""The decision log's compact encoding, shared by the journal, the spill files, the
database rows and the archive.

A logged decision keeps what its answer and its explanation need, nothing twice:

* **codes** (the staff codes its lines name) are stored once per decision, in order of
  first use; a line refers to its code by position (the database keeps them in the
  ``physicians`` column, joined by U+001F, which the physician lookup indexes as an
  array);
* **lines** are one header byte each: the verdict as a small integer (its position in
  ``ALL_RESULTS``: decision, reason and override in one), the emergency flag, "same code
  and day as the line before", and "extension follows" (a second staff code, the field
  that failed); then, unless the same as before, the code's position and the service
  date as days after the decision's first service date;
* **line ids** are ``1..n`` (no bytes), ascending integers (deltas), or strings;
* **amounts** are signed cents, the decision id its 16 bytes, its time the UUIDv7's
  millisecond (not stored again).

The explanation (each line's basis on the record at the decision's registry version) is
not stored: it is built on read (``app.registry.history``).
"""

from __future__ import annotations

import itertools
import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import msgspec

from app.models.partitions import day_bounds, id_floor
from app.registry.judge import ALL_RESULTS

__all__ = ["day_bounds", "id_floor"]

FORMAT = 1
EPOCH = date(2000, 1, 1)
_EPOCH_ORD = EPOCH.toordinal()
OUTCOMES = ("accept", "reject", "partial")
_OUTCOME = {o: i for i, o in enumerate(OUTCOMES)}
_RESULT = {(r.decision, r.reason, r.overridden): i for i, r in enumerate(ALL_RESULTS)}
# The field a line failed on (room for a second staff code per line).
FIELDS = (None, "physician_code", "bilg_dr_codg", "orders_dr_code")
_FIELD = {f: i for i, f in enumerate(FIELDS)}
_SAME, _EMERGENCY, _EXT = 0x10, 0x20, 0x40
_IDS_SEQ, _IDS_INT, _IDS_STR, _NO_INPUTS = 0, 1, 2, 0x80
_inputs_decoder = msgspec.json.Decoder(list[tuple[str, str, bool]] | None)


class CodecError(ValueError):
    """Bytes that are not a decision record of this format."""


class Decision(NamedTuple):
    """One logged decision, decoded (``lines`` still compact: see :func:`decode_lines`)."""

    decision_id: uuid.UUID
    settlement_id: str
    institution_code: str
    registry_version: int
    outcome: int
    accepted_cents: int
    rejected_cents: int
    upstream_infcode: int | None
    physicians: list[str]
    lines: bytes

    @property
    def decided_ms(self) -> int:
        return self.decision_id.int >> 80


# -- amounts and times ------------------------------------------------------------------------
def to_cents(amount: str) -> int:
    """``"-12.50"`` -> ``-1250`` (amounts carry exactly two decimals)."""
    neg = amount.startswith("-")
    whole, _, frac = amount.lstrip("-").partition(".")
    cents = int(whole or "0") * 100 + int((frac + "00")[:2])
    return -cents if neg else cents


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def decided_at(decision_id: uuid.UUID) -> datetime:
    return datetime.fromtimestamp((decision_id.int >> 80) / 1000, UTC)


# -- varints ----------------------------------------------------------------------------------
def _uv(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zz(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def _unzz(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def _str(out: bytearray, s: str) -> None:
    b = s.encode()
    _uv(out, len(b))
    out += b


class _Reader:
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

    def _byte(self) -> int:
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
                _uv(out, num - prev)
                prev = num
            return
    out.append(_IDS_STR)
    for i in ids:
        _str(out, i)


class _Line(msgspec.Struct, gc=False):
    """A line of a response, as the decision log reads it."""

    line_id: str
    decision: str
    reason: str | None = None
    overridden: str | None = None
    field: str | None = None
    second_code: str | None = None


_line_list = msgspec.json.Decoder(list[_Line])


def encode_lines(
    lines: Sequence[_Line | dict[str, Any]], inputs: Sequence[Sequence[Any]] | None
) -> tuple[bytes, list[str]]:
    """(the compact lines, the codes they name in order of first use)."""
    rows: Sequence[_Line] = (
        lines  # type: ignore[assignment]  # decoded as _Line (from_answer)
        if not lines or isinstance(lines[0], _Line)
        else [msgspec.convert(ln, _Line) for ln in lines]
    )
    out = bytearray()
    n = len(rows)
    _uv(out, n)
    mode = len(out)
    _line_ids(out, [ln.line_id for ln in rows])
    results = [_RESULT[(ln.decision, ln.reason, ln.overridden)] for ln in rows]
    if inputs is None or len(inputs) != n:
        out[mode] |= _NO_INPUTS
        out += bytes(results)
        return bytes(out), []
    codes: dict[str, int] = {}
    base = min(_ordinal(d) for d in {i[1] for i in inputs}) if n else _EPOCH_ORD
    _uv(out, _zz(base - _EPOCH_ORD))
    prev: Any = None
    ext = any(ln.field is not None or ln.second_code is not None for ln in rows)
    for inp, result, ln in zip(inputs, results, rows, strict=True):
        code, day, emergency = inp[0], inp[1], inp[2]
        head = result | _EMERGENCY if emergency else result
        if ext and (ln.field or ln.second_code):
            head |= _EXT
        if prev is not None and prev[0] == code and prev[1] == day:
            out.append(head | _SAME)
        else:
            out.append(head)
            _uv(out, codes.setdefault(code, len(codes)))
            _uv(out, _ordinal(day) - base)
            prev = inp
        if head & _EXT:
            out.append(_FIELD.get(ln.field, 0))
            second = ln.second_code
            _uv(out, 0 if second is None else codes.setdefault(second, len(codes)) + 1)
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
        codes = codes.split(SEP) if codes else []
    r = _Reader(blob)
    n = r.uv()
    mode = r._byte()
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
            lines.append(_answered(lid, r._byte()))
        return lines, None
    base = _EPOCH_ORD + _unzz(r.uv())
    inputs: list[list[Any]] = []
    code, day = "", ""
    for lid in ids:
        head = r._byte()
        if not head & _SAME:
            code = codes[r.uv()]
            day = date.fromordinal(base + r.uv()).isoformat()
        line = _answered(lid, head & 0x0F)
        if head & _EXT:
            field, second = FIELDS[r._byte()], r.uv()
            if field:
                line["field"] = field
            if second:
                line["second_code"] = codes[second - 1]
        lines.append(line)
        inputs.append([code, day, bool(head & _EMERGENCY)])
    return lines, inputs


def _answered(line_id: str, result: int) -> dict[str, Any]:
    try:
        res = ALL_RESULTS[result]
    except IndexError:
        raise CodecError(f"verdict {result}") from None
    line: dict[str, Any] = {"line_id": line_id, "decision": res.decision, "reason": res.reason}
    if res.overridden is not None:
        line["overridden"] = res.overridden
    return line


# -- whole decisions (journal, spill, archive) ------------------------------------------------
_HEAD = struct.Struct("<B16s")


def encode(d: Decision) -> bytes:
    out = bytearray(_HEAD.pack(FORMAT, d.decision_id.bytes))
    _uv(out, d.registry_version)
    out.append(d.outcome)
    _uv(out, _zz(d.accepted_cents))
    _uv(out, _zz(d.rejected_cents))
    _uv(out, 0 if d.upstream_infcode is None else d.upstream_infcode + 1)
    _str(out, d.settlement_id)
    _str(out, d.institution_code)
    _uv(out, len(d.physicians))
    for code in d.physicians:
        _str(out, code)
    out += d.lines
    return bytes(out)


def decode(buf: bytes) -> Decision:
    if len(buf) < _HEAD.size or buf[0] != FORMAT:
        raise CodecError("not a decision record of format 1")
    _, raw = _HEAD.unpack_from(buf)
    r = _Reader(buf)
    r.pos = _HEAD.size
    version = r.uv()
    outcome = r._byte()
    acc, rej = _unzz(r.uv()), _unzz(r.uv())
    infcode = r.uv()
    sid, inst = r.str(), r.str()
    codes = [r.str() for _ in range(r.uv())]
    return Decision(
        uuid.UUID(bytes=raw),
        sid,
        inst,
        version,
        outcome,
        acc,
        rej,
        infcode - 1 if infcode else None,
        codes,
        buf[r.pos :],
    )


LINES_KEY = b'"lines":['


def from_answer(
    decision_id: str,
    settlement_id: str,
    institution_code: str,
    registry_version: int,
    outcome: str,
    accepted: str,
    rejected: str,
    body: bytes,
    inputs: bytes,
    upstream_infcode: int | None = None,
) -> Decision:
    """A decision from what the hot path answered: the response body (its ``lines``
    array) and the lines' inputs JSON (``[[code, day, emergency], ...]``)."""
    lines = _line_list.decode(body[body.index(LINES_KEY) + len(LINES_KEY) - 1 : -1])
    return from_lines(
        decision_id,
        settlement_id,
        institution_code,
        registry_version,
        outcome,
        (accepted, rejected),
        lines,
        _inputs_decoder.decode(inputs),
        upstream_infcode,
    )


def from_lines(
    decision_id: str,
    settlement_id: str,
    institution_code: str,
    registry_version: int,
    outcome: str,
    amounts: tuple[str, str],
    lines: Sequence[_Line | dict[str, Any]],
    inputs: Sequence[Sequence[Any]] | None,
    upstream_infcode: int | None = None,
) -> Decision:
    """A decision from its answered lines and their inputs."""
    blob, codes = encode_lines(lines, inputs)
    return Decision(
        uuid.UUID(decision_id),
        settlement_id,
        institution_code,
        registry_version,
        _OUTCOME[outcome],
        to_cents(amounts[0]),
        to_cents(amounts[1]),
        upstream_infcode,
        codes,
        blob,
    )


def day_of(decision_id: uuid.UUID) -> date:
    return decided_at(decision_id).date()


def row_values(d: Decision) -> tuple[Any, ...]:
    """The decision as a row of ``settlement_decisions``, in :data:`ROW_COLUMNS` order."""
    return (
        d.registry_version,
        d.accepted_cents,
        d.rejected_cents,
        d.decision_id,
        d.outcome,
        0 if d.upstream_infcode is None else d.upstream_infcode,
        d.institution_code,
        d.settlement_id,
        codes_text(d.physicians),
        d.lines,
    )


# The table's columns, in the order that wastes no alignment padding.
ROW_COLUMNS = (
    "registry_version",
    "accepted_cents",
    "rejected_cents",
    "decision_id",
    "outcome",
    "upstream_infcode",
    "institution_code",
    "settlement_id",
    "physicians",
    "lines",
)

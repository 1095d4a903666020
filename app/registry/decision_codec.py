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

import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import msgspec

from app.models.decisions import SettlementDecision
from app.models.partitions import day_bounds, id_floor
from app.registry.decision_lines import (
    FIELDS,
    SEP,
    CodecError,
    Line,
    Reader,
    codes_text,
    decode_lines,
    encode_lines,
    line_list,
    put_str,
    put_uv,
    unzigzag,
    zigzag,
)

__all__ = [
    "FIELDS",
    "SEP",
    "CodecError",
    "codes_text",
    "day_bounds",
    "decode_lines",
    "encode_lines",
    "id_floor",
]

FORMAT = 1
OUTCOMES = ("accept", "reject", "partial")
_OUTCOME = {o: i for i, o in enumerate(OUTCOMES)}
UPSTREAM_ERRORS = (None, "timeout", "refused")
_UPSTREAM_ERROR = {e: i for i, e in enumerate(UPSTREAM_ERRORS)}
# [code, day, emergency] or, for a line naming a second staff code, [..., second code]
_inputs_decoder = msgspec.json.Decoder(list[list[str | bool]] | None)


class Decision(NamedTuple):
    """One logged decision, decoded (``lines`` still compact: see :func:`decode_lines`)."""

    decision_id: uuid.UUID
    settlement_id: str
    institution_code: str
    registry_version: int
    outcome: int
    accepted_cents: int
    rejected_cents: int
    upstream_infcode: int | None  # 前置 mode: the platform's infcode; None: not forwarded
    upstream_error: str | None  # 前置 mode: "timeout" or "refused"; None: answered or not sent
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


# -- whole decisions (journal, spill, archive) ------------------------------------------------
_HEAD = struct.Struct("<B16s")


def encode(d: Decision) -> bytes:
    out = bytearray(_HEAD.pack(FORMAT, d.decision_id.bytes))
    put_uv(out, d.registry_version)
    out.append(d.outcome)
    put_uv(out, zigzag(d.accepted_cents))
    put_uv(out, zigzag(d.rejected_cents))
    put_uv(out, 0 if d.upstream_infcode is None else zigzag(d.upstream_infcode) + 1)
    out.append(_UPSTREAM_ERROR[d.upstream_error])
    put_str(out, d.settlement_id)
    put_str(out, d.institution_code)
    put_uv(out, len(d.physicians))
    for code in d.physicians:
        put_str(out, code)
    out += d.lines
    return bytes(out)


def decode(buf: bytes) -> Decision:
    if len(buf) < _HEAD.size or buf[0] != FORMAT:
        raise CodecError("not a decision record of format 1")
    _, raw = _HEAD.unpack_from(buf)
    r = Reader(buf)
    r.pos = _HEAD.size
    version = r.uv()
    outcome = r.byte()
    acc, rej = unzigzag(r.uv()), unzigzag(r.uv())
    infcode = r.uv()
    error = r.byte()
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
        unzigzag(infcode - 1) if infcode else None,
        UPSTREAM_ERRORS[error],
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
    upstream: tuple[int | None, str | None] = (None, None),
) -> Decision:
    """A decision from what the hot path answered: the response body (its ``lines``
    array) and the lines' inputs JSON (``[[code, day, emergency], ...]``)."""
    lines = line_list.decode(body[body.index(LINES_KEY) + len(LINES_KEY) - 1 : -1])
    return from_lines(
        decision_id,
        settlement_id,
        institution_code,
        registry_version,
        outcome,
        (accepted, rejected),
        lines,
        _inputs_decoder.decode(inputs),
        upstream,
    )


def from_lines(
    decision_id: str,
    settlement_id: str,
    institution_code: str,
    registry_version: int,
    outcome: str,
    amounts: tuple[str, str],
    lines: Sequence[Line | dict[str, Any]],
    inputs: Sequence[Sequence[Any]] | None,
    upstream: tuple[int | None, str | None] = (None, None),
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
        *upstream,
        codes,
        blob,
    )


def as_row(d: Decision) -> SettlementDecision:
    """The decision as the decision log's row (not added to any session)."""
    return SettlementDecision(
        institution_code=d.institution_code,
        decision_id=d.decision_id,
        settlement_id=d.settlement_id,
        registry_version=d.registry_version,
        outcome_code=d.outcome,
        accepted_cents=d.accepted_cents,
        rejected_cents=d.rejected_cents,
        upstream_infcode=d.upstream_infcode,
        upstream_error=d.upstream_error,
        physicians=codes_text(d.physicians),
        encoded_lines=d.lines,
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
        d.upstream_infcode,
        d.upstream_error,
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
    "upstream_error",
    "institution_code",
    "settlement_id",
    "physicians",
    "lines",
)

"""A 2204/2301 fee upload between its judgement and its msgid claim (:class:`FeeDecision`),
made by the reference (``hsa.fee_judge``) or the C fast path (``fast``); the
message's identity for idempotency (:func:`fingerprint`) and its service dates
(:func:`day_of`), which both read the same way; the reference's reading of its dates
(:func:`service_days`: the one service-date rule of both formats, ``day_in_bounds``, is
applied to each date before any memo table is read) and of its inputs as the decision
log keeps them (:func:`fee_inputs_json`, whose bytes the fast path writes in C)."""

from __future__ import annotations

import re
import zlib
from datetime import date
from itertools import repeat

import msgspec

from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.national.render import Malformed
from app.gatekeeper.national.schemas import FEE_TIME_PATTERN, FeeDetail
from app.gatekeeper.plain.checks import DATE_MIN, day_in_bounds
from app.registry.judge import LineResult

_encode = msgspec.json.encode
_days: dict[str, date] = {}
_DIGITS = bytes.maketrans(b"0123456789", b"dddddddddd")
_TIME_SHAPE = b"dddd-dd-dd dd:dd:dd"
_TIME_RE = re.compile(FEE_TIME_PATTERN)
TIME_MESSAGE = "须为 yyyy-MM-dd HH:mm:ss"
LATE_MESSAGE = "服务日期晚于明天 (Asia/Shanghai)"
EARLY_MESSAGE = f"服务日期早于 {DATE_MIN}"


def fee_inputs_json(
    fees: list[FeeDetail], codes: list[str], days: dict[str, date], emergency: int | list[int]
) -> bytes:
    """The decided lines' inputs for the decision log, as ``spill.inputs_json`` writes
    them (``[[physician_code, service_date, emergency(, orders_dr_code)], ...]``); built
    in C (``zip``) where the message has one service date, one emergency flag and no
    second staff code."""
    seconds = [ln.orders_dr_code for ln in fees]
    if isinstance(emergency, int) and len(days) == 1 and not any(seconds):
        day = next(iter(days.values()))
        return _encode(list(zip(codes, repeat(day), repeat(bool(emergency)))))
    flags = [emergency] * len(fees) if isinstance(emergency, int) else emergency
    when = [days[ln.fee_ocur_time[:10]] for ln in fees]
    rows: list[tuple[object, ...]] = list(zip(codes, when, map(bool, flags), strict=True))
    # A line's orders_dr_code (受单/执行) is kept fourth, for its explanation.
    return _encode([(*r, s) if s else r for r, s in zip(rows, seconds, strict=True)])


def fingerprint(body: bytes) -> str:
    """The body's identity for msgid idempotency: its length and CRC-32 (several times
    cheaper than SHA-256 on a 200-line message). Not a cryptographic hash: two different
    bodies with the same msgid from one institution are told apart unless they have the
    same length and CRC (about 1 in 4 billion by accident); a collision made on purpose
    can only come from the institution's own HIS and gets it its own earlier answer."""
    return f"{len(body):x}-{zlib.crc32(body):08x}"


def day_of(prefix: str) -> date:
    d = _days.get(prefix)
    if d is None:
        d = date.fromisoformat(prefix)  # ValueError: no such day
        if len(_days) > 10_000:
            _days.clear()
        _days[prefix] = d
    return d


def service_days(fees: list[FeeDetail]) -> dict[str, date]:
    """The distinct date parts of ``fee_ocur_time`` -> date; Malformed naming the first
    line whose time is not ``yyyy-MM-dd HH:mm:ss`` or whose date does not exist. The
    shape of all lines at once: joined, digits mapped to ``d``, compared."""
    times = [ln.fee_ocur_time for ln in fees]
    joined = "".join(times).encode()
    if joined.translate(_DIGITS) != _TIME_SHAPE * len(times):
        i = next(i for i, t in enumerate(times) if not _TIME_RE.fullmatch(t))
        raise Malformed(f"input.feedetail[{i}].fee_ocur_time", TIME_MESSAGE)
    first = times[0][:10]
    # One date (the usual case) when it occurs n times in the joined times: a date
    # cannot straddle two times of this shape.
    prefixes = [first] if joined.count(first.encode()) == len(times) else {t[:10] for t in times}
    out: dict[str, date] = {}
    for prefix in prefixes:
        try:
            out[prefix] = day = day_of(prefix)
        except ValueError:
            i = next(i for i, t in enumerate(times) if t.startswith(prefix))
            raise Malformed(f"input.feedetail[{i}].fee_ocur_time", "没有这一天") from None
        if not day_in_bounds(day):
            i = next(i for i, t in enumerate(times) if t.startswith(prefix))
            raise Malformed(f"input.feedetail[{i}].fee_ocur_time", day_message(day))
    return out


def day_message(day: date) -> str:
    if day < DATE_MIN:
        return f"费用发生日期 {day} 早于 {DATE_MIN}"
    return f"费用发生日期 {day} 晚于明天 (Asia/Shanghai)"


class FeeDecision:
    """A judged fee upload waiting for its msgid claim (``claimed`` finishes it)."""

    __slots__ = (
        *("amounts", "body", "days", "emergency", "fast", "fees", "inst", "memory", "msgid"),
        *("parts", "rec", "results", "summed", "sns", "codes", "version"),
    )

    def __init__(self, inst: str, msgid: str, body: bytes, fees: list[FeeDetail]) -> None:
        self.inst, self.msgid, self.body, self.fees = inst, msgid, body, fees
        # From the C fast path (fast.py): answer lines, plain lines, inputs, err_msg.
        self.fast: tuple[bytes, bytes, bytes, bytes] | None = None
        self.amounts: list[str | None] = []
        self.days: dict[str, date] = {}
        self.emergency: int | list[int] = 0
        self.codes: list[str] = []
        # The line memory's text of the message and its one visit (recent.py), or None.
        self.memory: tuple[bytes, str | None] | None = None
        self.parts: list[str] = []
        self.sns: list[str] = []
        self.results: list[LineResult] = []
        self.summed = ("", "", "")
        self.version = 0
        self.rec: Record

"""The settlement decision: decoded request -> response bytes, in one tight pass.

Per line, the fast path is one dict lookup and a tuple index: the code's verdict in the
institution's memo table for the service date, then the result by the ``emergency``
flag; a result is a ``str``, its own pre-encoded JSON fragment, appended next to the
line id; a run of lines on another service date switches tables. A memo miss (first
sight of a code at this institution on this date) takes the general path, which judges
and fills the memo.

Amounts are summed as exact integer cents. The usual shape (every line has an amount
with exactly two decimals) is checked on all amounts at once (joined with commas, digits
mapped to ``d`` by ``bytes.translate``, ``d.dd,`` counted), parsed by msgspec as one JSON
array and summed (see :func:`_plain_floats` for why that is exact). Anything else goes
through a per-line parser that also names each bad ``lines[i].amount`` for the 422.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from itertools import compress

import msgspec

from app.core.errors import ValidationFailed, field_error
from app.gatekeeper.plain.checks import DATE_MIN, check_service_dates
from app.gatekeeper.plain.schemas import SettlementLine
from app.registry.judge import ALL_RESULTS, LineResult, combine
from app.registry.memo import InstContext

AMOUNT_RE = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?")
# bytes.translate table: ASCII digits -> "d", "." and "," kept, anything else -> "?".
_SHAPE = bytes(
    ord("d") if chr(b).isdigit() and b < 128 else b if b in b".," else ord("?") for b in range(256)
)
_json_str = msgspec.json.encode
_floats = msgspec.json.Decoder(list[float])
_OK = {r: r.ok for r in ALL_RESULTS}
FLOAT_EXACT_LIMIT = 1e13  # yuan times (lines + 2); see _plain_floats


def judge_lines(ctx: InstContext, lines: Sequence[SettlementLine], last: date) -> list[str]:
    """The response's line parts in request order: id, result, id, result... (a result
    is its own JSON fragment, see LineResult). Every service date is checked against
    DATE_MIN..``last`` before its memo table is read (422 naming the first line out of
    range). The caller holds the store's lock."""
    try:
        return _judge_fast(ctx, lines, last)
    except KeyError:  # a memo miss, a new run of dates: the general path checks, fills in
        return _judge_general(ctx, lines)


def _judge_fast(ctx: InstContext, lines: Sequence[SettlementLine], last: date) -> list[str]:
    if ctx.epoch != ctx.budget[1]:  # the memo started a new epoch: judge_code clears
        raise KeyError(ctx.epoch)
    tables = ctx.tables
    d = lines[0].service_date
    if not DATE_MIN <= d <= last:
        raise KeyError(d)
    table = tables[d]
    parts: list[str] = []
    add = parts.append
    for ln in lines:
        if ln.service_date != d:  # bills list their days in runs: switch tables per run
            d = ln.service_date
            if not DATE_MIN <= d <= last:  # the general path names the line
                raise KeyError(d)
            table = tables[d]
        add(ln.line_id)
        if ln.performer_code:  # a second person on the line: both judged
            add(
                combine(
                    table[ln.physician_code][ln.emergency], table[ln.performer_code][ln.emergency]
                )
            )
        else:
            add(table[ln.physician_code][ln.emergency])
    return parts


def _judge_general(ctx: InstContext, lines: Sequence[SettlementLine]) -> list[str]:
    check_service_dates(lines)  # every line's date, before any memo table is read
    judge = ctx.judge_code
    parts: list[str] = [""] * (2 * len(lines))
    parts[0::2] = [ln.line_id for ln in lines]
    parts[1::2] = [judge(ln.physician_code, ln.service_date)[ln.emergency] for ln in lines]
    for i, ln in enumerate(lines):
        if ln.performer_code:
            second = judge(ln.performer_code, ln.service_date)[ln.emergency]
            parts[2 * i + 1] = combine(parts[2 * i + 1], second)  # type: ignore[arg-type]
    return parts


def settle(
    results: list[LineResult], amounts: list[str | None], n_accepted: int
) -> tuple[str, int, int]:
    """(outcome, accepted cents, rejected cents) given the results and how many of them
    are ACCEPTED; ValidationFailed naming every malformed ``lines[i].amount``. Sums
    count only lines carrying an amount."""
    n = len(results)
    oks: list[bool] | None = None  # None: every line accepted
    outcome = "accept"
    if n_accepted != n:
        oks = list(map(_OK.__getitem__, results))
        n_ok = oks.count(True)
        if n_ok == n:
            oks = None
        else:
            outcome = "reject" if n_ok == 0 else "partial"
    try:
        floats = _plain_floats(amounts)  # type: ignore[arg-type]
    except TypeError:  # a line without an amount (None cannot be joined)
        floats = None
        if not any(amounts):  # no line carries one ("" never passes the decoder)
            return outcome, 0, 0
    if floats is not None:
        total = sum(floats)
        accepted = total if oks is None else sum(compress(floats, oks))
        if total * (n + 2) < FLOAT_EXACT_LIMIT:
            cents, acc = round(total * 100), round(accepted * 100)
            return outcome, acc, cents - acc
    exact = _cents_checked(amounts)
    acc = sum(exact) if oks is None else sum(compress(exact, oks))
    return outcome, acc, sum(exact) - acc


def _plain_floats(amounts: list[str]) -> list[float] | None:
    """The amounts as floats when every one is plain: digits, a dot, exactly two digits
    (at most 15 integer digits: the decoder bounds the length to 18); None otherwise.
    All at once, in C: joined with commas, digits mapped to ``d`` and anything but ``.``
    and ``,`` to ``?``, counted; then the joined text is parsed as one JSON array of
    numbers (a leading zero or a comma inside an amount fails or miscounts there).

    Summing these floats is exact in cents while (lines + 2) * total < FLOAT_EXACT_LIMIT:
    each float is the double nearest its decimal a_i (relative error <= u = 2**-53), a
    plain left-to-right sum of n of them adds at most (n - 1) * u * A (A the exact
    total), and ``* 100`` rounds once more, so the result is within 100 * (n + 1) * u * A
    < 0.5 / 4 of the integer 100 * A, which ``round`` returns. (So up to 1e10 yuan with
    1000 lines; at 20 lines up to 4e11.) Past the bound :func:`_cents_checked` sums
    integers."""
    n = len(amounts)
    joined = ",".join(amounts).encode()
    shape = joined.translate(_SHAPE) + b","
    if b"?" in shape or shape.count(b".") != n or shape.count(b"d.dd,") != n:
        return None
    try:
        floats = _floats.decode(b"[%b]" % joined)
    except msgspec.DecodeError:
        return None
    return floats if len(floats) == n else None


def _cents_checked(amounts: list[str | None]) -> list[int]:
    """Each amount in cents (0 without one), any decimal shape; 422 naming the bad ones."""
    cents: list[int] = []
    errors = []
    for i, a in enumerate(amounts):
        m = None if a is None else AMOUNT_RE.fullmatch(a)
        if a is None:
            cents.append(0)
        elif m is None:
            message = "must be a decimal string with at most 2 decimals"
            errors.append(field_error(f"lines[{i}].amount", message))
        else:
            cents.append(int(m.group(1)) * 100 + int((m.group(2) or "").ljust(2, "0")))
    if errors:
        raise ValidationFailed(errors)
    return cents


def check_line_ids(parts: list[str]) -> None:
    """ValidationFailed naming each repeated line id (``parts``: id, fragment, ...)."""
    ids = parts[0::2]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        errors = []
        for i, lid in enumerate(ids):
            if lid in seen:
                errors.append(field_error(f"lines[{i}].line_id", f"duplicate line_id {lid!r}"))
            seen.add(lid)
        raise ValidationFailed(errors)


def money(cents: int) -> str:
    """Cents as a decimal string with two decimals."""
    return "%d.%02d" % divmod(cents, 100) if cents else "0.00"  # noqa: UP031


def json_inner(s: str) -> str:
    """``s`` as it goes between the quotes of a JSON string."""
    return _json_str(s)[1:-1].decode()


def render(
    settlement_id: str,
    decision_id: str,
    version: int,
    outcome: str,
    accepted: str,
    rejected: str,
    results: list[LineResult],
    parts: list[str],
    request_body: bytes,
) -> bytes:
    """The response body. When the request body has no backslash, every decoded string
    is its own JSON text between quotes (a raw quote or control character cannot occur
    in JSON), so ids are spliced in as they are; otherwise they are escaped."""
    if b"\\" in request_body:
        parts[0::2] = [json_inner(i) for i in parts[0::2]]
        settlement_id = json_inner(settlement_id)
    parts[-1] = results[-1].last  # close the array instead of opening another line
    lines = "".join(parts).encode()
    return render_around(settlement_id, decision_id, version, outcome, accepted, rejected, lines)


def render_around(
    settlement_id: str,
    decision_id: str,
    version: int,
    outcome: str,
    accepted: str,
    rejected: str,
    lines: bytes,
) -> bytes:
    """The response body around its lines (each line's fields after ``{"line_id":"``)."""
    head = (
        f'{{"settlement_id":"{settlement_id}","decision_id":"{decision_id}",'
        f'"registry_version":{version},"outcome":"{outcome}",'
        f'"accepted_amount":"{accepted}","rejected_amount":"{rejected}",'
        '"lines":[{"line_id":"'
    )
    return b"%b%b]}" % (head.encode(), lines)

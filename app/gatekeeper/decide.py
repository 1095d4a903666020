"""The settlement decision: decoded request -> response bytes, in one tight pass.

Per line, the fast path is two dict lookups and a tuple index: code -> registry key
(``dict.get``: the shared entry, or the code itself when unknown), key -> verdict (the
institution's memo table for the date), verdict -> result (by the ``emergency`` flag);
the result carries its pre-encoded JSON fragment. A memo miss (first sight of an entry
or unknown code at this institution on this date) or mixed service dates take the
general path, which judges and fills the memo.

Amounts are summed as exact integer cents. The usual shape (every line has an amount
with exactly two decimals) is checked on all amounts at once (join, map digits to ``d``
with ``bytes.translate``, count ``d.dd|``) and summed in C (see :func:`_sum_cents` for
why that is exact). Anything else goes through a per-line parser that also names each
bad ``lines[i].amount`` for the 422.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import compress
from math import fsum

import msgspec

from app.core.errors import ValidationFailed, field_error
from app.gatekeeper.schemas import SettlementLine
from app.registry.compact import InstContext
from app.registry.judge import ACCEPTED, LineResult

AMOUNT_RE = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?")
# bytes.translate table: ASCII digits -> "d", "." and "," kept, anything else -> "?".
_SHAPE = bytes(
    ord("d") if chr(b).isdigit() and b < 128 else b if b in b".," else ord("?") for b in range(256)
)
_json_str = msgspec.json.encode
_floats = msgspec.json.Decoder(list[float])
FLOAT_EXACT_LIMIT = 1e11  # yuan; see _plain_floats


def judge_lines(
    ctx: InstContext, lines: Sequence[SettlementLine]
) -> tuple[list[LineResult], list[str]]:
    """Each line's result and the response's line parts (id, fragment, id, fragment...),
    in request order. The caller holds the store's lock."""
    try:
        return _judge_fast(ctx, lines)
    except KeyError:  # a memo miss or mixed service dates: the general path fills in
        return _judge_general(ctx, lines)


def _judge_fast(
    ctx: InstContext, lines: Sequence[SettlementLine]
) -> tuple[list[LineResult], list[str]]:
    d0 = lines[0].service_date
    table = ctx.tables[d0]
    results: list[LineResult] = []
    parts: list[str] = []
    add_result, add_part = results.append, parts.append
    for ln in lines:
        if ln.service_date != d0:
            raise KeyError(ln.service_date)
        r = table[ln.physician_code][ln.emergency]
        add_result(r)
        add_part(ln.line_id)
        add_part(r.frag)
    return results, parts


def _judge_general(
    ctx: InstContext, lines: Sequence[SettlementLine]
) -> tuple[list[LineResult], list[str]]:
    judge = ctx.judge_code
    results = [judge(ln.physician_code, ln.service_date)[ln.emergency] for ln in lines]
    parts: list[str] = [""] * (2 * len(lines))
    parts[0::2] = [ln.line_id for ln in lines]
    parts[1::2] = [r.frag for r in results]
    return results, parts


def settle(results: list[LineResult], amounts: list[str | None]) -> tuple[str, int, int]:
    """(outcome, accepted cents, rejected cents); ValidationFailed naming every malformed
    ``lines[i].amount``. Sums count only lines carrying an amount."""
    n = len(results)
    oks: list[bool] | None = None  # None: every line accepted
    outcome = "accept"
    if results.count(ACCEPTED) != n:
        oks = [r.ok for r in results]
        n_ok = oks.count(True)
        if n_ok == n:
            oks = None
        else:
            outcome = "reject" if n_ok == 0 else "partial"
    if not any(amounts):  # no line carries an amount ("" never passes the decoder)
        return outcome, 0, 0
    floats = _plain_floats(amounts) if all(amounts) else None  # type: ignore[arg-type]
    if floats is not None:
        total = fsum(floats)
        accepted = total if oks is None else fsum(compress(floats, oks))
        if total < FLOAT_EXACT_LIMIT:
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

    Summing these floats with ``math.fsum`` is exact in cents below FLOAT_EXACT_LIMIT:
    each float is the double nearest its decimal a (within 2**-53 * a), fsum returns the
    double nearest the sum of those doubles, ``* 100`` rounds once more; for a total
    A < 1e11 the result is within 100 * 2**-53 * 3A < 0.004 of the integer 100 * A,
    which ``round`` returns. At or above the limit :func:`_cents_checked` sums integers."""
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
    return f"{cents // 100}.{cents % 100:02d}"


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
    parts[-1] = results[-1].last
    return (
        f'{{"settlement_id":"{settlement_id}","decision_id":"{decision_id}",'
        f'"registry_version":{version},"outcome":"{outcome}",'
        f'"accepted_amount":"{accepted}","rejected_amount":"{rejected}",'
        '"lines":[{"line_id":"' + "".join(parts) + "]}"
    ).encode()

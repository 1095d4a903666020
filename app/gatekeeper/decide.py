"""The settlement decision: validated request -> response bytes, with no per-line bytecode.

Per line the work is a chain of C-level ``map`` calls over the decoded Structs: code ->
registry key (``dict.get``), key -> verdict (the institution's memo table for the date),
verdict -> result (by the ``emergency`` flag), result -> pre-encoded JSON fragment. Only a
memo miss (first sight of an entry or unknown code at this institution on this date),
mixed service dates or unusual amounts take a Python-level path.

Amounts are exact integer cents. The usual shape (every line has an amount with exactly
two decimals) is checked on all amounts at once: join, map digits to ``d`` with
``bytes.translate``, count ``.dd|`` and friends. Anything else goes through a per-line
parser that also names the bad line for the 422.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import compress
from operator import attrgetter, getitem

import msgspec

from app.core.errors import ValidationFailed, field_error
from app.gatekeeper.schemas import SettlementLine
from app.registry.compact import InstContext
from app.registry.judge import CODE_MALFORMED, LineResult, Verdict

G_CODE = attrgetter("physician_code")
G_DATE = attrgetter("service_date")
G_EMERGENCY = attrgetter("emergency")
G_ID = attrgetter("line_id")
G_AMOUNT = attrgetter("amount")
G_FRAG = attrgetter("frag")
G_OK = attrgetter("ok")

AMOUNT_RE = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?")
# bytes.translate table: ASCII digits -> "d", "." and "|" kept, anything else -> "?".
_SHAPE = bytes(
    ord("d") if chr(b).isdigit() and b < 128 else b if b in b".|" else ord("?") for b in range(256)
)
_json_str = msgspec.json.encode


def judge_lines(ctx: InstContext, lines: Sequence[SettlementLine]) -> list[LineResult]:
    """Each line's result, in order. The caller holds the store's lock."""
    get = ctx.registry.physicians.get
    codes = list(map(G_CODE, lines))
    keys = list(map(get, codes, codes))  # entry, or the code itself when unknown
    dates = list(map(G_DATE, lines))
    d0 = dates[0]
    verdicts: list[Verdict]
    if dates.count(d0) == len(dates):
        table = ctx.table(d0)
        try:
            verdicts = list(map(table.__getitem__, keys))
        except KeyError:
            verdicts = [table.get(k) or ctx.verdict(k, d0) for k in keys]
    else:
        verdicts = [
            ctx.table(d).get(k) or ctx.verdict(k, d) for k, d in zip(keys, dates, strict=True)
        ]
    bad = ctx.nonconforming
    if bad and not bad.isdisjoint(codes):
        malformed = ctx.verdicts[CODE_MALFORMED]
        verdicts = [malformed if c in bad else v for c, v in zip(codes, verdicts, strict=True)]
    return list(map(getitem, verdicts, map(G_EMERGENCY, lines)))


def amount_cents(lines: Sequence[SettlementLine]) -> list[int] | None:
    """Each line's amount in cents (lines without an amount: 0), or None when no line
    carries one. Raises ValidationFailed naming every malformed ``lines[i].amount``."""
    amounts = list(map(G_AMOUNT, lines))
    n = len(amounts)
    missing = amounts.count(None)
    if missing == n:
        return None
    if not missing:
        joined = "|".join(amounts)
        shape = joined.encode().translate(_SHAPE) + b"|"
        if (
            shape.count(b".dd|") == n
            and shape.count(b".") == n
            and shape.count(b"|") == n
            and shape.count(b"d") == len(shape) - 2 * n
            and b"|." not in shape
            and shape[0] != 46  # "."
        ):
            return list(map(int, joined.replace(".", "").split("|")))
    return _amount_cents_slow(amounts)


def _amount_cents_slow(amounts: list[str | None]) -> list[int]:
    cents: list[int] = []
    errors = []
    for i, a in enumerate(amounts):
        if a is None:
            cents.append(0)
            continue
        m = AMOUNT_RE.fullmatch(a)
        if m is None:
            errors.append(
                field_error(
                    f"lines[{i}].amount", "must be a decimal string with at most 2 decimals"
                )
            )
            continue
        frac = (m.group(2) or "").ljust(2, "0")
        cents.append(int(m.group(1)) * 100 + int(frac))
    if errors:
        raise ValidationFailed(errors)
    return cents


def check_line_ids(lines: Sequence[SettlementLine]) -> list[str]:
    """The line ids, or ValidationFailed naming each repeated one."""
    ids = list(map(G_ID, lines))
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        errors = []
        for i, lid in enumerate(ids):
            if lid in seen:
                errors.append(field_error(f"lines[{i}].line_id", f"duplicate line_id {lid!r}"))
            seen.add(lid)
        raise ValidationFailed(errors)
    return ids


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def json_inner(s: str) -> str:
    """``s`` as it goes between the quotes of a JSON string."""
    return _json_str(s)[1:-1].decode()


class Outcome:
    """The decided settlement: its totals and the response body."""

    __slots__ = ("accepted", "body", "outcome", "rejected")

    def __init__(self, outcome: str, accepted: str, rejected: str, body: bytes) -> None:
        self.outcome = outcome
        self.accepted = accepted
        self.rejected = rejected
        self.body = body


def render(
    settlement_id: str,
    decision_id: str,
    version: int,
    ids: list[str],
    results: list[LineResult],
    cents: list[int] | None,
    escaped: bool,
) -> Outcome:
    """The response. ``escaped``: the request body had a backslash, so ids may need
    JSON escaping (otherwise a decoded string is its own JSON text between quotes)."""
    n = len(results)
    oks = list(map(G_OK, results))
    n_ok = oks.count(True)
    outcome = "accept" if n_ok == n else "reject" if n_ok == 0 else "partial"
    if cents is None:
        accepted = rejected = "0.00"
    else:
        acc = sum(compress(cents, oks))
        accepted, rejected = money(acc), money(sum(cents) - acc)
    if escaped:
        ids = list(map(json_inner, ids))
        settlement_id = json_inner(settlement_id)
    parts = [""] * (2 * n)
    parts[0::2] = ids
    parts[1::2] = list(map(G_FRAG, results))
    parts[-1] = results[-1].last
    head = (
        f'{{"settlement_id":"{settlement_id}","decision_id":"{decision_id}",'
        f'"registry_version":{version},"outcome":"{outcome}",'
        f'"accepted_amount":"{accepted}","rejected_amount":"{rejected}","lines":'
    )
    body = "".join((head, '[{"line_id":"', "".join(parts), "]}")).encode()
    return Outcome(outcome, accepted, rejected, body)

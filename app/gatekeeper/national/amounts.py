"""Exact amounts of the national format: ``det_item_fee_sumamt`` as a JSON number or a
decimal string, never through binary floating point.

The decoder keeps each amount's raw JSON text (``msgspec.Raw``). The usual shape (every
line carries a plain ``d.dd`` number or string) is recognised over all lines at once: the
raw texts are joined with commas, quotes dropped, digits mapped to ``d`` by
``bytes.translate`` and ``d.dd,`` counted; the joined text split on commas is then the
canonical amounts. Anything else (one decimal, exponent, trailing zeros, strings with
escapes) goes through :func:`_one`, which reads the text exactly (``Decimal`` of the JSON
number's own digits) and names the field it refuses.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from itertools import compress

import msgspec

from app.gatekeeper.plain.decide import _OK, _SHAPE, FLOAT_EXACT_LIMIT
from app.registry.judge import LineResult

MAX_INT_DIGITS = 16
_STRING_RE = re.compile(r"([0-9]{1,16})(?:\.([0-9]{1,2}))?")
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** MAX_INT_DIGITS
_floats = msgspec.json.Decoder(list[float])
_MESSAGE = "金额须为非负数值或数字字符串, 至多 16 位整数和 2 位小数"


class AmountError(ValueError):
    """The amount of line ``index`` is not acceptable."""

    def __init__(self, index: int, message: str = _MESSAGE) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def canonical_amounts(raws: list[msgspec.Raw]) -> tuple[list[str | None], list[float] | None]:
    """Each line's amount as a canonical decimal string with exactly two decimals
    (``"12.50"``), None where a line has none; AmountError naming the first bad one.
    In the usual shape also the amounts as floats, for :func:`totals` (exact there,
    see ``decide._plain_floats``)."""
    n = len(raws)
    joined = b",".join(raws).replace(b'"', b"")
    shape = joined.translate(_SHAPE) + b","
    # n amounts joined by n - 1 commas (a comma inside an amount, "1,2.34", is not one)
    usual = shape.count(b",") == n and shape.count(b".") == n and shape.count(b"d.dd,") == n
    if b"?" not in shape and usual:
        lead = b"," + joined
        if lead.count(b",0") == lead.count(b",0.") and _short(shape):
            floats = _floats.decode(b"[%b]" % joined)
            return joined.decode().split(","), floats  # type: ignore[return-value]
    return [_one(i, r) for i, r in enumerate(raws)], None


def totals(
    results: list[LineResult], amounts: list[str | None], floats: list[float] | None
) -> tuple[str, int, int]:
    """(outcome, accepted cents, rejected cents); sums count lines carrying an amount."""
    n = len(results)
    oks = list(map(_OK.__getitem__, results))
    n_ok = oks.count(True)
    outcome = "accept" if n_ok == n else "reject" if n_ok == 0 else "partial"
    if floats is not None:
        total = sum(floats)
        accepted = total if n_ok == n else sum(compress(floats, oks))
        if total * (n + 2) < FLOAT_EXACT_LIMIT:
            cents, acc = round(total * 100), round(accepted * 100)
            return outcome, acc, cents - acc
    acc, rej = exact_totals(amounts, oks)
    return outcome, acc, rej


def _short(shape: bytes) -> bool:
    """No amount has more than 16 integer digits."""
    return b"d" * (MAX_INT_DIGITS + 1) + b"." not in shape


def _one(index: int, raw: msgspec.Raw) -> str | None:
    text = bytes(raw)
    if not text or text == b"null":
        return None
    if text[:1] == b'"':
        try:
            s = msgspec.json.decode(text, type=str)
        except msgspec.DecodeError:
            raise AmountError(index) from None
        m = _STRING_RE.fullmatch(s)
        if m is None:
            raise AmountError(index)
        return f"{int(m.group(1))}.{(m.group(2) or '').ljust(2, '0')}"
    if text[:1] not in b"0123456789":  # negative, true/false, objects, arrays
        raise AmountError(index)
    try:
        value = Decimal(text.decode())
    except (InvalidOperation, UnicodeDecodeError):
        raise AmountError(index) from None
    if not value.is_finite() or value >= _LIMIT:
        raise AmountError(index)
    cents = value.quantize(_CENT)
    if cents != value:
        raise AmountError(index)
    return f"{cents:.2f}"


def to_cents(amount: str) -> int:
    """A canonical amount (``"12.50"``) in integer cents."""
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int(frac)


def exact_totals(amounts: list[str | None], oks: list[bool]) -> tuple[int, int]:
    """(accepted cents, rejected cents), by integer arithmetic."""
    acc = rej = 0
    for a, ok in zip(amounts, oks, strict=True):
        if a is not None:
            if ok:
                acc += to_cents(a)
            else:
                rej += to_cents(a)
    return acc, rej

"""Exact amounts of the national format: ``det_item_fee_sumamt`` as a JSON number or a
decimal string, never through binary floating point.

The decoder keeps each amount's raw JSON text (``msgspec.Raw``). The usual shape (every
line carries a plain ``d.dd`` number or string) is recognised over all lines at once: the
raw texts are joined with commas, quotes dropped, digits mapped to ``d`` by
``bytes.translate`` and ``d.dd,`` counted; the joined text split on commas is then the
canonical amounts. Anything else goes through :func:`_one`, which reads the text exactly
(``Decimal`` of the JSON number's own digits, or of the string) and judges the amount by
its value: ``58``, ``58.0``, ``"58.0000"`` (a 4-scale database decimal through
``ToString``) and ``5.8e1`` are all 58.00; negative amounts (refund lines, 退费) are
signed; a value with a non-zero third decimal (``"12.345"``) is refused, naming the
field. Totals are signed too (:func:`signed_money`).

``cnt`` and ``pric`` are not judged, only read: a JSON number or a decimal string, any
scale (the platform's 16,4 and 16,6), else the field is named (:func:`check_number`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from itertools import compress

import msgspec

from app.gatekeeper.plain.decide import _OK, _SHAPE, FLOAT_EXACT_LIMIT, money
from app.registry.judge import LineResult

MAX_INT_DIGITS = 16
_STRING_RE = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,32})?")
_NUMBER_RE = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,32})?(?:[eE][-+]?[0-9]{1,3})?")
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** MAX_INT_DIGITS
_floats = msgspec.json.Decoder(list[float])
_MESSAGE = "金额须为数值或数字字符串, 至多 16 位整数"
_SCALE = "金额至多 2 位小数 (第 3 位起须为 0)"
_NUMBER = "须为数值或数字字符串, 至多 16 位整数"


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


def decimal_of(raw: msgspec.Raw) -> Decimal | None:
    """A JSON number or decimal string read exactly; None when absent or null;
    ValueError when it is neither (or past 16 integer digits)."""
    text = bytes(raw)
    if not text or text == b"null":
        return None
    if text[:1] == b'"':
        try:
            s = msgspec.json.decode(text, type=str)
        except msgspec.DecodeError:
            raise ValueError(text) from None
        if _STRING_RE.fullmatch(s) is None:
            raise ValueError(s)
    else:
        s = text.decode("ascii", "replace")
        if _NUMBER_RE.fullmatch(s) is None:  # true/false, objects, arrays, 01
            raise ValueError(s)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(s) from None
    if not value.is_finite() or abs(value) >= _LIMIT:
        raise ValueError(s)
    return value


def _one(index: int, raw: msgspec.Raw) -> str | None:
    try:
        value = decimal_of(raw)
    except ValueError:
        raise AmountError(index) from None
    if value is None:
        return None
    cents = value.quantize(_CENT)
    if cents != value:
        raise AmountError(index, _SCALE)
    return "0.00" if not cents else f"{cents:.2f}"


def check_number(raw: msgspec.Raw) -> str | None:
    """None when ``raw`` (``cnt``, ``pric``) is absent, null, a number or a decimal
    string; else why not."""
    try:
        decimal_of(raw)
    except ValueError:
        return _NUMBER
    return None


def to_cents(amount: str) -> int:
    """A canonical amount (``"12.50"``, ``"-3.00"``) in integer cents."""
    whole, _, frac = amount.partition(".")
    cents = abs(int(whole)) * 100 + int(frac)
    return -cents if whole.startswith("-") else cents


def signed_money(cents: int) -> str:
    """Cents as a decimal string with two decimals, signed (``"-12.50"``)."""
    return "-" + money(-cents) if cents < 0 else money(cents)


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

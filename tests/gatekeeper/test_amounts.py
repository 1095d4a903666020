"""Amount sums are exact in cents whatever the shape of the amounts (the fast path's
floating-point shortcut included), and every malformed amount is named."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.gatekeeper.plain.decide import FLOAT_EXACT_LIMIT, settle
from app.registry.judge import ACCEPTED, OVERRIDDEN, REJECTED, LineResult

RESULTS = [ACCEPTED, REJECTED["AGREEMENT_SUSPENDED"], OVERRIDDEN["NOT_AT_INSTITUTION"]]


@st.composite
def amount(draw: st.DrawFn) -> str | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    whole = str(draw(st.integers(0, 10 ** draw(st.integers(1, 15)) - 1)))
    if draw(st.booleans()):
        whole = whole.zfill(draw(st.integers(1, 15)))  # leading zeros are fine
    decimals = draw(st.sampled_from(["", ".5", ".50", ".05", ".99", ".00", ".1"]))
    if draw(st.integers(0, 3)):
        decimals = "." + str(draw(st.integers(0, 99))).zfill(2)
    return whole + decimals


def expected(results: list[LineResult], amounts: list[str | None]) -> tuple[str, int, int]:
    oks = [r.ok for r in results]
    outcome = "accept" if all(oks) else "reject" if not any(oks) else "partial"
    acc = sum((Decimal(a) for a, ok in zip(amounts, oks, strict=True) if a and ok), Decimal(0))
    rej = sum((Decimal(a) for a, ok in zip(amounts, oks, strict=True) if a and not ok), Decimal(0))
    return outcome, int(acc * 100), int(rej * 100)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(RESULTS), amount()), min_size=1, max_size=300))
def test_sums_are_exact(rows: list[tuple[LineResult, str | None]]) -> None:
    results = [r for r, _ in rows]
    amounts = [a for _, a in rows]
    assert settle(results, amounts, results.count(ACCEPTED)) == expected(results, amounts)


def test_exact_at_and_beyond_the_float_limit() -> None:
    limit = int(FLOAT_EXACT_LIMIT)
    for amounts in (
        [f"{limit // 4 - 1}.99", "0.01"],
        [f"{limit // 8}.33"] * 2,
        [f"{limit // 1002 // 1000}.37"] * 1000,
        [f"{limit // 1002 // 1000 + 1}.37"] * 1000,
        ["999999999999999.99"] * 1000,
        ["0.10", "0.20", "0.30"] * 333,
        ["12345678901234.56", "0.07"],
    ):
        results = [ACCEPTED] * len(amounts)
        assert settle(results, list(amounts), len(amounts)) == expected(results, list(amounts))


@pytest.mark.parametrize(
    "bad",
    ["1.234", "-1.00", "+1.00", "1e2", "1.", ".5", "1..0", "1.2.3", " 1", "1_000", "0x10", "١٢"],
)
def test_malformed_amounts_are_named(bad: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        settle([ACCEPTED, ACCEPTED], ["1.00", bad], 2)
    assert err.value.extra["errors"] == [
        {"field": "lines[1].amount", "message": "must be a decimal string with at most 2 decimals"}
    ]

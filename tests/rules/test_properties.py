"""Property tests (hypothesis) of the replay.

- The standing of a period (deducted, remaining, thresholds reached) does not depend on
  the order in which the same deductions arrive.
- Reversing a deduction restores exactly the standing, firings and bans that held
  without it, and its diff mirrors the one recording it produced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import (
    Deduction,
    Policy,
    get_policy,
    record_deduction,
    replay,
    reverse_deduction,
)
from app.rules.model import ConsecutiveRule, Threshold

ZHEJIANG = get_policy("zhejiang-2014")
LANZHOU = get_policy("lanzhou-2014")
NHSA = get_policy("nhsa-2024")
LANZHOU_ANCHOR = date(2024, 5, 1)

Row = tuple[str, int, date, str]  # item, points, decided_on, region
SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def entries(
    draw: st.DrawFn, policy: Policy, first: date, days: int, max_size: int = 12
) -> list[Row]:
    """(item, points, decided_on, region) tuples of ``policy`` within ``days`` of ``first``."""
    size = draw(st.integers(min_value=1, max_value=max_size))
    out: list[Row] = []
    for _ in range(size):
        item = draw(st.sampled_from(policy.items))
        points = draw(st.integers(min_value=item.points[0], max_value=item.points[1]))
        offset = draw(st.integers(min_value=0, max_value=days))
        region = draw(st.sampled_from(["330100", "330200"]))
        out.append((item.id, points, first + timedelta(days=offset), region))
    return out


def _ledger(policy: Policy, rows: list[Row], anchor: date | None = None) -> list[Deduction]:
    """Deductions in arrival order: the sequence is the position in ``rows``."""
    return [
        Deduction(f"d{n}", item, points, on, sequence=n, region=region, anchor=anchor)
        for n, (item, points, on, region) in enumerate(rows)
    ]


def _standing(
    policy: Policy, ledger: list[Deduction]
) -> list[tuple[str, int, int, frozenset[str]]]:
    return [(p.key, p.deducted, p.remaining, p.reached) for p in replay(policy, ledger).periods]


def _relabel(rows: list[Row], order: Iterable[int]) -> list[tuple[int, Row]]:
    """The same deductions (same ids) arriving in ``order``."""
    return [(n, rows[n]) for n in order]


def _ledger_in_order(
    policy: Policy, rows: list[Row], order: Iterable[int], anchor: date | None = None
) -> list[Deduction]:
    return [
        Deduction(f"d{n}", item, points, on, sequence=seq, region=region, anchor=anchor)
        for seq, (n, (item, points, on, region)) in enumerate(_relabel(rows, order))
    ]


# ---- arrival order -----------------------------------------------------------------


@SETTINGS
@given(data=st.data(), rows=entries(ZHEJIANG, date(2026, 1, 1), 364))
def test_zhejiang_2014_standing_of_a_year_ignores_arrival_order(
    data: st.DataObject, rows: list[Row]
) -> None:
    order = data.draw(st.permutations(range(len(rows))))
    base = _ledger_in_order(ZHEJIANG, rows, range(len(rows)))
    shuffled = _ledger_in_order(ZHEJIANG, rows, order)
    assert _standing(ZHEJIANG, base) == _standing(ZHEJIANG, shuffled)


@SETTINGS
@given(data=st.data(), rows=entries(ZHEJIANG, date(2026, 3, 2), 0))
def test_zhejiang_2014_same_day_deductions_in_any_arrival_order(
    data: st.DataObject, rows: list[Row]
) -> None:
    """All decided the same day: the arrival sequence alone orders the replay."""
    order = data.draw(st.permutations(range(len(rows))))
    base = _ledger_in_order(ZHEJIANG, rows, range(len(rows)))
    shuffled = _ledger_in_order(ZHEJIANG, rows, order)
    assert _standing(ZHEJIANG, base) == _standing(ZHEJIANG, shuffled)


@SETTINGS
@given(data=st.data(), rows=entries(LANZHOU, date(2024, 5, 1), 730, max_size=8))
def test_lanzhou_2014_standing_of_a_term_ignores_arrival_order(
    data: st.DataObject, rows: list[Row]
) -> None:
    order = data.draw(st.permutations(range(len(rows))))
    base = _ledger_in_order(LANZHOU, rows, range(len(rows)), LANZHOU_ANCHOR)
    shuffled = _ledger_in_order(LANZHOU, rows, order, LANZHOU_ANCHOR)
    assert _standing(LANZHOU, base) == _standing(LANZHOU, shuffled)


@SETTINGS
@given(data=st.data(), rows=entries(NHSA, date(2026, 1, 1), 30, max_size=6))
def test_nhsa_2024_standing_of_a_year_ignores_arrival_order(
    data: st.DataObject, rows: list[Row]
) -> None:
    order = data.draw(st.permutations(range(len(rows))))
    base = _ledger_in_order(NHSA, rows, range(len(rows)))
    shuffled = _ledger_in_order(NHSA, rows, order)
    assert _standing(NHSA, base) == _standing(NHSA, shuffled)


# ---- reversal ----------------------------------------------------------------------


def _check_reversal(policy: Policy, ledger: list[Deduction], index: int) -> None:
    gone = ledger[index]
    without = [d for d in ledger if d.id != gone.id]
    expected = replay(policy, without)

    reversed_ = reverse_deduction(policy, ledger, gone.id)
    assert reversed_.after == expected
    assert reversed_.before == replay(policy, ledger)

    # The gap left in the sequence numbers changes nothing.
    compact = [
        replace(d, sequence=n) for n, d in enumerate(sorted(without, key=lambda d: d.sequence))
    ]
    assert replay(policy, compact) == expected

    # Recording it again gives back the full standing; the diffs mirror each other.
    recorded = record_deduction(policy, without, gone)
    assert recorded.after == reversed_.before
    assert set(recorded.diff.added) == set(reversed_.diff.removed)
    assert set(recorded.diff.removed) == set(reversed_.diff.added)
    assert {(a, b) for a, b in recorded.diff.changed} == {(b, a) for a, b in reversed_.diff.changed}
    assert set(recorded.diff.bans_added) == set(reversed_.diff.bans_removed)
    assert set(recorded.diff.bans_removed) == set(reversed_.diff.bans_added)


@SETTINGS
@given(data=st.data(), rows=entries(ZHEJIANG, date(2024, 1, 1), 3 * 365, max_size=16))
def test_zhejiang_2014_reversing_a_deduction_restores_the_standing_without_it(
    data: st.DataObject, rows: list[Row]
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    _check_reversal(ZHEJIANG, _ledger(ZHEJIANG, rows), index)


@SETTINGS
@given(data=st.data(), rows=entries(LANZHOU, date(2024, 5, 1), 4 * 365, max_size=10))
def test_lanzhou_2014_reversing_a_deduction_restores_the_standing_without_it(
    data: st.DataObject, rows: list[Row]
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    _check_reversal(LANZHOU, _ledger(LANZHOU, rows, LANZHOU_ANCHOR), index)


@SETTINGS
@given(data=st.data(), rows=entries(NHSA, date(2025, 1, 1), 2 * 365, max_size=8))
def test_nhsa_2024_reversing_a_deduction_restores_the_standing_without_it(
    data: st.DataObject, rows: list[Row]
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    _check_reversal(NHSA, _ledger(NHSA, rows), index)


# ---- invariants of a replay --------------------------------------------------------


@SETTINGS
@given(rows=entries(ZHEJIANG, date(2024, 1, 1), 3 * 365, max_size=16))
def test_each_rule_fires_at_most_once_per_period_and_only_upwards(rows: list[Row]) -> None:
    result = replay(ZHEJIANG, _ledger(ZHEJIANG, rows))
    keys = [f.key for f in result.firings]
    assert len(keys) == len(set(keys))
    rules: list[Threshold | ConsecutiveRule] = [*ZHEJIANG.thresholds, *ZHEJIANG.consecutive]
    severity = {r.id: r.severity for r in rules}
    for period in result.periods:
        ranks = [severity[rule] for rule in period.fired]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
        assert set(period.fired) | period.consumed <= period.reached
        assert not set(period.fired) & period.consumed
        assert period.remaining == max(12 - period.deducted, 0)
    assert sum(p.deducted for p in result.periods) == sum(points for _, points, _, _ in rows)

"""Scenarios of nhsa-2024 (医保发〔2024〕23号), named by the published rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest

from app.rules import (
    PointsOutOfRange,
    PointsRequired,
    assess_institution,
    replay,
    resolve_points,
)
from app.rules.model import Policy
from tests.rules.conftest import Ledger

D = date.fromisoformat


@pytest.mark.parametrize(
    ("band", "low", "high"), [("1-3", 1, 3), ("4-6", 4, 6), ("7-9", 7, 9), ("10-12", 10, 12)]
)
def test_nhsa_2024_bands_require_points_within_the_band(
    nhsa: Policy, band: str, low: int, high: int
) -> None:
    """记分档次 1-3、4-6、7-9、10-12: the operator gives the number within the band."""
    assert resolve_points(nhsa, band, low) == low
    assert resolve_points(nhsa, band, high) == high
    with pytest.raises(PointsRequired):
        resolve_points(nhsa, band, None)
    for outside in (low - 1, high + 1):
        with pytest.raises(PointsOutOfRange) as err:
            resolve_points(nhsa, band, outside)
        assert err.value.field == "points"


def test_nhsa_2024_reaches_9_applied_suspension_1_to_6_months(
    nhsa: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """暂停医保支付资格: 一个自然年度内记分达到9分的，将暂停1-6个月: mandatory (applied at
    once, running the documented default of 1 month); the agency chooses the months."""
    book = ledger(nhsa)
    book.add("4-6", "2026-03-02", 6)
    book.add("1-3", "2026-05-11", 3)
    result = replay(nhsa, book.entries)
    (suspend,) = result.firings
    assert (suspend.rule_id, suspend.action, suspend.status) == ("reach-9", "suspend", "applied")
    assert suspend.months_range == (1, 6)
    assert suspend.months == 1
    assert suspend.effective_on == D("2026-05-11")


def test_nhsa_2024_single_deduction_of_12_bans_3_years(
    nhsa: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """终止医保支付资格: 一次性记满12分的，终止之日起3年内不得再次登记备案."""
    book = ledger(nhsa)
    book.add("10-12", "2026-04-01", 12)
    result = replay(nhsa, book.entries)
    (terminate,) = result.firings
    assert (terminate.rule_id, terminate.status, terminate.single_deduction) == (
        "reach-12",
        "applied",
        True,
    )
    (ban,) = result.bans
    assert (ban.rule_id, ban.years) == ("after-single-deduction-termination", 3)
    assert (ban.starts_on, ban.ends_on) == (D("2026-04-01"), D("2029-03-31"))


@pytest.mark.parametrize(("first", "band"), [(2, "10-12"), (3, "7-9")])
def test_nhsa_2024_accumulated_12_bans_1_year(
    nhsa: Policy, ledger: Callable[[Policy], Ledger], first: int, band: str
) -> None:
    """终止医保支付资格: 累计记满12分的，终止之日起1年内不得再次登记备案 — even when the
    last deduction is a large one (2 + 10)."""
    book = ledger(nhsa)
    book.add("1-3", "2026-02-02", first)
    book.add(band, "2026-06-01", 12 - first)
    result = replay(nhsa, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-12"]
    assert result.firings[0].single_deduction is False
    (ban,) = result.bans
    assert (ban.rule_id, ban.years, ban.ends_on) == ("after-termination", 1, D("2027-05-31"))


def test_nhsa_2024_points_reset_each_calendar_year(
    nhsa: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """记分在一个自然年度内累加计算，下一个自然年度自动清零."""
    book = ledger(nhsa)
    book.add("7-9", "2025-12-30", 8)
    book.add("4-6", "2026-01-05", 4)
    result = replay(nhsa, book.entries)
    assert [(p.key, p.deducted) for p in result.periods] == [("2025", 8), ("2026", 4)]
    assert result.firings == ()


def test_nhsa_2024_national_staff_code_is_an_alias(nhsa: Policy) -> None:
    """National staff code D + 6-digit division + 6-digit sequence, alias of the YB code."""
    assert nhsa.alias_pattern is not None
    assert re.fullmatch(nhsa.alias_pattern, "D330100000123")
    assert not re.fullmatch(nhsa.alias_pattern, "D33010000012")
    assert re.fullmatch(nhsa.code_pattern, "YB" + "4" * 24)


@pytest.mark.parametrize(
    ("approved", "affected", "flags"),
    [
        (10, 1, []),
        (10, 2, ["affected-20-percent"]),
        (10, 5, ["affected-20-percent", "affected-50-percent"]),
    ],
)
def test_nhsa_2024_institution_published_example(
    nhsa: Policy, approved: int, affected: int, flags: list[str]
) -> None:
    """Published example: 20% of staff suspended or terminated → settlement suspended;
    50% → agreement suspended. Provincial: pending for the operator."""
    assert nhsa.institution is not None
    assert nhsa.institution.counts == "suspended_or_terminated"
    result = assess_institution(nhsa, approved, affected)
    assert [f.threshold_id for f in result.flags] == flags
    assert all(f.status == "pending" for f in result.flags)

"""Pure rules: agreement terms, ban regions, working days as data, the
reading of zhejiang-2014 三（二）. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import (
    SHIPPED,
    CalendarOutOfRange,
    Deduction,
    WorkCalendar,
    YearSchedule,
    count_working_days,
    get_policy,
    objection_deadline,
    replay,
    resumption_window,
)
from app.rules.bans import Ban, ban_regions
from app.rules.model import Policy
from app.rules.periods import agreement_for, period_of
from app.rules.workdays import provisional_is_working_day

D = date.fromisoformat


def test_lanzhou_2014_第十一条_the_term_is_the_agreement_a_deduction_falls_under() -> None:
    """A new agreement (after a gap, or a re-designation inside the old agreement's dates)
    is a new 协议期; a deduction decided after an agreement ended counts in it."""
    spans = [(D("2021-01-01"), D("2022-12-31")), (D("2023-07-01"), D("2025-06-30"))]
    assert agreement_for(spans, D("2024-11-04")) == spans[1]
    assert agreement_for(spans, D("2023-03-01")) == spans[0]  # in the gap: the last one
    assert agreement_for(spans, D("2020-12-31")) is None
    overlapping = [(D("2024-01-01"), D("2025-12-31")), (D("2025-03-01"), D("2027-02-28"))]
    assert agreement_for(overlapping, D("2025-04-01")) == overlapping[1]


def test_lanzhou_2014_第十七条_points_of_two_agreements_never_pool() -> None:
    lanzhou = get_policy("lanzhou-2014")
    first = (D("2024-01-01"), D("2025-12-31"))
    second = (D("2025-03-01"), D("2027-02-28"))

    def ded(n: int, item: str, points: int, on: str, span: tuple[date, date]) -> Deduction:
        return Deduction(f"d{n}", item, points, D(on), n, "620100", span[0], span[1])

    result = replay(
        lanzhou,
        [
            ded(1, "12.1", 10, "2024-03-01", first),
            ded(2, "13.1", 5, "2025-04-01", second),
            ded(3, "14.1", 1, "2025-05-06", second),
            ded(4, "13.2", 5, "2025-09-01", second),
        ],
    )
    assert [(f.period_key, f.rule_id) for f in result.firings] == [
        ("2024-01-01/2025-12-31", "reach-10"),
        ("2025-03-01/2027-02-28", "reach-6"),
        ("2025-03-01/2027-02-28", "reach-10"),
    ]
    assert [(b.rule_id, b.starts_on, b.ends_on) for b in result.bans] == [
        ("after-revocation", D("2024-03-01"), D("2025-02-28")),
        ("after-second-revocation", D("2025-09-01"), D("2030-08-31")),
    ]


def test_lanzhou_2014_第六条_三_a_term_is_cut_at_the_agreements_last_day() -> None:
    lanzhou = get_policy("lanzhou-2014")
    p = period_of(lanzhou, D("2026-01-05"), D("2025-07-01"), agreement_ends_on=D("2026-03-31"))
    assert p.key == "2025-07-01/2026-03-31"
    late = period_of(lanzhou, D("2026-08-03"), D("2025-07-01"), agreement_ends_on=D("2026-03-31"))
    assert late.key == p.key


def _ban(scope: Literal["region", "policy"]) -> Ban:
    return Ban(
        "after-termination",
        "terminate",
        "2026/reach-12",
        D("2026-05-07"),
        D("2027-05-06"),
        1,
        scope,
        "zhejiang-2014 三（二）",
    )


def test_zhejiang_2014_三_二_a_ban_covers_every_region_whose_agreement_it_ended() -> None:
    agreements = [
        ("330100", D("2024-01-01"), None, D("2026-05-07")),  # ended by it
        ("330200", D("2024-01-01"), None, D("2026-05-07")),  # ended by it
        ("330300", D("2024-01-01"), None, D("2025-01-01")),  # ended before
        ("330400", D("2027-01-01"), None, None),  # signed later
    ]
    assert ban_regions(_ban("region"), "330100", agreements) == ("330100", "330200")
    assert ban_regions(_ban("policy"), "330100", agreements) == ()


def test_working_days_unknown_year_is_counted_provisionally_and_never_refused() -> None:
    """2026-12-28 + 10 working days: 29, 30, 31 December, then 2027 on the provisional
    rule (元旦 1 January off): 4–8, 11, 12 January."""
    with pytest.raises(CalendarOutOfRange):
        objection_deadline(get_policy("zhejiang-2014"), D("2026-12-28"))
    counted = count_working_days(D("2026-12-28"), 10)
    assert (counted.day, counted.provisional) == (D("2027-01-12"), True)
    assert count_working_days(D("2026-02-10"), 10).provisional is False
    loaded = SHIPPED.with_schedules(
        [YearSchedule(2027, frozenset({D("2027-01-01")}), frozenset({D("2027-01-09")}), "t")]
    )
    exact = count_working_days(D("2026-12-28"), 10, loaded)
    assert (exact.day, exact.provisional) == (D("2027-01-11"), False)


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30)),
    n=st.integers(min_value=-25, max_value=25),
)
def test_counting_on_a_known_year_equals_the_strict_count(start: date, n: int) -> None:
    """Differential: inside the shipped years the never-refusing count is the strict one."""
    from app.rules import add_working_days

    counted = count_working_days(start, n)
    if not counted.provisional:
        assert counted.day == add_working_days(start, n)


def test_provisional_rule_is_weekdays_without_fixed_date_holidays() -> None:
    assert not provisional_is_working_day(D("2030-10-02"))  # 国庆
    assert not provisional_is_working_day(D("2030-05-02"))  # 劳动节
    assert not provisional_is_working_day(D("2030-01-05"))  # Saturday
    assert provisional_is_working_day(D("2030-01-07"))
    assert WorkCalendar().knows(2030) is False


@pytest.mark.parametrize(
    ("window", "opens", "closes"),
    [("within", D("2026-06-15"), D("2026-06-30")), ("at_least", None, D("2026-06-15"))],
)
def test_zhejiang_2014_三_二_both_readings_of_在中止期满前10个工作日内(
    window: str, opens: date | None, closes: date
) -> None:
    """The policy file names the reading; zhejiang-2014 ships ``within`` (the literal
    window of the last 10 working days; 端午 2026-06-19 is not one of them)."""
    zhejiang = get_policy("zhejiang-2014")
    assert zhejiang.deadlines.resumption_application is not None
    assert zhejiang.deadlines.resumption_application.window == "within"
    data = zhejiang.model_dump()
    data["deadlines"]["resumption_application"]["window"] = window
    policy = Policy.model_validate(data, strict=False)
    got = resumption_window(policy, D("2026-06-30"))
    assert got is not None and (got.opens_on, got.closes_on) == (opens, closes)

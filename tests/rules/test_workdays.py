"""Working days on the Chinese public-holiday calendar (调休 included)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import (
    CalendarOutOfRange,
    RulesError,
    add_working_days,
    get_policy,
    is_working_day,
    objection_deadline,
    workdays,
    working_days_between,
)

D = date.fromisoformat


def test_spring_festival_2026_holidays_and_adjusted_saturdays() -> None:
    assert is_working_day(D("2026-02-14"))  # Saturday, worked (调休)
    assert is_working_day(D("2026-02-28"))  # Saturday, worked (调休)
    assert not is_working_day(D("2026-02-16"))  # Monday, Spring Festival
    assert not is_working_day(D("2026-02-23"))  # Monday, Spring Festival
    assert not is_working_day(D("2026-03-07"))  # ordinary Saturday
    assert is_working_day(D("2026-03-09"))


def test_ten_working_days_after_2026_02_10_is_2026_03_02() -> None:
    assert add_working_days(D("2026-02-10"), 10) == D("2026-03-02")
    assert working_days_between(D("2026-02-10"), D("2026-03-02")) == 10
    assert working_days_between(D("2026-02-10"), D("2026-03-03")) == 11
    assert working_days_between(D("2026-03-02"), D("2026-02-10")) == -10


def test_add_working_days_backwards_and_zero() -> None:
    assert add_working_days(D("2026-03-02"), -1) == D("2026-02-28")  # the 调休 Saturday
    assert add_working_days(D("2026-03-02"), -10) == D("2026-02-10")
    assert add_working_days(D("2026-02-15"), 0) == D("2026-02-15")


def test_the_calendar_range_is_the_librarys() -> None:
    covered = (workdays.CALENDAR_FIRST_DAY, workdays.CALENDAR_LAST_DAY)
    assert covered == (D("2004-01-01"), D("2026-12-31"))


@pytest.mark.parametrize("day", ["2003-12-31", "2027-01-04", "1999-05-01"])
def test_out_of_range_dates_raise_calendar_out_of_range(day: str) -> None:
    with pytest.raises(CalendarOutOfRange) as err:
        is_working_day(D(day))
    assert isinstance(err.value, RulesError)
    assert err.value.slug == "calendar-out-of-range"
    assert "2004-01-01 to 2026-12-31" in str(err.value)
    assert err.value.day == D(day)


def test_counting_past_the_calendar_end_raises_rather_than_guessing() -> None:
    with pytest.raises(CalendarOutOfRange):
        add_working_days(D("2026-12-28"), 10)
    with pytest.raises(CalendarOutOfRange):
        objection_deadline(get_policy("zhejiang-2014"), D("2026-12-24"))
    with pytest.raises(CalendarOutOfRange):
        working_days_between(D("2026-12-01"), D("2027-01-10"))


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)),
    n=st.integers(min_value=0, max_value=30),
)
def test_add_and_count_working_days_agree(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)
        assert working_days_between(start, end - timedelta(days=1)) == n - 1

"""Working days (工作日) on the Chinese public-holiday calendar, 调休 included.

The calendar is data: a :class:`WorkCalendar` holds one :class:`YearSchedule` per year it
knows (the official 国务院办公厅 放假安排 of that year: its holidays and its adjusted
working weekends). :data:`SHIPPED` holds every year the maintained ``chinese_calendar``
package knows; an operator loads later years (``ybgate calendar load``, ``PUT
/admin/v1/calendar/{year}``) and the admin side passes the combined calendar in. Nothing
here reads a database or a clock.

Two ways to count:

- strict (``is_working_day``, ``add_working_days``, ``working_days_between``): a date in a
  year the calendar does not know raises :class:`~app.rules.errors.CalendarOutOfRange`;
- :func:`count_working_days` never refuses: in a year the calendar does not know it counts
  on the *provisional rule* and says so (``provisional=True``). The provisional rule:
  Monday to Friday are working days, except the fixed-date statutory holidays of
  全国年节及纪念日放假办法 (元旦 1 January; 劳动节 1–2 May; 国庆节 1–3 October). The lunar
  holidays (春节, 清明, 端午, 中秋) and the 调休 working weekends are not guessed: the
  deadline is recomputed once the year's schedule is loaded.

Conventions:

- ``add_working_days(d, n)`` with ``n > 0`` is the n-th working day *after* ``d``
  (``d`` itself is not counted: "within 10 working days of the notice" counts from the
  next day); with ``n < 0`` it is the |n|-th working day *before* ``d``; ``n == 0``
  returns ``d``.
- ``working_days_between(a, b)`` counts the working days ``x`` with ``a < x <= b``
  (negative when ``b < a``), so ``working_days_between(d, add_working_days(d, n)) == n``
  for ``n >= 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from chinese_calendar import constants as _cc_constants  # type: ignore[import-untyped]

from app.rules.errors import CalendarOutOfRange

_ONE_DAY = timedelta(days=1)
# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2024 revision): the provisional
# rule for a year whose schedule is not loaded.
PROVISIONAL_FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (5, 1),
    (5, 2),
    (10, 1),
    (10, 2),
    (10, 3),
)


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: holidays (days off, weekends inside a holiday
    included or not) and adjusted working days (调休上班, normally a Saturday or Sunday)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5


def provisional_is_working_day(d: date) -> bool:
    """The provisional rule for a year with no schedule (module docstring)."""
    return d.weekday() < 5 and (d.month, d.day) not in PROVISIONAL_FIXED_HOLIDAYS


@dataclass(frozen=True)
class Counted:
    """A day reached by counting working days; ``provisional`` when any day counted lies
    in a year the calendar does not know."""

    day: date
    provisional: bool


class WorkCalendar:
    """Year schedules by year (immutable)."""

    __slots__ = ("_years",)

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._years: dict[int, YearSchedule] = {s.year: s for s in schedules}

    @property
    def years(self) -> Mapping[int, YearSchedule]:
        return dict(self._years)

    def knows(self, year: int) -> bool:
        return year in self._years

    def with_schedules(self, schedules: Iterable[YearSchedule]) -> WorkCalendar:
        """This calendar with ``schedules`` added; a given year replaces this one's."""
        return WorkCalendar([*self._years.values(), *schedules])

    def range(self) -> tuple[date, date]:
        """First and last day of the contiguous known years that end with the latest."""
        if not self._years:
            return date.max, date.min
        last = max(self._years)
        first = last
        while first - 1 in self._years:
            first -= 1
        return date(first, 1, 1), date(last, 12, 31)

    def _strict(self, d: date) -> YearSchedule:
        schedule = self._years.get(d.year)
        if schedule is None:
            first, last = self.range()
            raise CalendarOutOfRange(d, first, last)
        return schedule

    def is_working_day(self, d: date) -> bool:
        return self._strict(d).is_working_day(d)

    def is_working_day_or_provisional(self, d: date) -> tuple[bool, bool]:
        """(working?, provisional?)."""
        schedule = self._years.get(d.year)
        if schedule is None:
            return provisional_is_working_day(d), True
        return schedule.is_working_day(d), False


def _shipped() -> WorkCalendar:
    holidays: dict[int, set[date]] = {}
    workdays: dict[int, set[date]] = {}
    for d in _cc_constants.holidays:
        holidays.setdefault(d.year, set()).add(d)
    for d in _cc_constants.workdays:
        workdays.setdefault(d.year, set()).add(d)
    years = range(min(holidays), max(holidays) + 1)
    return WorkCalendar(
        YearSchedule(
            year=y,
            holidays=frozenset(holidays.get(y, ())),
            workdays=frozenset(workdays.get(y, ())),
            source="chinese_calendar (shipped)",
        )
        for y in years
    )


SHIPPED = _shipped()
CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY = SHIPPED.range()


def is_working_day(d: date, calendar: WorkCalendar = SHIPPED) -> bool:
    """True when ``d`` is a working day (an adjusted working weekend counts)."""
    return calendar.is_working_day(d)


def add_working_days(d: date, n: int, calendar: WorkCalendar = SHIPPED) -> date:
    """The n-th working day after ``d`` (before it when ``n < 0``); ``d`` when ``n == 0``.
    Strict: raises ``CalendarOutOfRange`` outside the calendar's years."""
    calendar.is_working_day(d)
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    left = abs(n)
    day = d
    while left:
        day += step
        if calendar.is_working_day(day):
            left -= 1
    return day


def count_working_days(d: date, n: int, calendar: WorkCalendar = SHIPPED) -> Counted:
    """As :func:`add_working_days`, but never refuses: a year the calendar does not know
    is counted on the provisional rule and the result is marked provisional."""
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    left = abs(n)
    day = d
    provisional = False
    while left:
        day += step
        working, guessed = calendar.is_working_day_or_provisional(day)
        provisional = provisional or guessed
        if working:
            left -= 1
    return Counted(day, provisional)


def working_days_between(a: date, b: date, calendar: WorkCalendar = SHIPPED) -> int:
    """Working days in ``(a, b]``; ``-working_days_between(b, a)`` when ``b < a``."""
    calendar.is_working_day(a)
    calendar.is_working_day(b)
    if b < a:
        return -working_days_between(b, a, calendar)
    count = 0
    day = a
    while day < b:
        day += _ONE_DAY
        if calendar.is_working_day(day):
            count += 1
    return count

"""Working days (工作日) on the Chinese public-holiday calendar, 调休 included.

Backed by the maintained ``chinese_calendar`` package. A date outside the years it
covers raises :class:`~app.rules.errors.CalendarOutOfRange`: we never fall back to a
plain weekday count.

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

from datetime import date, timedelta

import chinese_calendar  # type: ignore[import-untyped]
from chinese_calendar import constants as _cc_constants

from app.rules.errors import CalendarOutOfRange

_ONE_DAY = timedelta(days=1)


def _supported_range() -> tuple[date, date]:
    days: list[date] = [*_cc_constants.holidays, *_cc_constants.workdays]
    return date(min(days).year, 1, 1), date(max(days).year, 12, 31)


CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY = _supported_range()


def _check(d: date) -> None:
    if not CALENDAR_FIRST_DAY <= d <= CALENDAR_LAST_DAY:
        raise CalendarOutOfRange(d, CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)


def is_working_day(d: date) -> bool:
    """True when ``d`` is a working day (an adjusted working weekend counts)."""
    _check(d)
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError as exc:  # the library's own range check
        raise CalendarOutOfRange(d, CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY) from exc


def add_working_days(d: date, n: int) -> date:
    """The n-th working day after ``d`` (before it when ``n < 0``); ``d`` when ``n == 0``."""
    _check(d)
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    left = abs(n)
    day = d
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days in ``(a, b]``; ``-working_days_between(b, a)`` when ``b < a``."""
    _check(a)
    _check(b)
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a
    while day < b:
        day += _ONE_DAY
        if is_working_day(day):
            count += 1
    return count

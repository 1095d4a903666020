"""Checks of the plain format that msgspec's types do not express.

- A service date lies within 1990-01-01 .. today (Asia/Shanghai) + 1 day: the one rule of
  both formats (:func:`day_in_bounds`; ``lines[i].service_date``, the date of
  ``input.feedetail[i].fee_ocur_time``), checked on every distinct date of a request
  before any memo table is read: what a cache holds never decides whether a date is
  accepted. The upper bound is cached until the next minute or midnight, whichever comes
  first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.core.errors import ValidationFailed, field_error
from app.core.types import DATE_MIN

if TYPE_CHECKING:
    from app.gatekeeper.plain.schemas import SettlementLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
__all__ = ["DATE_MIN", "DAYS", "bad_service_date", "day_in_bounds", "latest", "latest_day"]


class _Days:
    """The latest service date accepted, and until when it holds (read by the hot path)."""

    __slots__ = ("latest", "until")

    def __init__(self) -> None:
        self.until = 0.0
        self.latest = date.min


DAYS = _Days()


def latest_day() -> date:
    """Today in Asia/Shanghai plus one day (recomputed each minute and at midnight)."""
    now = time.time()
    today = datetime.fromtimestamp(now, SHANGHAI).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), SHANGHAI)
    latest = today + timedelta(days=1)
    DAYS.until, DAYS.latest = min(now + 60.0, midnight.timestamp()), latest
    return latest


def latest() -> date:
    """The latest service date accepted now (see :func:`latest_day`)."""
    return DAYS.latest if time.time() < DAYS.until else latest_day()


def day_in_bounds(day: date) -> bool:
    """The service-date rule of both formats: 1990-01-01 .. tomorrow (Asia/Shanghai)."""
    return DATE_MIN <= day <= latest()


def day_problem(day: date) -> str:
    """Why ``day`` is out of bounds (as the plain format's 422 says it)."""
    if day < DATE_MIN:
        return f"{day} is before {DATE_MIN}"
    return f"{day} is more than one day after today (Asia/Shanghai)"


def bad_service_date(i: int, day: date) -> ValidationFailed:
    return ValidationFailed([field_error(f"lines[{i}].service_date", day_problem(day))])


def check_service_dates(lines: Sequence[SettlementLine]) -> None:
    last = latest()
    for i, ln in enumerate(lines):
        day = ln.service_date
        if day < DATE_MIN or day > last:
            raise bad_service_date(i, day)

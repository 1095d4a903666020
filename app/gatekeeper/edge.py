"""Hostile-input checks of the hot path that msgspec's types do not express.

- A repeated header is looked at only when ``dict(headers)`` is shorter than the list
  (cheap): two ``Authorization`` headers get the same 400 problem as from the admin API.
- JSON nested deeper than msgspec's recursion limit is a 422, not an internal error.
- A service date lies within 1990-01-01 .. today (Asia/Shanghai) + 1 day, in both formats
  (``lines[i].service_date``; the date of ``input.feedetail[i].fee_ocur_time``), checked
  on every distinct date of a request before any memo table is read: what a cache holds
  never decides whether a date is accepted. The upper bound is cached until the next
  minute or midnight, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.core.errors import BadRequest, ValidationFailed, field_error
from app.core.types import DATE_MIN

if TYPE_CHECKING:
    from app.gatekeeper.schemas import SettlementLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
__all__ = [
    "DATE_MIN",
    "DAYS",
    "bad_service_date",
    "check_repeated",
    "latest",
    "latest_day",
    "too_deep",
]


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


def bad_service_date(i: int, day: date) -> ValidationFailed:
    if day < DATE_MIN:
        message = f"{day} is before {DATE_MIN}"
    else:
        message = f"{day} is more than one day after today (Asia/Shanghai)"
    return ValidationFailed([field_error(f"lines[{i}].service_date", message)])


def check_service_dates(lines: Sequence[SettlementLine]) -> None:
    last = latest()
    for i, ln in enumerate(lines):
        day = ln.service_date
        if day < DATE_MIN or day > last:
            raise bad_service_date(i, day)


def check_repeated(headers: list[tuple[bytes, bytes]]) -> None:
    if sum(1 for k, _ in headers if k == b"authorization") > 1:
        raise BadRequest(
            "Send exactly one Authorization header.",
            slug="duplicate-authorization",
            errors=[{"field": "Authorization", "message": "sent more than once"}],
        )


def too_deep() -> ValidationFailed:
    return ValidationFailed([field_error("body", "JSON nested too deeply")])

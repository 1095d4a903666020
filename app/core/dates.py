"""Inclusive date intervals; ``None`` as the last day means open-ended."""

from __future__ import annotations

from datetime import date, timedelta

from app.core.errors import ValidationFailed


def last_day(ends_on: date | None, cut_from: date | None) -> date | None:
    """The last day of ``[.., ends_on]`` once cut short from ``cut_from`` (first free day)."""
    if cut_from is None:
        return ends_on
    cut = cut_from - timedelta(days=1)
    return cut if ends_on is None else min(ends_on, cut)


def overlaps(a_first: date, a_last: date | None, b_first: date, b_last: date | None) -> bool:
    return (a_last is None or b_first <= a_last) and (b_last is None or a_first <= b_last)


def covers(first: date, last: date | None, day: date) -> bool:
    return first <= day and (last is None or day <= last)


def check_span(first: date, last: date | None, *, first_field: str, last_field: str) -> None:
    if last is not None and last < first:
        raise ValidationFailed(
            [{"field": last_field, "message": f"must be on or after {first_field} ({first})"}]
        )


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(d)  # unreachable: day 28 exists in every month


def months_span(first: date, months: int) -> date:
    """Last day of a span of ``months`` months starting on ``first``."""
    return add_months(first, months) - timedelta(days=1)

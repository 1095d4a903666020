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

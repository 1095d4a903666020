"""Scoring periods: the calendar year, or the agreement term counted from an anchor.

- ``calendar_year`` (zhejiang-2014 三, nhsa-2024): the period of a deduction is the year of
  its ``decided_on``; key ``"2026"``.
- ``agreement_term`` (lanzhou-2014 第十一条 协议期内初始积分为10分, 第六条（三） 协议期限为两年):
  points are counted per agreement term. The anchor is the start of the agreement the
  deduction falls under (:func:`agreement_for` picks it from the physician's agreements:
  a new agreement after a gap, or a re-designation after 取消 (第十八条), starts a new
  term with full points). Term ``k`` of an agreement is
  ``[anchor + k·Y years, anchor + (k+1)·Y years − 1 day]``, cut at the agreement's own last
  day; key ``"2014-05-01/2016-04-30"``. An anchor of 29 February falls on 28 February in
  years without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from app.rules.errors import InvalidLedger
from app.rules.model import Policy


def add_years(d: date, years: int) -> date:
    """``d`` moved by whole years; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


@dataclass(frozen=True, order=True)
class Period:
    """One scoring period. ``index`` is the year, or the term number from ``anchor``."""

    starts_on: date
    ends_on: date
    anchor: date | None
    index: int

    @property
    def key(self) -> str:
        if self.anchor is None:
            return str(self.index)
        return f"{self.starts_on.isoformat()}/{self.ends_on.isoformat()}"

    def contains(self, d: date) -> bool:
        return self.starts_on <= d <= self.ends_on


def _year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), None, year)


def _term(anchor: date, years: int, index: int) -> Period:
    starts = add_years(anchor, index * years)
    ends = add_years(anchor, (index + 1) * years) - timedelta(days=1)
    return Period(starts, ends, anchor, index)


AgreementSpan = tuple[date, date | None]  # (starts_on, ends_on); None: open-ended


def agreement_for(agreements: Iterable[AgreementSpan], on: date) -> AgreementSpan | None:
    """The agreement whose term a deduction decided ``on`` counts in (lanzhou-2014 第十一条).

    Among the agreements whose dates cover ``on``, the one that started last (the current
    designation: after a re-designation the new agreement, not the ended one); when none
    covers ``on`` (decided after the agreement ended), the one that started last before
    ``on``; ``None`` when no agreement started on or before ``on``.
    """
    started = sorted((a for a in agreements if a[0] <= on), key=lambda a: (a[0], a[1] or on))
    covering = [a for a in started if a[1] is None or on <= a[1]]
    if covering:
        return covering[-1]
    return started[-1] if started else None


def period_of(
    policy: Policy,
    on: date,
    anchor: date | None = None,
    *,
    field: str = "anchor",
    agreement_ends_on: date | None = None,
) -> Period:
    """The period of ``policy`` that contains ``on``.

    ``anchor`` (the start of the agreement) is required for agreement-term policies (and
    ignored otherwise); ``on`` may not precede it. ``agreement_ends_on`` is that
    agreement's last day: its last term is cut there, and a date after it counts in that
    last term. ``field`` names the anchor in errors.
    """
    scoring = policy.scoring
    if scoring.period == "calendar_year":
        return _year(on.year)
    years = scoring.term_years
    assert years is not None  # guaranteed by Policy validation
    if anchor is None:
        raise InvalidLedger(
            f"{policy.id} counts points per {years}-year agreement term: the anchor "
            "(start of the physician's agreement in the region) is required",
            field=field,
        )
    if on < anchor:
        raise InvalidLedger(
            f"{on.isoformat()} precedes the agreement start {anchor.isoformat()}", field=field
        )
    if agreement_ends_on is not None:
        on = min(on, agreement_ends_on)
    index = (on.year - anchor.year) // years
    while _term(anchor, years, index + 1).starts_on <= on:
        index += 1
    while _term(anchor, years, index).starts_on > on:
        index -= 1
    term = _term(anchor, years, index)
    if agreement_ends_on is not None and agreement_ends_on < term.ends_on:
        return Period(term.starts_on, agreement_ends_on, anchor, index)
    return term


def previous_period(policy: Policy, period: Period) -> Period | None:
    """The period just before ``period`` (same anchor); ``None`` before the first term."""
    if period.anchor is None:
        return _year(period.index - 1)
    if period.index == 0:
        return None
    years = policy.scoring.term_years
    assert years is not None
    return _term(period.anchor, years, period.index - 1)

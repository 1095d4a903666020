"""The current status window of a physician at an institution (5102 医执人员信息查询).

Pure: compact registry objects and an explicit date in, ``(first day, last day)`` out.
The window is the longest run of days around ``d`` over which the line judgement
(:func:`app.registry.judge.judge_entry`, the institution's own standing included) keeps
the reason it has on ``d``; a bound is None when the run reaches past every date the
record names (open). So the window agrees with how a line is judged, by construction:
for an accepted physician a line on any day of the window passes and one on the day
before or after it does not — a visiting physician at the host shows the visit's
window, an agreement without its own end ends with the institution's own term (a line
after it is ``INSTITUTION_SUSPENDED``), a suspension ahead cuts it the day before.

How: the judgement can change only on a day where some interval of the record starts
or ends the day before (agreement terms, terminations, suspensions, visits,
cancellations, the institution's terms and suspensions). Between two such days it is
constant, so the run is found by judging once per stretch, walking out from ``d``.
Unknown and malformed codes have no window.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.registry.judge import Entry, InstitutionState, Interval, judge_entry

Window = tuple[date | None, date | None]
_DAY = timedelta(days=1)


def _edges(spans: tuple[Interval, ...], out: set[date]) -> None:
    for first, last in spans:
        out.add(first)
        if last is not None and last < date.max:
            out.add(last + _DAY)


def change_days(entry: Entry, state: InstitutionState) -> list[date]:
    """Every day on which the judgement at this institution may differ from the day
    before, sorted."""
    days: set[date] = set()
    _edges(entry.cancellations, days)
    _edges(state.terms, days)
    _edges(state.suspensions, days)
    for a in entry.agreements:
        _edges(((a.starts_on, a.ends_on),), days)
        _edges(a.suspensions, days)
        if a.terminated_on is not None:
            days.add(a.terminated_on)
    for v in entry.visits:
        _edges(((v.starts_on, v.ends_on),), days)
    return sorted(days)


def status_window(
    entry: Entry | None, state: InstitutionState, institution: str, d: date, reason: str | None
) -> Window:
    """The run of days around ``d`` judged with ``reason`` (the judgement on ``d``)."""
    if entry is None:
        return None, None

    def judged(day: date) -> str | None:
        return judge_entry(entry, institution, day, state.open_on(day))

    edges = change_days(entry, state)
    # Stretch k runs from edges[k-1] (or the beginning) to the day before edges[k].
    at = sum(1 for e in edges if e <= d)  # d lies in stretch `at`
    first: date | None = edges[at - 1] if at else None
    k = at - 1
    while k >= 1 and judged(edges[k - 1]) == reason:
        first = edges[k - 1]
        k -= 1
    if k == 0 and first is not None and first > date.min and judged(first - _DAY) == reason:
        first = None  # the run reaches back past every date the record names
    last: date | None = None
    k = at
    while k < len(edges):
        if judged(edges[k]) != reason:
            last = edges[k] - _DAY
            break
        k += 1
    return first, last

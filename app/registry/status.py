"""The current status window of a physician at an institution (5102 医执人员信息查询).

Pure: compact registry objects and an explicit date in, ``(first day, last day)`` out.
The window is the stretch of days around ``d`` over which the line judgement keeps the
reason it has on ``d``: for an accepted physician, active since (the agreement's start, or
the day after the last suspension that ended before ``d``) until the planned last day
(term end, the day before a termination, the day before the next suspension); for a
suspended one, the suspension; terminated: since the termination, open; cancelled: the
cancellation; institution suspended: its suspension (or since its term ended);
not at the institution: since the day after the last agreement here ended, if any.
Unknown and malformed codes have no window.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.registry.judge import (
    AGREEMENT_SUSPENDED,
    AGREEMENT_TERMINATED,
    CODE_CANCELLED,
    INSTITUTION_SUSPENDED,
    NOT_AT_INSTITUTION,
    Agreement,
    Entry,
    InstitutionState,
    Interval,
    covers,
)

Window = tuple[date | None, date | None]
_DAY = timedelta(days=1)


def _covering(spans: tuple[Interval, ...], d: date) -> Interval | None:
    return next((s for s in spans if covers(s, d)), None)


def _relevant(entry: Entry, institution: str, d: date) -> list[Agreement]:
    here = [a for a in entry.agreements if a.institution == institution and a.term_covers(d)]
    return here or [a for a in entry.agreements if a.term_covers(d)]


def _last_day(a: Agreement) -> date | None:
    last = a.ends_on
    if a.terminated_on is not None:
        cut = a.terminated_on - _DAY
        last = cut if last is None else min(last, cut)
    return last


def _active(entry: Entry, institution: str, d: date) -> Window:
    live = [a for a in _relevant(entry, institution, d) if not a.terminated(d)]
    if not live:  # carried by a visiting registration alone
        visit = next(
            (
                v
                for v in entry.visits
                if v.institution == institution and v.starts_on <= d <= v.ends_on
            ),
            None,
        )
        return (visit.starts_on, visit.ends_on) if visit else (None, None)
    a = live[0]
    first, last = a.starts_on, _last_day(a)
    for s, e in a.suspensions:
        if e is not None and e < d:
            first = max(first, e + _DAY)
        elif s > d:
            last = s - _DAY if last is None else min(last, s - _DAY)
    return first, last


def status_window(
    entry: Entry | None, state: InstitutionState, institution: str, d: date, reason: str | None
) -> Window:
    """The window of the status ``reason`` (the judgement on ``d``)."""
    if entry is None:
        return None, None
    if reason is None:
        return _active(entry, institution, d)
    if reason == CODE_CANCELLED:
        span = _covering(entry.cancellations, d)
        return span if span else (None, None)
    if reason == INSTITUTION_SUSPENDED:
        span = _covering(state.suspensions, d)
        if span:
            return span
        ended = [e for _, e in state.terms if e is not None and e < d]
        return (max(ended) + _DAY, None) if ended else (None, None)
    if reason == AGREEMENT_TERMINATED:
        cuts = [a.terminated_on for a in _relevant(entry, institution, d) if a.terminated_on]
        return (max(cuts), None) if cuts else (None, None)
    if reason == AGREEMENT_SUSPENDED:
        for a in _relevant(entry, institution, d):
            span = _covering(a.suspensions, d)
            if span and not a.terminated(d):
                return span
        return None, None
    if reason == NOT_AT_INSTITUTION:
        ended = [
            last
            for a in entry.agreements
            if a.institution == institution and (last := _last_day(a)) is not None and last < d
        ]
        return (max(ended) + _DAY, None) if ended else (None, None)
    return None, None

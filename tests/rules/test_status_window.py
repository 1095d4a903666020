"""5102's status window agrees with line judgement (CONTRACT.md "National interface as HIS
clients send it": "begntime/endtime agree with how a line would be judged"), property
tested on random records: a day lies inside the window of a status exactly when a line
on that day is judged with that status and every day between it and the asked day is too
(the window is that run, nothing more, nothing less), with the institution's own term
(zhejiang-2014 二: an agreement runs with its institution's term) and visiting
registrations (进修、对口支援) in the record. Pure: no I/O."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.registry.judge import Agreement, Entry, InstitutionState, Visit, judge_entry
from app.registry.status import status_window

BASE = date(2026, 1, 1)
HERE, ELSEWHERE = "H1", "H2"
days = st.integers(min_value=0, max_value=120)


@st.composite
def spans(draw: st.DrawFn, open_ok: bool = True) -> tuple[date, date | None]:
    first = BASE + timedelta(days=draw(days))
    if open_ok and draw(st.booleans()):
        return first, None
    return first, first + timedelta(days=draw(st.integers(0, 60)))


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    first, last = draw(spans())
    terminated = BASE + timedelta(days=draw(days)) if draw(st.booleans()) else None
    suspensions = tuple(draw(st.lists(spans(open_ok=False), max_size=2)))
    inst = draw(st.sampled_from((HERE, ELSEWHERE)))
    return Agreement(inst, first, last, terminated, suspensions)


@st.composite
def records(draw: st.DrawFn) -> tuple[Entry, InstitutionState]:
    visits = []
    for _ in range(draw(st.integers(0, 1))):
        first, last = draw(spans(open_ok=False))
        assert last is not None
        visits.append(Visit(draw(st.sampled_from((HERE, ELSEWHERE))), first, last))
    entry = Entry(
        tuple(draw(st.lists(spans(), max_size=1))),
        tuple(draw(st.lists(agreements(), max_size=3))),
        tuple(visits),
    )
    terms = tuple(draw(st.lists(spans(), min_size=1, max_size=2)))
    state = InstitutionState(HERE, "R1", terms, tuple(draw(st.lists(spans(False), max_size=1))))
    return entry, state


def _judged(entry: Entry, state: InstitutionState, d: date) -> str | None:
    return judge_entry(entry, HERE, d, state.open_on(d))


@settings(max_examples=400, deadline=None)
@given(records(), days, days)
def test_a_day_is_in_the_window_exactly_when_it_is_in_the_run_of_the_status(
    record: tuple[Entry, InstitutionState], asked: int, probe: int
) -> None:
    entry, state = record
    today, other = BASE + timedelta(days=asked), BASE + timedelta(days=probe)
    reason = _judged(entry, state, today)
    first, last = status_window(entry, state, HERE, today, reason)
    lo, hi = min(today, other), max(today, other)
    run = all(
        _judged(entry, state, lo + timedelta(days=k)) == reason for k in range((hi - lo).days + 1)
    )
    inside = (first is None or first <= other) and (last is None or other <= last)
    assert inside == run, (reason, first, last, other)
    # a passing status (5102 hi_dr_flag "1") covers exactly the days a line would pass
    if reason is None and inside:
        assert _judged(entry, state, other) is None


@settings(max_examples=200, deadline=None)
@given(records(), days)
def test_the_window_ends_where_the_status_ends(
    record: tuple[Entry, InstitutionState], asked: int
) -> None:
    entry, state = record
    today = BASE + timedelta(days=asked)
    reason = _judged(entry, state, today)
    first, last = status_window(entry, state, HERE, today, reason)
    if first is not None:
        assert _judged(entry, state, first) == reason
        assert _judged(entry, state, first - timedelta(days=1)) != reason
    if last is not None:
        assert _judged(entry, state, last) == reason
        assert _judged(entry, state, last + timedelta(days=1)) != reason


def test_an_open_agreement_ends_with_the_institutions_term() -> None:
    """zhejiang-2014 二: the agreement runs with the institution's term; a line after
    the term is INSTITUTION_SUSPENDED, so 5102's endtime is the term's last day."""
    entry = Entry((), (Agreement(HERE, date(2024, 1, 1), None, None, ()),), ())
    state = InstitutionState(HERE, "R1", ((date(2024, 1, 1), date(2027, 12, 31)),), ())
    assert status_window(entry, state, HERE, date(2026, 11, 24), None) == (
        date(2024, 1, 1),
        date(2027, 12, 31),
    )


def test_a_visiting_physician_shows_the_visits_window_at_the_host() -> None:
    """进修/对口支援: at the host the visit carries the line, so the window is the visit's."""
    home = Agreement(ELSEWHERE, date(2024, 1, 1), None, None, ())
    entry = Entry((), (home,), (Visit(HERE, date(2026, 1, 1), date(2026, 6, 30)),))
    state = InstitutionState(HERE, "R1", ((date(2020, 1, 1), None),), ())
    assert status_window(entry, state, HERE, date(2026, 3, 1), None) == (
        date(2026, 1, 1),
        date(2026, 6, 30),
    )

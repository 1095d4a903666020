"""The contract's judgement of one settlement line, as a pure function of compact data.

Everything here is immutable and shared: an :class:`Entry` describes everything the
judgement needs about one physician (code cancellations, agreements, visiting
registrations) and is interned by value, so the million physicians of a registry share a
few thousand entries. Dates are ``datetime.date``; every interval is inclusive at both
ends and ``None`` as a last day means open-ended (docs/ARCHITECTURE.md).

Rules, in order, as of the line's ``service_date`` ``d`` at the request's institution:

1. ``CODE_MALFORMED``: the code is neither a known national alias nor matches the
   region's ``code_pattern`` (a registered code that fails the pattern is malformed too).
2. ``PHYSICIAN_UNREGISTERED``: well-formed, but no physician has it.
3. ``CODE_CANCELLED``: a cancellation interval of the code covers ``d``.
4. ``NOT_AT_INSTITUTION``: neither an agreement here whose term covers ``d`` nor a
   visiting registration here covering ``d``.
5. ``INSTITUTION_SUSPENDED``: no term of the institution covers ``d`` (a term's last day
   is ``min(ends_on, terminated_on - 1)``) or one of its suspensions covers ``d``.
6. ``AGREEMENT_TERMINATED`` / 7. ``AGREEMENT_SUSPENDED``: over the *relevant*
   agreements: all of them terminated on or before ``d`` → 6; otherwise, when every
   non-terminated one has a suspension covering ``d`` → 7.

The relevant agreements are the agreements here whose term covers ``d``. When there is
none but a visiting registration here covers ``d`` (进修/对口支援: the visit satisfies
rule 4), they are the physician's own agreements at any institution whose term covers
``d``: all terminated → 6, all live ones suspended → 7, and none covering at all → no
reason (the visit alone carries the line). When both an agreement here and a visit here
cover ``d``, the agreement here decides. An agreement's ``ends_on = None`` is open-ended:
the cascade from the institution's own term is rule 5.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

import msgspec

CODE_MALFORMED: Final = "CODE_MALFORMED"
PHYSICIAN_UNREGISTERED: Final = "PHYSICIAN_UNREGISTERED"
CODE_CANCELLED: Final = "CODE_CANCELLED"
NOT_AT_INSTITUTION: Final = "NOT_AT_INSTITUTION"
INSTITUTION_SUSPENDED: Final = "INSTITUTION_SUSPENDED"
AGREEMENT_TERMINATED: Final = "AGREEMENT_TERMINATED"
AGREEMENT_SUSPENDED: Final = "AGREEMENT_SUSPENDED"
EMERGENCY_OVERRIDE: Final = "EMERGENCY_OVERRIDE"
# The fields a line names its staff by (plain format), and their national names.
FIRST_CODE: Final = "physician_code"
SECOND_CODE: Final = "performer_code"
NATIONAL_FIELD: Final = {FIRST_CODE: "bilg_dr_codg", SECOND_CODE: "orders_dr_code"}

REASONS: Final[tuple[str, ...]] = (
    CODE_MALFORMED,
    PHYSICIAN_UNREGISTERED,
    CODE_CANCELLED,
    NOT_AT_INSTITUTION,
    INSTITUTION_SUSPENDED,
    AGREEMENT_TERMINATED,
    AGREEMENT_SUSPENDED,
)
# Used when an institution's region is unknown to the registry.
DEFAULT_CODE_PATTERN: Final = r"^YB[0-9]{15,30}X?$"
ALIAS_RE: Final = re.compile(r"(?:D|N|Y|HY|HJ)[0-9]{12}")

Interval = tuple[date, date | None]


def covers(span: Interval, d: date) -> bool:
    last = span[1]
    return span[0] <= d and (last is None or d <= last)


def any_covers(spans: tuple[Interval, ...], d: date) -> bool:
    return any(s <= d and (e is None or d <= e) for s, e in spans)


class Agreement(msgspec.Struct, gc=False, eq=False):
    """One agreement: its term, termination (first invalid day) and suspensions.

    Registry objects are msgspec Structs with ``gc=False``: never tracked by the cyclic
    GC, so the million-entry physician map holding them is untracked too, and a full
    collection does not walk it. ``eq=False``: identity equality and hash."""

    institution: str
    starts_on: date
    ends_on: date | None
    terminated_on: date | None
    suspensions: tuple[Interval, ...]

    def key(self) -> tuple[object, ...]:
        return (
            self.institution,
            self.starts_on,
            self.ends_on,
            self.terminated_on,
            self.suspensions,
        )

    def term_covers(self, d: date) -> bool:
        return self.starts_on <= d and (self.ends_on is None or d <= self.ends_on)

    def terminated(self, d: date) -> bool:
        return self.terminated_on is not None and self.terminated_on <= d


class Visit(msgspec.Struct, gc=False, eq=False):
    """A visiting registration (进修、对口支援、技术协作) at a host institution."""

    institution: str
    starts_on: date
    ends_on: date

    def key(self) -> tuple[object, ...]:
        return (self.institution, self.starts_on, self.ends_on)


class Entry(msgspec.Struct, gc=False, eq=False):
    """Everything the judgement needs about one physician; shared by every physician
    with the same history (identity hash: cheap as a memo key)."""

    cancellations: tuple[Interval, ...]
    agreements: tuple[Agreement, ...]
    visits: tuple[Visit, ...]


class InstitutionState:
    """An institution's own standing: its terms (last day already folded from ends_on and
    terminated_on) and suspensions, plus its region code."""

    __slots__ = ("code", "region", "suspensions", "terms")

    def __init__(
        self,
        code: str,
        region: str,
        terms: tuple[Interval, ...],
        suspensions: tuple[Interval, ...],
    ) -> None:
        self.code = code
        self.region = region
        self.terms = terms
        self.suspensions = suspensions

    def open_on(self, d: date) -> bool:
        """Rule 5 does not apply: a term covers ``d`` and no suspension does."""
        return any_covers(self.terms, d) and not any_covers(self.suspensions, d)


def judge_entry(entry: Entry, institution: str, d: date, institution_open: bool) -> str | None:
    """Rules 3-7 for a registered physician at ``institution`` on ``d`` (see module doc)."""
    if entry.cancellations and any_covers(entry.cancellations, d):
        return CODE_CANCELLED
    relevant = [a for a in entry.agreements if a.institution == institution and a.term_covers(d)]
    if not relevant:
        if not any(
            v.institution == institution and v.starts_on <= d <= v.ends_on for v in entry.visits
        ):
            return NOT_AT_INSTITUTION
        relevant = [a for a in entry.agreements if a.term_covers(d)]
    if not institution_open:
        return INSTITUTION_SUSPENDED
    if not relevant:
        return None
    live = [a for a in relevant if not a.terminated(d)]
    if not live:
        return AGREEMENT_TERMINATED
    if all(any_covers(a.suspensions, d) for a in live):
        return AGREEMENT_SUSPENDED
    return None


def judge_unknown(code: str, pattern: re.Pattern[str]) -> str:
    """Rules 1-2 for a code the registry does not hold (an unknown ``D`` code is not a
    known alias, so it is malformed unless the region's pattern accepts it)."""
    return PHYSICIAN_UNREGISTERED if pattern.fullmatch(code) else CODE_MALFORMED


class LineResult(str):
    """One of the few possible line decisions. The string itself is its pre-encoded JSON
    fragment: a response's line array is ``[{"line_id":"`` + id + result + id + result
    ... + id + ``last`` + ``]``, where a result closes its line and opens the next one
    and ``last`` closes the array's last line. So the hot path collects ids and results
    in one list and joins it; ``ok`` and the rest are plain attributes. A rejected line
    names the field whose code failed (``field``: ``physician_code`` or
    ``performer_code``; the national format's names are in :data:`NATIONAL_FIELD`)."""

    reason: str | None
    overridden: str | None
    ok: bool
    decision: str
    last: str
    field: str | None

    def __new__(
        cls, reason: str | None, overridden: str | None = None, field: str = FIRST_CODE
    ) -> LineResult:
        ok = reason is None or overridden is not None
        decision = "accept" if ok else "reject"
        quoted = "null" if reason is None else f'"{reason}"'
        last = f'","decision":"{decision}","reason":{quoted}'
        if overridden is not None:
            last += f',"overridden":"{overridden}"'
        if not ok:
            last += f',"field":"{field}"'
        last += "}"
        self = super().__new__(cls, last + ',{"line_id":"')
        self.reason, self.overridden, self.ok, self.decision = reason, overridden, ok, decision
        self.last, self.field = last, None if ok else field
        return self


ACCEPTED: Final = LineResult(None)
REJECTED: Final = {r: LineResult(r) for r in REASONS}
OVERRIDDEN: Final = {r: LineResult(EMERGENCY_OVERRIDE, r) for r in REASONS}
# Rejected because of the line's second staff code (performer_code / orders_dr_code).
REJECTED_SECOND: Final = {r: LineResult(r, None, SECOND_CODE) for r in REASONS}
# Appended last: a result's index is its letter in msgid records and line memory.
ALL_RESULTS: Final[tuple[LineResult, ...]] = (
    ACCEPTED,
    *REJECTED.values(),
    *OVERRIDDEN.values(),
    *REJECTED_SECOND.values(),
)


def combine(first: LineResult, second: LineResult) -> LineResult:
    """A line naming two staff codes passes only when both pass (nhsa-2024 相关人员:
    the person who carried out the order is judged like the one who billed it); a
    rejection names the first failing code's field."""
    if not first.ok:
        return first
    if not second.ok:
        return REJECTED_SECOND[second.reason or ""]
    if first.overridden is None and second.overridden is not None:
        return second
    return first


# A verdict: the result of a line without and with ``emergency: true``.
Verdict = tuple[LineResult, LineResult]


def verdict_table(overridable: frozenset[str]) -> dict[str | None, Verdict]:
    """Reason -> verdict under a region policy allowing these override reasons."""
    table: dict[str | None, Verdict] = {None: (ACCEPTED, ACCEPTED)}
    for r in REASONS:
        table[r] = (REJECTED[r], OVERRIDDEN[r] if r in overridable else REJECTED[r])
    return table


class RegionPolicy:
    """What the judgement needs from a region: its code pattern and override scope, as
    the version in force before any later one; ``changes`` are the later versions of the
    region's policy, each with the first day it is in force (a switch dated in the future
    leaves today's lines to the version in force today)."""

    __slots__ = ("changes", "code", "overridable", "pattern", "policy", "verdicts")

    def __init__(
        self,
        code: str,
        pattern: str,
        overridable: frozenset[str],
        policy: str = "",
        changes: tuple[tuple[date, RegionPolicy], ...] = (),
    ) -> None:
        self.code = code
        self.pattern = re.compile(pattern)
        self.overridable = overridable
        self.verdicts = verdict_table(overridable)
        self.policy = policy
        self.changes = tuple(sorted(changes, key=lambda c: c[0]))

    def on(self, d: date) -> RegionPolicy:
        """The version in force on ``d``."""
        found = self
        for first, version in self.changes:
            if d < first:
                break
            found = version
        return found

    def versions(self) -> list[RegionPolicy]:
        """Every version, the first one first."""
        return [self, *(v for _, v in self.changes)]


DEFAULT_REGION: Final = RegionPolicy("", DEFAULT_CODE_PATTERN, frozenset(REASONS))

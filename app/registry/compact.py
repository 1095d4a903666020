"""The compact, read-only registry the hot path decides from, built from facts.

Memory: the physician map is ``code -> Entry`` (sharded: ``physmap.py``) where entries
are interned by value (``judge.Entry``), so a physician costs its code string and one
dict slot (~110 bytes); only physicians with an individual history add an entry of
their own.
National ``D`` aliases are extra keys of the same map, pointing at the same entry.

Speed: judging is memoised per institution and date (``app/registry/memo.py``): a code
is judged once per institution and date and an entry's history once. The memo is
bounded (in bytes, see memo.py) and a patch invalidates only what it changed: the verdicts of
the codes it names, the contexts of the institutions it names, everything on a region
change (the bearer cache goes when tokens change).

Mutation happens only in :meth:`Registry.apply`, which the store calls under its lock:
a request, which decides under the same lock, never sees half a patch.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from datetime import timedelta
from itertools import filterfalse
from typing import TypeVar

from app.registry.facts import (
    AgreementFact,
    InstitutionFact,
    Patch,
    PhysicianFact,
    RegionFact,
    VisitFact,
)
from app.registry.facts import Interval as IntervalFact
from app.registry.gateway import GatewayPair, gateway_pair
from app.registry.judge import (
    DEFAULT_CODE_PATTERN,
    DEFAULT_REGION,
    Agreement,
    Entry,
    InstitutionState,
    Interval,
    RegionPolicy,
    Visit,
)
from app.registry.memo import STATS, InstContext, Memo
from app.registry.physmap import PhysicianMap

K = TypeVar("K")
V = TypeVar("V")


def _upsert(target: dict[K, V], changes: Mapping[K, V | None]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


class Interner:
    """Value-interning of dates, intervals, agreements, visits and entries."""

    __slots__ = ("agreements", "dates", "entries", "intervals", "visits")

    def __init__(self) -> None:
        self.dates: dict[str, dt.date] = {}
        self.intervals: dict[tuple[dt.date, dt.date | None], Interval] = {}
        self.agreements: dict[tuple[object, ...], Agreement] = {}
        self.visits: dict[tuple[object, ...], Visit] = {}
        self.entries: dict[tuple[object, ...], Entry] = {}

    def date(self, iso: str) -> dt.date:
        d = self.dates.get(iso)
        if d is None:
            d = self.dates[iso] = dt.date.fromisoformat(iso)
        return d

    def opt_date(self, iso: str | None) -> dt.date | None:
        return None if iso is None else self.date(iso)

    def interval(self, first: dt.date, last: dt.date | None) -> Interval:
        key = (first, last)
        return self.intervals.setdefault(key, key)

    def intervals_of(self, spans: Iterable[tuple[dt.date, dt.date | None]]) -> tuple[Interval, ...]:
        return tuple(self.interval(a, b) for a, b in spans)

    def spans(self, facts: Iterable[IntervalFact]) -> tuple[Interval, ...]:
        out = []
        for f in facts:
            if f[0] is None:
                raise ValueError(f"interval without a first day: {f!r}")
            out.append(self.interval(self.date(f[0]), self.opt_date(f[1])))
        return tuple(out)

    def make_agreement(
        self,
        institution: str,
        starts_on: dt.date,
        ends_on: dt.date | None,
        terminated_on: dt.date | None,
        suspensions: tuple[Interval, ...],
    ) -> Agreement:
        key = (institution, starts_on, ends_on, terminated_on, suspensions)
        a = self.agreements.get(key)
        if a is None:
            a = Agreement(sys.intern(institution), starts_on, ends_on, terminated_on, suspensions)
            self.agreements[key] = a
        return a

    def make_visit(self, institution: str, starts_on: dt.date, ends_on: dt.date) -> Visit:
        key = (institution, starts_on, ends_on)
        v = self.visits.get(key)
        if v is None:
            v = self.visits[key] = Visit(sys.intern(institution), starts_on, ends_on)
        return v

    def agreement(self, f: AgreementFact) -> Agreement:
        return self.make_agreement(
            f["institution"],
            self.date(f["starts_on"]),
            self.opt_date(f["ends_on"]),
            self.opt_date(f["terminated_on"]),
            self.spans(f["suspensions"]),
        )

    def visit(self, f: VisitFact) -> Visit:
        return self.make_visit(f["institution"], self.date(f["starts_on"]), self.date(f["ends_on"]))

    def entry(self, f: PhysicianFact) -> Entry:
        return self.make_entry(
            self.spans(f["cancellations"]),
            tuple(self.agreement(a) for a in f["agreements"]),
            tuple(self.visit(v) for v in f["visits"]),
        )

    def make_entry(
        self,
        cancellations: tuple[Interval, ...],
        agreements: tuple[Agreement, ...],
        visits: tuple[Visit, ...],
    ) -> Entry:
        key = (cancellations, agreements, visits)
        e = self.entries.get(key)
        if e is None:
            e = self.entries[key] = Entry(cancellations, agreements, visits)
        return e


def institution_state(f: InstitutionFact, interner: Interner) -> InstitutionState:
    terms = []
    for t in f["terms"]:
        first = interner.date(t["starts_on"])
        last = interner.opt_date(t["ends_on"])
        if t["terminated_on"] is not None:
            cut = interner.date(t["terminated_on"]) - timedelta(days=1)
            last = cut if last is None else min(last, cut)
        if last is None or last >= first:
            terms.append(interner.interval(first, last))
    return InstitutionState(
        sys.intern(f["code"]), f["region"], tuple(terms), interner.spans(f["suspensions"])
    )


def region_policy(f: RegionFact) -> RegionPolicy:
    changes = tuple(
        (
            dt.date.fromisoformat(c["starts_on"]),
            RegionPolicy(
                f["code"], c["code_pattern"], frozenset(c["emergency_override"]), c["policy"]
            ),
        )
        for c in f.get("changes", ())
    )
    return RegionPolicy(
        f["code"], f["code_pattern"], frozenset(f["emergency_override"]), f["policy"], changes
    )


class Registry:
    """One registry version: physicians, institutions, regions, HIS tokens and gateway
    credentials."""

    def __init__(self, version: int, interner: Interner | None = None) -> None:
        self.version = version
        self.interner = interner or Interner()
        # YB codes and national aliases -> shared entry.
        self.physicians = PhysicianMap()
        self.dirty_shards: set[str] = set()  # shards changed since the last cached dump
        self.aliases: dict[str, str] = {}  # YB code -> its national alias
        self.alias_owner: dict[str, str] = {}  # national alias -> YB code
        self.institutions: dict[str, InstitutionState] = {}
        self.regions: dict[str, RegionPolicy] = {}
        self.tokens: dict[str, str] = {}  # SHA-256 hex of an HIS token -> institution
        # Authorization header value -> institution (cleared when tokens change).
        self.bearer_cache: dict[bytes, str] = {}
        # paasid (x-tif) or access key (CSB) -> its gateway credential, secret sealed.
        self.gateway: dict[str, GatewayPair] = {}
        # Pattern source -> registered YB codes that do not match it.
        self.nonconforming: dict[str, set[str]] = {}
        self.memo = Memo()
        self.contexts: dict[str, InstContext] = self.memo.contexts  # the hot path's

    # -- building and patching ---------------------------------------------------------
    @classmethod
    def from_patch(cls, snapshot: Patch) -> Registry:
        """A registry from a full snapshot (every entity of the record, as facts)."""
        reg = cls(snapshot["version"])
        reg.apply(snapshot)
        reg.compute_nonconforming()
        return reg

    def compute_nonconforming(self) -> None:
        """Scan every registered YB code against each distinct region pattern."""
        aliases = self.alias_owner
        self.nonconforming = {}
        for src, policy in self.patterns().items():
            bad = filterfalse(policy.pattern.fullmatch, self.physicians)
            self.nonconforming[src] = {c for c in bad if c not in aliases}

    def patterns(self) -> dict[str, RegionPolicy]:
        out = {DEFAULT_CODE_PATTERN: DEFAULT_REGION}
        for r in self.regions.values():
            for version in r.versions():
                out.setdefault(version.pattern.pattern, version)
        return out

    def apply(self, patch: Patch) -> None:
        """Upsert (or, for ``None``, delete) the patch's entities in place: everything is
        converted first (a bad fact raises before anything changed), then committed. The
        caller holds the store's lock; the version check is the store's."""
        it = self.interner
        physicians = {
            code: None if f is None else (it.entry(f), f["national_code"])
            for code, f in patch["physicians"].items()
        }
        institutions = {
            code: None if f is None else institution_state(f, it)
            for code, f in patch["institutions"].items()
        }
        regions = {
            code: None if f is None else region_policy(f) for code, f in patch["regions"].items()
        }
        tokens = {
            str(k): None if v is None else sys.intern(v) for k, v in patch["his_tokens"].items()
        }
        gateway = {
            str(k): None if f is None else gateway_pair(f)
            for k, f in patch.get("gateway_credentials", {}).items()
        }
        # Commit: plain dict operations from here on.
        touched = self._commit_physicians(physicians)
        _upsert(self.institutions, institutions)
        if regions:
            _upsert(self.regions, regions)
            if any(src not in self.nonconforming for src in self.patterns()):
                self.compute_nonconforming()
        if tokens:
            _upsert(self.tokens, tokens)
            self.bearer_cache = {}
        if gateway:
            _upsert(self.gateway, gateway)
        self.version = patch["version"]
        # Invalidation by what changed (app/registry/memo.py).
        if regions:
            self.clear_memo()
        else:
            self.memo.forget_codes(touched)
            self.memo.forget_institutions(set(institutions))

    def clear_memo(self) -> None:
        """Drop every memoised verdict."""
        self.memo = Memo()
        self.contexts = self.memo.contexts
        STATS.clears += 1

    def _commit_physicians(self, changes: dict[str, tuple[Entry, str | None] | None]) -> set[str]:
        """Commit physician changes; the map keys (codes, aliases) whose entry changed."""
        phys, aliases, owners = self.physicians, self.aliases, self.alias_owner
        patterns = self.patterns() if self.nonconforming else {}
        touched: set[str] = set(changes)
        self.dirty_shards.update(code[-4:] for code in changes)
        for code, change in changes.items():
            old_alias = aliases.pop(code, None)
            if old_alias is not None and owners.get(old_alias) == code:
                del owners[old_alias]
                phys.discard(old_alias)
                touched.add(old_alias)
            if change is None:
                phys.discard(code)
                for bad in self.nonconforming.values():
                    bad.discard(code)
                continue
            entry, alias = change
            phys[code] = entry
            if alias:
                touched.add(alias)
                previous = owners.get(alias)
                if previous is not None and previous != code:
                    aliases.pop(previous, None)
                phys[alias] = entry
                aliases[code] = alias
                owners[alias] = code
            for src, bad in self.nonconforming.items():
                policy = patterns.get(src)
                if policy is None or policy.pattern.fullmatch(code):
                    bad.discard(code)
                else:
                    bad.add(code)
        return touched

    # -- reading --------------------------------------------------------------------------
    def context(self, institution: str) -> InstContext:
        ctx = self.contexts.get(institution)
        if ctx is None:
            ctx = self.contexts[institution] = InstContext(
                self.memo,
                institution,
                self.physicians,
                self.institutions,
                self.regions,
                self.nonconforming,
            )
        return ctx

    def physician_count(self) -> int:
        return len(self.physicians) - len(self.alias_owner)

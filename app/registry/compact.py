"""The compact, read-only registry the hot path decides from, built from facts.

Memory: the physician map is ``code -> Entry`` where entries are interned by value
(``judge.Entry``), so a physician costs its code string and one dict slot (~120 bytes at
a million); only physicians with an individual history add an entry of their own.
National ``D`` aliases are extra keys of the same map, pointing at the same entry.

Speed: judging is memoised per institution and date in :class:`InstContext` tables that
map a key (an ``Entry``, or the code string itself when the registry does not know it) to
a ``Verdict``. Entries are immutable and hash by identity, so a table lookup is a pointer
hash. Every patch clears the tables (and the bearer cache when tokens change).

Mutation happens only in :meth:`Registry.apply`, which the store calls under its lock:
a request, which decides under the same lock, never sees half a patch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from itertools import filterfalse

from app.registry.facts import (
    AgreementFact,
    InstitutionFact,
    Interval as IntervalFact,
    Patch,
    PhysicianFact,
    RegionFact,
    VisitFact,
)
from app.registry.judge import (
    DEFAULT_CODE_PATTERN,
    DEFAULT_REGION,
    Agreement,
    Entry,
    InstitutionState,
    Interval,
    RegionPolicy,
    Verdict,
    Visit,
    judge_entry,
    judge_unknown,
)

MEMO_MAX = 1_000_000  # memoised verdicts over all tables before they are all dropped
_NO_STATE = InstitutionState("", "", (), ())


class Interner:
    """Value-interning of dates, intervals, agreements, visits and entries."""

    __slots__ = ("agreements", "dates", "entries", "intervals", "visits")

    def __init__(self) -> None:
        self.dates: dict[str, date] = {}
        self.intervals: dict[tuple[date, date | None], Interval] = {}
        self.agreements: dict[tuple[object, ...], Agreement] = {}
        self.visits: dict[tuple[object, ...], Visit] = {}
        self.entries: dict[tuple[object, ...], Entry] = {}

    def date(self, iso: str) -> date:
        d = self.dates.get(iso)
        if d is None:
            d = self.dates[iso] = date.fromisoformat(iso)
        return d

    def opt_date(self, iso: str | None) -> date | None:
        return None if iso is None else self.date(iso)

    def interval(self, first: date, last: date | None) -> Interval:
        key = (first, last)
        return self.intervals.setdefault(key, key)

    def spans(self, facts: Iterable[IntervalFact]) -> tuple[Interval, ...]:
        out = []
        for f in facts:
            if f[0] is None:
                raise ValueError(f"interval without a first day: {f!r}")
            out.append(self.interval(self.date(f[0]), self.opt_date(f[1])))
        return tuple(out)

    def agreement(self, f: AgreementFact) -> Agreement:
        a = Agreement(
            sys.intern(f["institution"]),
            self.date(f["starts_on"]),
            self.opt_date(f["ends_on"]),
            self.opt_date(f["terminated_on"]),
            self.spans(f["suspensions"]),
        )
        return self.agreements.setdefault(a.key(), a)

    def visit(self, f: VisitFact) -> Visit:
        v = Visit(sys.intern(f["institution"]), self.date(f["starts_on"]), self.date(f["ends_on"]))
        return self.visits.setdefault(v.key(), v)

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
    return RegionPolicy(f["code"], f["code_pattern"], frozenset(f["emergency_override"]))


class InstContext:
    """What deciding at one institution needs, with per-date memo tables."""

    __slots__ = ("code", "nonconforming", "region", "registry", "state", "tables", "verdicts")

    def __init__(self, registry: Registry, code: str) -> None:
        self.registry = registry
        self.code = code
        self.state = registry.institutions.get(code, _NO_STATE)
        self.region = registry.regions.get(self.state.region, DEFAULT_REGION)
        self.verdicts = self.region.verdicts
        # Registered codes that fail this region's pattern (rule 1 for them): usually none.
        self.nonconforming = registry.nonconforming.get(self.region.pattern.pattern, set())
        self.tables: dict[date, dict[object, Verdict]] = {}

    def table(self, d: date) -> dict[object, Verdict]:
        t = self.tables.get(d)
        if t is None:
            t = self.tables[d] = {}
        return t

    def verdict(self, key: object, d: date) -> Verdict:
        """Judge ``key`` (an Entry, or an unknown code) on ``d`` and memoise it."""
        if isinstance(key, Entry):
            reason = judge_entry(key, self.code, d, self.state.open_on(d))
        else:
            reason = judge_unknown(str(key), self.region.pattern)
        v = self.verdicts[reason]
        reg = self.registry
        reg.memo_size += 1
        if reg.memo_size > MEMO_MAX:
            reg.clear_memo()
        self.table(d)[key] = v
        return v

    def judge_code(self, code: str, d: date) -> Verdict:
        """The verdict for one code on one date (the slow, general path)."""
        if code in self.nonconforming:
            return self.verdicts["CODE_MALFORMED"]
        key: object = self.registry.physicians.get(code, code)
        v = self.table(d).get(key)
        return v if v is not None else self.verdict(key, d)


class Registry:
    """One registry version: physicians, institutions, regions and HIS tokens."""

    def __init__(self, version: int, interner: Interner | None = None) -> None:
        self.version = version
        self.interner = interner or Interner()
        # YB codes and national aliases -> shared entry.
        self.physicians: dict[str, Entry] = {}
        self.aliases: dict[str, str] = {}  # YB code -> its national alias
        self.alias_owner: dict[str, str] = {}  # national alias -> YB code
        self.institutions: dict[str, InstitutionState] = {}
        self.regions: dict[str, RegionPolicy] = {}
        self.tokens: dict[str, str] = {}  # SHA-256 hex of an HIS token -> institution
        # Authorization header value -> institution (cleared when tokens change).
        self.bearer_cache: dict[bytes, str] = {}
        # Pattern source -> registered YB codes that do not match it.
        self.nonconforming: dict[str, set[str]] = {}
        self.contexts: dict[str, InstContext] = {}
        self.memo_size = 0

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_patch(cls, snapshot: Patch) -> Registry:
        """A registry from a full snapshot (every entity of the record, as facts)."""
        reg = cls(snapshot["version"])
        reg._upsert_physicians(snapshot["physicians"])
        reg._upsert_institutions(snapshot["institutions"])
        reg._upsert_regions(snapshot["regions"])
        reg._upsert_tokens(snapshot["his_tokens"])
        reg.compute_nonconforming()
        return reg

    def compute_nonconforming(self) -> None:
        """Scan every registered YB code against each distinct region pattern."""
        aliases = self.alias_owner
        self.nonconforming = {}
        for src, policy in self._patterns().items():
            bad = filterfalse(policy.pattern.fullmatch, self.physicians)
            self.nonconforming[src] = {c for c in bad if c not in aliases}

    def _patterns(self) -> dict[str, RegionPolicy]:
        out = {DEFAULT_CODE_PATTERN: DEFAULT_REGION}
        for r in self.regions.values():
            out.setdefault(r.pattern.pattern, r)
        return out

    # -- patching -------------------------------------------------------------------------
    def apply(self, patch: Patch) -> None:
        """Upsert (or, for ``None``, delete) the patch's entities in place. The caller
        holds the store's lock; the version check is the store's."""
        self._upsert_physicians(patch["physicians"])
        self._upsert_institutions(patch["institutions"])
        if patch["regions"]:
            self._upsert_regions(patch["regions"])
            known = set(self.nonconforming)
            if any(p not in known for p in self._patterns()):
                self.compute_nonconforming()
        if patch["his_tokens"]:
            self._upsert_tokens(patch["his_tokens"])
        self.version = patch["version"]
        self.clear_memo()

    def clear_memo(self) -> None:
        self.contexts = {}
        self.memo_size = 0

    def _upsert_physicians(self, facts: Mapping[str, PhysicianFact | None]) -> None:
        phys, aliases, owners = self.physicians, self.aliases, self.alias_owner
        patterns = self._patterns() if self.nonconforming else {}
        for code, fact in facts.items():
            old_alias = aliases.pop(code, None)
            if old_alias is not None and owners.get(old_alias) == code:
                del owners[old_alias]
                phys.pop(old_alias, None)
            if fact is None:
                phys.pop(code, None)
                for bad in self.nonconforming.values():
                    bad.discard(code)
                continue
            entry = self.interner.entry(fact)
            phys[code] = entry
            alias = fact["national_code"]
            if alias:
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

    def _upsert_institutions(self, facts: Mapping[str, InstitutionFact | None]) -> None:
        for code, fact in facts.items():
            if fact is None:
                self.institutions.pop(code, None)
            else:
                self.institutions[code] = institution_state(fact, self.interner)

    def _upsert_regions(self, facts: Mapping[str, RegionFact | None]) -> None:
        for code, fact in facts.items():
            if fact is None:
                self.regions.pop(code, None)
            else:
                self.regions[code] = region_policy(fact)

    def _upsert_tokens(self, facts: Mapping[str, str | None]) -> None:
        for digest, inst in facts.items():
            if inst is None:
                self.tokens.pop(digest, None)
            else:
                self.tokens[digest] = sys.intern(inst)
        self.bearer_cache = {}

    # -- reading --------------------------------------------------------------------------
    def context(self, institution: str) -> InstContext:
        ctx = self.contexts.get(institution)
        if ctx is None:
            ctx = self.contexts[institution] = InstContext(self, institution)
        return ctx

    def physician_count(self) -> int:
        return len(self.physicians) - len(self.alias_owner)

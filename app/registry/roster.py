"""What changed in the registry, per physician and per institution, for ``GET /v1/roster``.

:class:`RosterLog` lives in the :class:`~app.registry.store.RegistryStore` next to the
registry: a full load (snapshot) starts a new log at its version (``base``); every patch
applied after it appends ``(version, code)`` for each physician it touched and records
the version at which each institution's roster last changed (its own facts, or a
physician arriving, leaving or changing there). So ``since_version >= base`` gets an
exact delta; an older ``since_version`` gets the full roster (``full: true``) because the
snapshot does not say when each physician last changed.

The institution -> physician codes index is built on the first roster request: the
physician map is copied under the store's lock (a C-level dict copy, some tens of
milliseconds at a million physicians), the index is built from the copy in a worker
thread (seconds at a million: the hot path keeps deciding meanwhile), and installed under
the lock after moving the physicians changed since the copy. From then on every patch
keeps it up to date. Cost: one set slot per (physician, institution) pair (some 40
bytes), only once someone asks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping

from app.registry.compact import Registry
from app.registry.facts import Patch
from app.registry.judge import Entry

_NONE: frozenset[str] = frozenset()


def institutions_of(entry: Entry | None) -> frozenset[str]:
    if entry is None:
        return _NONE
    return frozenset(a.institution for a in entry.agreements) | frozenset(
        v.institution for v in entry.visits
    )


class RosterLog:
    def __init__(self, base: int) -> None:
        self.base = base
        self.versions: list[int] = []  # parallel to codes, ascending
        self.codes: list[str] = []
        self.changed_at: dict[str, int] = {}  # institution -> last version its roster changed
        self.index: dict[str, set[str]] | None = None
        self.departed: dict[str, dict[str, int]] = defaultdict(dict)  # inst -> code -> version

    # -- maintained by the store, under its lock ----------------------------------------
    def before(self, reg: Registry, patch: Patch) -> dict[str, Entry | None]:
        """The touched physicians' entries before ``patch`` is applied."""
        phys = reg.physicians
        return {code: phys.get(code) for code in patch["physicians"]}

    def after(self, reg: Registry, patch: Patch, old: dict[str, Entry | None]) -> None:
        v = patch["version"]
        index, changed = self.index, self.changed_at
        for code, fact in patch["physicians"].items():
            was = institutions_of(old.get(code))
            now = institutions_of(reg.physicians.get(code) if fact is not None else None)
            self.versions.append(v)
            self.codes.append(code)
            for inst in was | now:
                changed[inst] = v
            for inst in was - now:
                self.departed[inst][code] = v
                if index is not None:
                    index.get(inst, set()).discard(code)
            for inst in now - was:
                self.departed[inst].pop(code, None)
                if index is not None:
                    index.setdefault(inst, set()).add(code)
        for inst in patch["institutions"]:
            changed[inst] = v

    # -- read by the roster endpoint, under the store's lock ------------------------------
    def codes_at(self, reg: Registry, institution: str) -> set[str]:
        """The institution's physician codes (builds the index here if no one has)."""
        if self.index is None:
            self.index = build_index(reg.physicians.copy(), set(reg.alias_owner))
        return self.index.get(institution, set())

    def install(
        self, reg: Registry, index: dict[str, set[str]], seen: int, copy: Mapping[str, Entry]
    ) -> None:
        """Install an index built (off the lock) from ``copy``, the physician map when
        the log held ``seen`` changes; the physicians changed since are moved to where
        they are now. The caller holds the store's lock."""
        if self.index is not None:
            return
        for code in set(self.codes[seen:]):
            was = institutions_of(copy.get(code))
            now = institutions_of(reg.physicians.get(code))
            for inst in was - now:
                index.get(inst, set()).discard(code)
            for inst in now - was:
                index.setdefault(inst, set()).add(code)
        self.index = index

    def version_of(self, institution: str) -> int:
        """The last version at which the institution's roster changed (``base`` when it
        has not changed since the load: an upper bound)."""
        return self.changed_at.get(institution, self.base)

    def changed_since(
        self, reg: Registry, institution: str, since: int
    ) -> tuple[list[str], list[str]]:
        """(codes at the institution that changed after ``since``, codes that left it
        after ``since``); ``since >= base``."""
        here = self.codes_at(reg, institution)
        start = bisect_right(self.versions, since)
        changed = {c for c in self.codes[start:] if c in here}
        left = [c for c, v in self.departed.get(institution, {}).items() if v > since]
        return sorted(changed), sorted(c for c in left if c not in here)


def build_index(physicians: Mapping[str, Entry], aliases: set[str]) -> dict[str, set[str]]:
    """Institution -> the codes of the physicians with an agreement or a visit there
    (national aliases left out). Pure: runs on a copy, in a worker thread."""
    index: dict[str, set[str]] = defaultdict(set)
    memo: dict[Entry, frozenset[str]] = {}
    for code, entry in physicians.items():
        insts = memo.get(entry)
        if insts is None:
            insts = memo[entry] = institutions_of(entry)
        if insts and code not in aliases:
            for inst in insts:
                index[inst].add(code)
    return dict(index)

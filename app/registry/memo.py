"""The verdict memo of a registry: per institution and date, code -> verdict.

:class:`InstContext` holds, for one institution, ``tables[d]`` mapping a request's code
string to its verdict (the hot path's one dict lookup per line) and ``entry_tables[d]``
mapping a shared entry to its verdict (a new code with a known history is not judged
again). :class:`Memo` holds the contexts of one registry and what invalidation needs.

Invalidation by what changed (:meth:`Memo.forget_codes`, :meth:`Memo.forget_institutions`):

* A physician patch changes which entry a code (and its national alias) maps to, never an
  entry itself (entries are immutable, interned by value). So only the code-level
  verdicts of the codes it names go: ``holders[code]`` lists the tables a code was
  memoised in (filled on a miss, never on the hot path), and each drops the code.
  Entry-level verdicts stay valid.
* An institution patch changes that institution's standing: its context goes, with all
  its tables. No other institution's verdicts read it.
* A region patch (pattern, override scope) is rare: everything goes.
* An HIS token patch touches no verdict.

Bounded in bytes, whatever the requests send: a code longer than any code the registry
can hold (``MAX_CODE_CHARS``, the record's column) is CODE_MALFORMED without entering any
table, and every memoised verdict, table and entry verdict is counted at what it holds
(``CODE_COST`` + the code's characters, ``TABLE_COST``, ``ENTRY_COST``: measured with
tracemalloc). Past ``LIMITS.max_bytes`` (``YBGATE_MEMO_MAX_BYTES``, 64 MiB) a new epoch
starts, ``holders`` is dropped and each context drops its tables before its next use (the
hot path checks the epoch first).

No reference cycles: a context refers to the registry's physician map, its budget and
``holders``, never back to the :class:`Memo` or the registry, so a replaced registry is
freed by reference counting alone (the heap is frozen out of the cyclic GC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from app.registry.judge import (
    DEFAULT_REGION,
    Entry,
    InstitutionState,
    RegionPolicy,
    Verdict,
    judge_entry,
    judge_unknown,
)

MAX_CODE_CHARS = 40  # physicians.code is VARCHAR(40): no longer code is ever registered
CODE_COST = 200  # bytes a memoised (code, date) holds besides the code's own characters
TABLE_COST = 300  # a new date's tables of one institution
ENTRY_COST = 100  # an entry's verdict on a date
NO_STATE = InstitutionState("", "", (), ())


class Limits:
    """The memo's byte bound (the gatekeeper sets it from settings at start-up)."""

    __slots__ = ("max_bytes",)

    def __init__(self) -> None:
        self.max_bytes = 64 * 1024 * 1024


LIMITS = Limits()


class MemoStats:
    """Process-wide memo counters for the metrics: lines looked up (the hot path adds
    a request's line count), code-level misses (judged), verdicts dropped by patches,
    and full clears (region patches, epochs, registry loads)."""

    __slots__ = ("clears", "invalidated", "lookups", "misses")

    def __init__(self) -> None:
        self.lookups = 0
        self.misses = 0
        self.invalidated = 0
        self.clears = 0


STATS = MemoStats()


class InstContext:
    """What deciding at one institution needs, with its per-date memo tables."""

    __slots__ = (
        "budget",
        "by_pattern",
        "code",
        "entry_tables",
        "epoch",
        "holders",
        "nonconforming",
        "physicians",
        "region",
        "state",
        "tables",
        "verdicts",
    )

    def __init__(
        self,
        memo: Memo,
        code: str,
        physicians: Mapping[str, Entry],
        institutions: Mapping[str, InstitutionState],
        regions: Mapping[str, RegionPolicy],
        nonconforming: Mapping[str, set[str]],
    ) -> None:
        """The context of institution ``code`` over one registry's maps (``compact.Registry``
        passes its own; this module does not import it)."""
        self.code = code
        self.physicians = physicians
        self.budget = memo.budget  # shared [bytes, epoch, codes]
        self.holders = memo.holders
        self.epoch = self.budget[1]
        self.state = institutions.get(code, NO_STATE)
        self.region = regions.get(self.state.region, DEFAULT_REGION)
        self.verdicts = self.region.verdicts
        # Registered codes that fail this region's pattern (rule 1 for them): usually none.
        self.nonconforming = nonconforming.get(self.region.pattern.pattern, set())
        # Per pattern, for a region whose policy changes on a date (rare).
        self.by_pattern = nonconforming
        self.tables: dict[dt.date, dict[str, Verdict]] = {}
        self.entry_tables: dict[dt.date, dict[Entry, Verdict]] = {}

    def judge_code(self, code: str, d: dt.date) -> Verdict:
        """The verdict for one code on one date, memoised (see the module doc)."""
        if len(code) > MAX_CODE_CHARS:  # never registered, never memoised
            STATS.misses += 1
            return self.region.on(d).verdicts["CODE_MALFORMED"]
        budget = self.budget
        if self.epoch != budget[1]:
            self.tables.clear()
            self.entry_tables.clear()
            self.epoch = budget[1]
        table = self.tables.get(d)
        if table is None:
            table = self.tables[d] = {}
            budget[0] += TABLE_COST
        v = table.get(code)
        if v is None:
            v = table[code] = self._judge(code, d)
            STATS.misses += 1
            holders = self.holders.get(code)
            if holders is None:
                self.holders[code] = [table]
            else:
                holders.append(table)
            budget[0] += CODE_COST + len(code)
            budget[2] += 1
            if budget[0] > LIMITS.max_bytes:
                budget[0] = budget[2] = 0
                budget[1] += 1
                self.holders.clear()
                STATS.clears += 1
        return v

    def nonconforming_on(self, d: dt.date) -> set[str]:
        """The registered codes that fail the pattern of the version in force on ``d``."""
        if not self.region.changes:
            return self.nonconforming
        return self.by_pattern.get(self.region.on(d).pattern.pattern, set())

    def _judge(self, code: str, d: dt.date) -> Verdict:
        region, bad = self.region, self.nonconforming
        if region.changes:  # the version of the region's policy in force on d
            region = region.on(d)
            bad = self.by_pattern.get(region.pattern.pattern, set())
        verdicts = region.verdicts
        if code in bad:
            return verdicts["CODE_MALFORMED"]
        entry = self.physicians.get(code)
        if entry is None:
            return verdicts[judge_unknown(code, region.pattern)]
        table = self.entry_tables.get(d)
        if table is None:
            table = self.entry_tables[d] = {}
        v = table.get(entry)
        if v is None:
            reason = judge_entry(entry, self.code, d, self.state.open_on(d))
            v = table[entry] = verdicts[reason]
            self.budget[0] += ENTRY_COST
        return v


class Memo:
    """The contexts of one registry and the reverse index of memoised codes."""

    __slots__ = ("budget", "contexts", "holders")

    def __init__(self) -> None:
        self.contexts: dict[str, InstContext] = {}
        # [bytes held over all contexts, epoch, code verdicts memoised]
        self.budget = [0, 0, 0]
        # Code -> the code tables it is memoised in (this epoch).
        self.holders: dict[str, list[dict[str, Verdict]]] = {}

    def forget_codes(self, codes: set[str]) -> None:
        """Drop the code-level verdicts of these codes (YB codes and aliases)."""
        holders, budget = self.holders, self.budget
        dropped = 0
        for code in codes:
            tables = holders.pop(code, None)
            if tables is not None:
                for table in tables:
                    if table.pop(code, None) is not None:
                        dropped += 1
                        budget[0] = max(0, budget[0] - CODE_COST - len(code))
        budget[2] = max(0, budget[2] - dropped)
        STATS.invalidated += dropped

    def forget_institutions(self, codes: set[str]) -> None:
        """Drop the contexts of these institutions (their tables go with them)."""
        for code in codes:
            ctx = self.contexts.pop(code, None)
            if ctx is not None:
                STATS.invalidated += sum(len(t) for t in ctx.tables.values())

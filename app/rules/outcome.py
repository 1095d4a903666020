"""One event against the ledger: what a new deduction or a reversal changes.

The caller persists actions keyed by ``Firing.key`` = (period key, rule id). Recording a
deduction (or reversing one upheld on objection, zhejiang-2014 五（一）) replays the ledger
before and after, and :class:`ReplayDiff` tells it exactly what to do:

- ``added``: firings to create an action for (exactly once: the key is new);
- ``removed``: firings that no longer happen: void their actions;
- ``changed``: same key, but another triggering deduction, date or period total (an
  earlier-dated deduction arrived, or one before it was reversed): update the action;
- ``bans_added`` / ``bans_removed``: bans keyed by (source, rule id), dates included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.rules.bans import Ban
from app.rules.engine import (
    Deduction,
    Firing,
    ManualEvent,
    PeriodStanding,
    Replay,
    replay,
    standing_on,
)
from app.rules.errors import InvalidLedger
from app.rules.model import Policy


@dataclass(frozen=True)
class ReplayDiff:
    added: tuple[Firing, ...]
    removed: tuple[Firing, ...]
    changed: tuple[tuple[Firing, Firing], ...]  # (before, after)
    bans_added: tuple[Ban, ...]
    bans_removed: tuple[Ban, ...]

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.bans_added or self.bans_removed
        )


@dataclass(frozen=True)
class Outcome:
    before: Replay
    after: Replay
    diff: ReplayDiff
    standing: PeriodStanding  # the period of the recorded / reversed deduction, after
    triggered: tuple[Firing, ...]  # firings whose triggering deduction is the new one


def diff(before: Replay, after: Replay) -> ReplayDiff:
    """What changed between two replays of the same physician and policy."""
    old = {f.key: f for f in before.firings}
    new = {f.key: f for f in after.firings}
    old_bans = {(b.source, b.rule_id): b for b in before.bans}
    new_bans = {(b.source, b.rule_id): b for b in after.bans}
    return ReplayDiff(
        added=tuple(f for k, f in new.items() if k not in old),
        removed=tuple(f for k, f in old.items() if k not in new),
        changed=tuple((old[k], f) for k, f in new.items() if k in old and old[k] != f),
        bans_added=tuple(b for k, b in new_bans.items() if old_bans.get(k) != b),
        bans_removed=tuple(b for k, b in old_bans.items() if new_bans.get(k) != b),
    )


def record_deduction(
    policy: Policy,
    ledger: Sequence[Deduction],
    new: Deduction,
    *,
    manual_events: Iterable[ManualEvent] = (),
) -> Outcome:
    """Add ``new`` to the physician's ledger (non-reversed deductions under ``policy``)."""
    if any(d.id == new.id for d in ledger):
        raise InvalidLedger(f"deduction {new.id!r} is already in the ledger", field="id")
    events = tuple(manual_events)
    before = replay(policy, ledger, manual_events=events)
    after = replay(policy, [*ledger, new], manual_events=events)
    return Outcome(
        before=before,
        after=after,
        diff=diff(before, after),
        standing=standing_on(policy, after, new.decided_on, new.anchor, new.agreement_ends_on),
        triggered=tuple(f for f in after.firings if f.deduction_id == new.id),
    )


def reverse_deduction(
    policy: Policy,
    ledger: Sequence[Deduction],
    deduction_id: str,
    *,
    manual_events: Iterable[ManualEvent] = (),
) -> Outcome:
    """Remove ``deduction_id`` (objection upheld) and everything that depended on it."""
    gone = next((d for d in ledger if d.id == deduction_id), None)
    if gone is None:
        raise InvalidLedger(f"deduction {deduction_id!r} is not in the ledger", field="id")
    events = tuple(manual_events)
    before = replay(policy, ledger, manual_events=events)
    after = replay(policy, [d for d in ledger if d.id != deduction_id], manual_events=events)
    return Outcome(
        before=before,
        after=after,
        diff=diff(before, after),
        standing=standing_on(policy, after, gone.decided_on, gone.anchor, gone.agreement_ends_on),
        triggered=(),
    )

"""Bans on a new agreement after a termination or a code cancellation.

- zhejiang-2014 三（二）: 1 year after termination for violations; 5 years (province-wide)
  after the code is cancelled (注销).
- lanzhou-2014 第十八条: 1 year after revocation; 5 years after the second revocation.
- nhsa-2024: 1 year; 3 years when the 12 points came from a single deduction.

Among a policy's ban rules matching an event, the longest applies. A ban covers
``[starts_on, ends_on]`` (both inclusive): it starts on the termination's effective date
and ends the day before the same date ``years`` later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from app.rules.errors import InvalidInput
from app.rules.model import BanRule, Policy
from app.rules.periods import add_years

BanTrigger = Literal["terminate", "cancel_code"]
# (region, starts_on, ends_on, terminated_on) of one agreement under the policy.
AgreementDates = tuple[str, date, date | None, date | None]


@dataclass(frozen=True)
class Ban:
    rule_id: str  # the policy's ban rule
    trigger: BanTrigger  # the event kind that caused it
    source: str  # a firing key "2026/reach-12", or the caller's ref of a manual event
    starts_on: date
    ends_on: date  # last day of the ban (inclusive)
    years: int
    scope: Literal["region", "policy"]
    clause: str

    def covers(self, d: date) -> bool:
        return self.starts_on <= d <= self.ends_on


def ban_rule_for(
    policy: Policy,
    trigger: BanTrigger,
    *,
    prior_terminations: int = 0,
    single_deduction: bool = False,
) -> BanRule | None:
    """The ban rule that applies to an event, or ``None`` when the policy bans nothing."""
    if prior_terminations < 0:
        raise InvalidInput("prior_terminations cannot be negative", field="prior_terminations")
    matching = [
        rule
        for rule in policy.bans
        if rule.on == trigger
        and prior_terminations >= rule.min_prior_terminations
        and (single_deduction or not rule.single_deduction)
    ]
    return max(matching, key=lambda rule: rule.years, default=None)


def ban_for_event(
    policy: Policy,
    trigger: BanTrigger,
    effective_on: date,
    *,
    source: str,
    prior_terminations: int = 0,
    single_deduction: bool = False,
) -> Ban | None:
    """The ban an event causes.

    ``prior_terminations``: terminations (revocations) of this physician under the policy
    before this one (lanzhou-2014 第十八条 counts them); ``single_deduction``: the
    termination came from one deduction carrying the threshold's points by itself
    (nhsa-2024 一次性记满12分).
    """
    rule = ban_rule_for(
        policy, trigger, prior_terminations=prior_terminations, single_deduction=single_deduction
    )
    if rule is None:
        return None
    return Ban(
        rule_id=rule.id,
        trigger=trigger,
        source=source,
        starts_on=effective_on,
        ends_on=add_years(effective_on, rule.years) - timedelta(days=1),
        years=rule.years,
        scope=rule.scope,
        clause=rule.clause,
    )


def ban_regions(
    ban: Ban, trigger_region: str, agreements: Iterable[AgreementDates]
) -> tuple[str, ...]:
    """The regions a ``region``-scoped ban covers: every region whose agreement the
    termination ended (zhejiang-2014 三（二） 自解除协议之日起一年内不再接受: a multi-site
    physician terminated on pooled points loses every agreement, and each of those
    agencies refuses a new one), plus the region of the triggering deduction. The
    termination ended an agreement when it took effect on ``ban.starts_on`` (or on the
    agreement's start, for one that had not begun). ``()`` for a ``policy``-scoped ban:
    it covers every region of the policy."""
    if ban.scope == "policy":
        return ()
    on = ban.starts_on
    regions = {trigger_region} if trigger_region else set()
    for region, starts, _ends, terminated in agreements:
        if terminated is not None and terminated == max(on, starts):
            regions.add(region)
    return tuple(sorted(regions))

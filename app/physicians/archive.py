"""The integrity archive (诚信档案, lanzhou-2014 第二十条): every event of a physician in
date order, from the record itself (never a copy that could drift)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreements_repo
from app.core.clock import local_date
from app.ledger import repository as ledger
from app.physicians import repository as repo
from app.physicians.service import get_physician

Event = dict[str, Any]


def _ev(on: date, at: datetime, event: str, **detail: Any) -> Event:
    return {"on": on.isoformat(), "recorded_at": at.isoformat(), "event": event, **detail}


async def archive(session: AsyncSession, code: str) -> list[Event]:
    p = await get_physician(session, code)
    events = [
        _ev(
            local_date(p.created_at),  # the day in Beijing time, not UTC's
            p.created_at,
            "registered",
            code=p.code,
            national_code=p.national_code,
            category=p.category,
        )
    ]
    events += await _agreement_events(session, code)
    events += await _code_events(session, code)
    events += await _violation_events(session, code)
    events += await _consequence_events(session, code)
    events += [
        _ev(
            r.decided_on,
            r.created_at,
            "repair",
            repair_id=r.id,
            region=r.region_code,
            policy=r.policy_id,
            period=r.period_key,
            means=r.means,
            points=r.points,
            note=r.note,
        )
        for r in await ledger.repairs_of(session, code)
    ]
    events.sort(key=lambda e: (e["on"], e["recorded_at"]))
    return events


async def _agreement_events(session: AsyncSession, code: str) -> list[Event]:
    events: list[Event] = []
    rows = await agreements_repo.agreements_of(session, code)
    susps = await agreements_repo.suspensions_by_agreement(session, [a.id for a in rows])
    for a in rows:
        base = {"agreement_id": a.id, "institution_code": a.institution_code}
        events.append(
            _ev(
                a.starts_on,
                a.created_at,
                "agreement.signed",
                **base,
                ends_on=a.ends_on.isoformat() if a.ends_on else None,
            )
        )
        for s in susps[a.id]:
            events.append(
                _ev(
                    s.starts_on,
                    s.created_at,
                    "agreement.suspended",
                    **base,
                    ends_on=s.ends_on.isoformat() if s.ends_on else None,
                    reason=s.reason,
                    action_id=s.source_action_id,
                )
            )
            if s.resumed_on:
                events.append(_ev(s.resumed_on, s.created_at, "agreement.resumed", **base))
        if (ended := a.effective_terminated_on) is not None:
            events.append(
                _ev(
                    ended,
                    a.created_at,
                    "agreement.terminated",
                    **base,
                    kind=a.termination_kind,
                    reason=a.termination_reason,
                )
            )
    return events


async def _code_events(session: AsyncSession, code: str) -> list[Event]:
    """Visits, and the code's cancellations and restorations."""
    events = [
        _ev(
            visit.starts_on,
            visit.created_at,
            "visit",
            host=visit.host_institution_code,
            ends_on=visit.ends_on.isoformat(),
            kind=visit.kind,
        )
        for visit in await repo.visits_of(session, code)
    ]
    for c in await agreements_repo.cancellations_of(session, code):
        events.append(_ev(c.effective_on, c.created_at, "code.cancelled", reason=c.reason))
        if c.restored_on:
            events.append(_ev(c.restored_on, c.created_at, "code.restored"))
    return events


async def _violation_events(session: AsyncSession, code: str) -> list[Event]:
    events: list[Event] = []
    violations = await ledger.violations_of(session, code)
    objections = {
        o.violation_id: o for o in await ledger.objections_to(session, [v.id for v in violations])
    }
    for v in violations:
        events.append(
            _ev(
                v.decided_on,
                v.created_at,
                "violation",
                violation_id=v.id,
                region=v.region_code,
                item=v.item,
                points=v.points,
                degree=v.degree,
                policy=v.policy_id,
                occurred_on=v.occurred_on.isoformat(),
            )
        )
        o = objections.get(v.id)
        if o is not None:
            events.append(_ev(o.filed_on, o.created_at, "objection.filed", violation_id=v.id))
            if o.decided_on is not None:
                events.append(
                    _ev(
                        o.decided_on,
                        o.created_at,
                        "objection.decided",
                        violation_id=v.id,
                        upheld=o.upheld,
                    )
                )
        if v.reversed_on:
            events.append(_ev(v.reversed_on, v.created_at, "violation.reversed", violation_id=v.id))
    return events


async def _consequence_events(session: AsyncSession, code: str) -> list[Event]:
    """Actions and bans."""
    events = [
        _ev(
            act.starts_on,
            act.created_at,
            f"action.{act.type}",
            action_id=act.id,
            status=act.status,
            ends_on=act.ends_on.isoformat() if act.ends_on else None,
            rule_id=act.rule_id,
            months=act.months,
            clause=act.clause,
        )
        for act in await ledger.actions_of(session, code)
    ]
    for b in await ledger.bans_of(session, code):
        if b.voided_at is None:
            events.append(
                _ev(
                    b.starts_on,
                    b.created_at,
                    "ban",
                    policy=b.policy_id,
                    ends_on=b.ends_on.isoformat(),
                    clause=b.clause,
                )
            )
    return events

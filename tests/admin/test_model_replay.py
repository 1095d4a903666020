"""Model-based test: random admin writes, then the record equals a from-scratch replay.

Hypothesis drives random sequences of admin writes through the HTTP API — agreements,
visits, violations, objections and their decisions, decisions of pending actions, code
cancellations, institution renewals and physicians' end requests — over two regions of
each seed policy (330100 and 330200 on zhejiang-2014, 620100 and 620200 on lanzhou-2014),
on the real PostgreSQL. After every step:

1. **Actions** on the record equal the firings of a from-scratch replay of the pure
   engine (``app.rules.replay``) over the same ledger (the non-reversed violations, read
   with plain queries, each placed in its agreement term by ``agreement_for``):
   zhejiang-2014 三（二） (6 约谈, 9–11 中止 pending, 12 解除, 连续三年 ≥ 9 解除: each once per
   year, the most severe reached wins), lanzhou-2014 第十七条 (6/8 暂停 3/6 months, 10 终止,
   once per 协议期) and 第十一条 (points per agreement term), and 五（一） (an upheld
   objection voids what its deduction alone caused).
2. **Bans** on the record equal the replay's bans, each region-scoped one in every region
   whose agreement the termination ended (zhejiang-2014 三（二） 一年内不再接受; 注销 五年
   province-wide; lanzhou-2014 第十八条 1 year, 5 years after a second revocation).
3. **Standing**: the points ``GET /admin/v1/physicians/{code}`` shows for every period
   equal the replay's (第十一条 10 per term; 三 12 per calendar year, pooled over regions).
4. **The registry the hot path decides from** (patched in place after each commit) judges
   every physician at every institution on sample dates exactly as a registry rebuilt from
   the database does, and pays no line of a physician at an institution of a policy on or
   after a termination the replay fires there (lanzhou-2014 第十七条 终止协议;
   zhejiang-2014 三（二） 解除; 二 no fees once ended).
"""

from __future__ import annotations

import asyncio
import os
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.admin.app import create_admin_app
from app.ledger.repository import agreement_dates, agreement_spans
from app.models import Action, Ban, CodeCancellation, Region, Violation
from app.registry.compact import Registry
from app.registry.source import load_snapshot
from app.registry.store import RegistryStore
from app.rules import Deduction, ManualEvent, Replay, get_policy, replay
from app.rules.bans import ban_regions
from app.rules.periods import agreement_for
from app.sync.inprocess import InProcessFeed
from app.tokens import service as tokens
from app.uow import unit_of_work

REGIONS = {
    "330100": "zhejiang-2014",
    "330200": "zhejiang-2014",
    "620100": "lanzhou-2014",
    "620200": "lanzhou-2014",
}
INSTITUTIONS = {
    "H33010000001": "330100",
    "H33020000001": "330200",
    "H62010000001": "620100",
    "H62020000001": "620200",
}
CERTS = ["330102198001011234000000001", "330102198001011234000000002"]
CODES = ["YB" + c for c in CERTS]
START = date(2024, 1, 1)
DAYS = 1000  # dates up to 2026-09-26: inside the shipped working-day calendar
SAMPLE_DAYS = [
    date(2024, 3, 1),
    date(2024, 9, 2),
    date(2025, 3, 3),
    date(2025, 9, 1),
    date(2026, 3, 2),
    date(2026, 9, 1),
    date(2027, 3, 1),
]
ITEMS = {
    "zhejiang-2014": ["1.4", "2.1", "3.1", "4.1"],
    "lanzhou-2014": ["12.1", "13.1", "14.1"],
}

days = st.integers(min_value=0, max_value=DAYS)


def day(n: int) -> date:
    return START + timedelta(days=n)


class RecordMachine(RuleBasedStateMachine):
    violations = Bundle("violations")
    agreements = Bundle("agreements")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine | None = None
        self.conn: AsyncConnection | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def setup(self) -> None:
        self.run(self._setup())

    async def _setup(self) -> None:
        self.engine = create_async_engine(os.environ["YBGATE_TEST_PG_URL"])
        self.conn = await self.engine.connect()
        self.trans = await self.conn.begin()
        self.sessions = async_sessionmaker(
            bind=self.conn,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        self.store = RegistryStore()
        app = create_admin_app()
        app.state.sessions = self.sessions
        app.state.feed = InProcessFeed(self.store, self.sessions)
        await app.state.feed.load()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        )
        async with unit_of_work(self.sessions, publish=False) as uow:
            created = await tokens.issue(uow.session, None, "superuser")
        self.h = {"Authorization": f"Bearer {created.token}"}
        for code, policy in REGIONS.items():
            await self.ok("/admin/v1/regions", {"code": code, "name": code, "policy": policy})
        for inst, region in INSTITUTIONS.items():
            body = {
                "code": inst,
                "name": inst,
                "region": region,
                "agreement_starts_on": "2024-01-01",
                "agreement_ends_on": "2025-12-31",
                "approved_physicians": 200,
            }
            await self.ok("/admin/v1/institutions", body)
        for cert in CERTS:
            await self.ok("/admin/v1/physicians", {"certificate_no": cert, "name": "医师"})

    def teardown(self) -> None:
        async def close() -> None:
            if self.conn is not None:
                await self.client.aclose()
                await self.trans.rollback()
                await self.conn.close()
            if self.engine is not None:
                await self.engine.dispose()

        self.run(close())
        self.loop.close()

    async def ok(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.client.post(path, json=body, headers=self.h)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    async def write(self, path: str, body: dict[str, Any]) -> Any:
        """A random write: refused (4xx, a problem naming why) or done; never a 500."""
        r = await self.client.post(path, json=body, headers=self.h)
        assert r.status_code < 500, (path, body, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
            return None
        return r.json()

    # ---- writes ---------------------------------------------------------------------

    @rule(
        target=agreements,
        phys=st.sampled_from(CODES),
        inst=st.sampled_from(sorted(INSTITUTIONS)),
        start=days,
        length=st.sampled_from([None, 200, 729]),
    )
    def agreement(self, phys: str, inst: str, start: int, length: int | None) -> str:
        ends = day(start + length).isoformat() if length is not None else None
        body = {
            "physician_code": phys,
            "institution_code": inst,
            "starts_on": day(start).isoformat(),
            "ends_on": ends,
        }
        out = self.run(self.write("/admin/v1/agreements", body))
        return str(out["id"]) if out else ""

    @rule(
        target=violations,
        phys=st.sampled_from(CODES),
        region=st.sampled_from(sorted(REGIONS)),
        pick=st.integers(0, 3),
        decided=days,
        points=st.integers(1, 3),
    )
    def violation(self, phys: str, region: str, pick: int, decided: int, points: int) -> str:
        items = ITEMS[REGIONS[region]]
        item = items[pick % len(items)]
        body: dict[str, Any] = {
            "physician_code": phys,
            "region": region,
            "item": item,
            "occurred_on": day(decided).isoformat(),
            "decided_on": day(decided).isoformat(),
        }
        if item.startswith("14."):
            body["points"] = points
        out = self.run(self.write("/admin/v1/violations", body))
        return str(out["id"]) if out else ""

    @rule(v=violations, after=st.integers(0, 20), upheld=st.booleans())
    def objection(self, v: str, after: int, upheld: bool) -> None:
        if not v:
            return

        async def go() -> None:
            got = (await self.client.get(f"/admin/v1/violations/{v}", headers=self.h)).json()
            filed = date.fromisoformat(got["decided_on"]) + timedelta(days=after)
            out = await self.write(
                f"/admin/v1/violations/{v}/objection",
                {"filed_on": filed.isoformat(), "grounds": "异议"},
            )
            if out is not None:
                await self.write(
                    f"/admin/v1/violations/{v}/objection/decision",
                    {"upheld": upheld, "decided_on": filed.isoformat()},
                )

        self.run(go())

    @rule(approve=st.booleans(), months=st.integers(1, 3), later=st.integers(0, 30))
    def decide_pending(self, approve: bool, months: int, later: int) -> None:
        async def go() -> None:
            r = await self.client.get(
                "/admin/v1/actions", params={"status": "pending"}, headers=self.h
            )
            for a in r.json()["items"][:1]:
                on = date.fromisoformat(a["effective_on"]) + timedelta(days=later)
                await self.write(
                    f"/admin/v1/actions/{a['id']}/decide",
                    {"approve": approve, "months": months, "decided_on": on.isoformat()},
                )

        self.run(go())

    @rule(phys=st.sampled_from(CODES), on=days)
    def cancel_code(self, phys: str, on: int) -> None:
        body = {"effective_on": day(on).isoformat(), "reason": "注销"}
        self.run(self.write(f"/admin/v1/physicians/{phys}/cancel", body))

    @rule(inst=st.sampled_from(sorted(INSTITUTIONS)))
    def institution_renews(self, inst: str) -> None:
        body = {"starts_on": "2026-01-01", "ends_on": "2027-12-31"}
        self.run(self.write(f"/admin/v1/institutions/{inst}/terms", body))

    @rule(a=agreements, on=days)
    def end_request(self, a: str, on: int) -> None:
        if a:
            body = {"filed_on": day(on).isoformat()}
            self.run(self.write(f"/admin/v1/agreements/{a}/end-request", body))

    @rule(phys=st.sampled_from(CODES), inst=st.sampled_from(sorted(INSTITUTIONS)), on=days)
    def visit(self, phys: str, inst: str, on: int) -> None:
        body = {
            "physician_code": phys,
            "host_institution_code": inst,
            "starts_on": day(on).isoformat(),
            "ends_on": day(on + 90).isoformat(),
        }
        self.run(self.write("/admin/v1/visits", body))

    # ---- the properties ---------------------------------------------------------------

    @invariant()
    def record_equals_replay(self) -> None:
        if self.engine is not None:
            self.run(self._check())

    async def _check(self) -> None:
        async with self.sessions() as session:
            for code in CODES:
                for policy_id in sorted(set(REGIONS.values())):
                    if not await self._has_records(session, code, policy_id):
                        continue  # reconciled on its first record (agreement or violation)
                    result = await self._replay(session, code, policy_id)
                    await self._check_actions(session, code, policy_id, result)
                    await self._check_bans(session, code, policy_id, result)
                    await self._check_standing(code, policy_id, result)
                    await self._check_terminations(code, policy_id, result)
            rebuilt = Registry.from_patch(await load_snapshot(session))
        live = self.store.registry
        for inst in INSTITUTIONS:
            for code in CODES:
                for d in SAMPLE_DAYS:
                    assert live.context(inst).judge_code(code, d) == rebuilt.context(
                        inst
                    ).judge_code(code, d), (code, inst, d)

    async def _has_records(self, session: AsyncSession, code: str, policy_id: str) -> bool:
        if await agreement_spans(session, code, policy_id):
            return True
        found = await session.scalar(
            select(Violation.id).where(
                Violation.physician_code == code, Violation.policy_id == policy_id
            )
        )
        return found is not None

    async def _replay(self, session: AsyncSession, code: str, policy_id: str) -> Replay:
        """From scratch: plain queries, then the pure engine."""
        policy = get_policy(policy_id)
        spans = await agreement_spans(session, code, policy_id)
        rows = (
            await session.scalars(
                select(Violation).where(
                    Violation.physician_code == code,
                    Violation.policy_id == policy_id,
                    Violation.reversed_at.is_(None),
                )
            )
        ).all()
        ledger = []
        for v in rows:
            term = (
                agreement_for(spans, v.decided_on)
                if policy.scoring.period != "calendar_year"
                else None
            )
            ledger.append(
                Deduction(
                    v.id,
                    v.item,
                    v.points,
                    v.decided_on,
                    v.sequence,
                    v.region_code,
                    term[0] if term else None,
                    term[1] if term else None,
                )
            )
        has_regions = bool(
            (await session.scalars(select(Region.code).where(Region.policy == policy_id))).all()
        )
        cancellations = (
            await session.scalars(
                select(CodeCancellation).where(
                    CodeCancellation.physician_code == code,
                    CodeCancellation.voided_at.is_(None),
                )
            )
        ).all()
        manual = [
            ManualEvent(f"cancel/{c.id}", "cancel_code", c.effective_on)
            for c in cancellations
            if has_regions and c.source_action_id is None
        ]
        return replay(policy, ledger, manual_events=manual)

    async def _check_actions(
        self, session: AsyncSession, code: str, policy_id: str, result: Replay
    ) -> None:
        rows = (
            await session.scalars(
                select(Action).where(
                    Action.physician_code == code,
                    Action.policy_id == policy_id,
                    Action.status != "voided",
                )
            )
        ).all()
        record = {
            (a.period_key, a.rule_id): (a.type, a.effective_on, a.status == "applied") for a in rows
        }
        expected = {
            f.key: (f.action, f.effective_on, f.status == "applied") for f in result.firings
        }
        assert record == expected

    async def _check_bans(
        self, session: AsyncSession, code: str, policy_id: str, result: Replay
    ) -> None:
        rows = (
            await session.scalars(
                select(Ban).where(
                    Ban.physician_code == code, Ban.policy_id == policy_id, Ban.voided_at.is_(None)
                )
            )
        ).all()
        record = {(b.rule_id, b.starts_on, b.ends_on, b.region_code) for b in rows}
        dates = await agreement_dates(session, code, policy_id)
        regions = {f"{f.period_key}/{f.rule_id}": f.region for f in result.firings}
        expected = {
            (b.rule_id, b.starts_on, b.ends_on, region)
            for b in result.bans
            for region in (ban_regions(b, regions.get(b.source, ""), dates) or (None,))
        }
        assert record == expected

    async def _check_standing(self, code: str, policy_id: str, result: Replay) -> None:
        r = await self.client.get(
            f"/admin/v1/physicians/{code}", params={"as_of": "2026-11-30"}, headers=self.h
        )
        assert r.status_code == 200, r.text
        shown = {
            p["period"]: (p["deducted"], p["remaining"])
            for p in r.json()["points"]
            if p["policy"] == policy_id and p["deducted"]
        }
        expected = {p.key: (p.deducted, p.remaining) for p in result.periods if p.deducted}
        assert shown == expected

    async def _check_terminations(self, code: str, policy_id: str, result: Replay) -> None:
        """No line is paid at an institution of the policy on or after a termination the
        replay fires (unless the physician holds a later agreement there)."""
        live = self.store.registry
        entry = live.physicians.get(code)
        if entry is None:
            return
        for f in result.firings:
            if f.action != "terminate" or f.status != "applied":
                continue
            for inst, region in INSTITUTIONS.items():
                if REGIONS[region] != policy_id:
                    continue
                for d in (f.effective_on, f.effective_on + timedelta(days=40)):
                    later = any(
                        a.institution == inst and a.starts_on > f.effective_on and a.term_covers(d)
                        for a in entry.agreements
                    )
                    visiting = any(
                        v.institution == inst and v.starts_on <= d <= v.ends_on
                        for v in entry.visits
                    )
                    if later or visiting:
                        continue
                    verdict = live.context(inst).judge_code(code, d)[0]
                    assert not verdict.ok, (code, inst, d, f)


@pytest.mark.pg
def test_admin_writes_keep_the_record_equal_to_a_replay_from_scratch(migrated_pg_url: str) -> None:
    RecordMachine.TestCase.settings = settings(
        max_examples=int(os.environ.get("YBGATE_MODEL_EXAMPLES", "8")),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    RecordMachine.TestCase().runTest()

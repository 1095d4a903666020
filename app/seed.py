"""Demo data for the embedded default (``make run``): idempotent, then fresh tokens."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, Role
from app.core.clock import today
from app.core.db import create_engine, create_sessionmaker
from app.core.settings import Settings
from app.models import (
    Agreement,
    AgreementSuspension,
    CodeCancellation,
    Institution,
    InstitutionSuspension,
    InstitutionTerm,
    Physician,
    Region,
    Visit,
)
from app.seed_week import seed_week, working_days_back
from app.tokens import service as tokens
from app.uow import On, Touch, change, unit_of_work

REGIONS = [("330100", "杭州市", "zhejiang-2014"), ("620100", "兰州市", "lanzhou-2014")]
INSTITUTIONS = [
    ("H33010200001", "浙江大学医学院附属第一医院", "330100"),
    ("H33010200002", "杭州市第一人民医院", "330100"),
    ("H33010200003", "杭州市中医院", "330100"),
    ("H62010000001", "兰州大学第一医院", "620100"),
    ("H62010000002", "兰州市第二人民医院", "620100"),
]
PHYSICIANS = 1000
SEEDER = Principal(token_id="seed", role=Role.SUPERUSER)


def _cert(i: int) -> str:
    return f"3301021980{i:017d}"


async def seed_demo(settings: Settings, *, port: int = 8000) -> None:
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as uow:
            fresh = await uow.session.get(Region, REGIONS[0][0]) is None
            if fresh:
                await _populate(uow.session)
        if fresh:
            week = await seed_week(sessions, today(), _candidates(), _roster(), _settlements())
            print(
                f"seeded {len(REGIONS)} regions, {len(INSTITUTIONS)} institutions, "
                f"{PHYSICIANS} physicians; a working week: {week['stories']} cases, "
                f"{week['settlements']} settlements"
            )
        else:
            print("demo data present; not seeded again")
        async with unit_of_work(sessions) as uow:
            session = uow.session
            # One demo token of each role at a time: the previous run's are revoked.
            await tokens.revoke_labelled(session, "demo", Role.SUPERUSER)
            await tokens.revoke_labelled(session, "demo", Role.HIS)
            if settings.bootstrap_admin_token:
                await tokens.ensure_bootstrap(session, settings.bootstrap_admin_token)
                admin = settings.bootstrap_admin_token
            else:
                admin = (await tokens.issue(session, None, "superuser", label="demo")).token
            his = (
                await tokens.issue(
                    session,
                    None,
                    "his",
                    region="330100",
                    institution=INSTITUTIONS[0][0],
                    label="demo",
                )
            ).token
            sample = await session.scalar(select(Physician.code).order_by(Physician.code))
    finally:
        await engine.dispose()
    base = f"http://127.0.0.1:{port}"
    print(
        f"""
ybgate demo tokens (shown once):
  admin (superuser): {admin}
  HIS ({INSTITUTIONS[0][0]}): {his}

  export ADMIN={admin} HIS={his}

  curl -s -H 'Authorization: Bearer {admin}' {base}/admin/v1/physicians/{sample}
  curl -s -H 'Authorization: Bearer {his}' -H 'Content-Type: application/json' \\
    -d '{_sample_body(sample)}' \\
    {base}/v1/settlements/validate
""",
        flush=True,
    )


async def _populate(session: AsyncSession) -> None:
    codes = [_physician_code(i) for i in range(PHYSICIANS)]
    async with change(
        session,
        SEEDER,
        "seed.demo",
        On("registry", "demo"),
        *(Touch.region(r[0]) for r in REGIONS),
        *(Touch.institution(i[0]) for i in INSTITUTIONS),
        *(Touch.physician(c) for c in codes),
    ) as ch:
        await _places(session)
        await _physicians(session, codes)
        rnd = random.Random(20141)
        for i, code in enumerate(codes):
            await _agreements_of(session, i, code, rnd.random())
        ch.extra.update(physicians=PHYSICIANS, institutions=len(INSTITUTIONS))


def _physician_code(i: int) -> str:
    return "YB" + _cert(i)


def _candidates() -> dict[str, list[str]]:
    """Physicians of the week's cases (from 200 on: the first ones are the docs' samples)."""
    out: dict[str, list[str]] = {"330100": [], "620100": []}
    for i in range(200, 400):
        slot = i % len(INSTITUTIONS)
        if slot in (0, 1):
            out["330100"].append(_physician_code(i))
        elif slot in (3, 4) and i % 7:
            out["620100"].append(_physician_code(i))
    return out


def _roster() -> bytes:
    """一次性集体准入 of five physicians at 兰州市第二人民医院, this week."""
    first = working_days_back(today(), 3)
    last = first.replace(year=first.year + 2) - timedelta(days=1)
    rows = ["certificate_no,name,national_code,institution_code,starts_on,ends_on"]
    for n in range(5):
        rows.append(f"6201021990010{n:05d},新医师{n + 1},,H62010000002,{first},{last}")
    return ("\n".join(rows) + "\n").encode()


def _settlements() -> list[tuple[str, list[str]]]:
    """A week of settlements: mostly the institution's own physicians, some another's,
    some by national code, a few malformed codes."""
    rnd = random.Random(7)
    out = []
    for _ in range(60):
        slot = rnd.randrange(len(INSTITUTIONS))
        codes = []
        for _ in range(rnd.randint(1, 4)):
            roll = rnd.random()
            i = rnd.randrange(PHYSICIANS // 5) * 5 + slot
            if roll < 0.1:
                i = rnd.randrange(PHYSICIANS)  # someone else's physician, often
            elif roll < 0.15:
                codes.append(f"YB{rnd.randrange(10**6)}")  # malformed
                continue
            elif roll < 0.25:
                i = (i // 10) * 10  # one with a national alias, sent by it
                if i % len(INSTITUTIONS) == slot:
                    codes.append(f"D330100{i:06d}")
                    continue
            codes.append(_physician_code(i))
        out.append((INSTITUTIONS[slot][0], codes))
    return out


async def _places(session: AsyncSession) -> None:
    """Regions, institutions with their terms, one institution suspension."""
    for code, name, policy in REGIONS:
        session.add(Region(code=code, name=name, policy=policy))
    await session.flush()
    for code, name, region in INSTITUTIONS:
        session.add(Institution(code=code, name=name, region_code=region))
        await session.flush()
        session.add(
            InstitutionTerm(
                institution_code=code, starts_on=date(2024, 1, 1), ends_on=date(2027, 12, 31)
            )
        )
    session.add(
        InstitutionSuspension(
            institution_code="H33010200003",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 12, 31),
            reason="整改 (demo)",
        )
    )


async def _physicians(session: AsyncSession, codes: list[str]) -> None:
    for i, code in enumerate(codes):
        alias = f"D330100{i:06d}" if i % 10 == 0 else None
        session.add(
            Physician(code=code, certificate_no=_cert(i), name=f"医师{i:04d}", national_code=alias)
        )
    await session.flush()


async def _agreements_of(session: AsyncSession, i: int, code: str, roll: float) -> None:
    """The physician's agreement, and (by ``roll``) a suspension, a termination, a
    cancellation, a second site or a visit."""
    inst_code, _, region = INSTITUTIONS[i % len(INSTITUTIONS)]
    lanzhou = region == "620100"
    # lanzhou-2014 第六条（三）: two-year agreements; one in seven was not renewed in
    # 2026, the others are in their second term. Zhejiang agreements follow the
    # institution's term (zhejiang-2014 二).
    starts, ends = date(2024, 5, 1), None
    if lanzhou:
        renewed = i % 7 != 0
        starts = date(2026, 5, 1) if renewed else date(2024, 5, 1)
        ends = date(2028, 4, 30) if renewed else date(2026, 4, 30)
    ag = Agreement(
        physician_code=code,
        institution_code=inst_code,
        region_code=region,
        starts_on=starts,
        ends_on=ends,
    )
    session.add(ag)
    await session.flush()
    _demo_event(session, ag, i, code, roll)


def _demo_event(session: AsyncSession, ag: Agreement, i: int, code: str, roll: float) -> None:
    """By ``roll``: a suspension, a termination, a cancellation, a second site, a visit
    or nothing."""
    starts, region = ag.starts_on, ag.region_code
    lanzhou = region == "620100"
    if roll < 0.06:
        session.add(
            AgreementSuspension(
                agreement_id=ag.id,
                starts_on=date(2026, 9, 1),
                ends_on=date(2026, 11, 30),
                reason="违规暂停 (demo)",
            )
        )
    elif roll < 0.10:
        ag.terminated_on, ag.termination_kind = max(date(2026, 6, 1), starts), "operator"
        ag.termination_reason = "协议解除 (demo)"
    elif roll < 0.12:
        session.add(
            CodeCancellation(
                physician_code=code, effective_on=date(2026, 3, 1), reason="注销 (demo)"
            )
        )
        ag.terminated_on = max(date(2026, 3, 1), starts)
        ag.termination_kind = "cancellation"
    elif roll < 0.14:
        other = INSTITUTIONS[(i + 1) % len(INSTITUTIONS)]
        if other[2] == region:
            session.add(
                Agreement(
                    physician_code=code,
                    institution_code=other[0],
                    region_code=region,
                    starts_on=date(2025, 1, 1),
                    ends_on=date(2026, 12, 31) if lanzhou else None,
                )
            )
    elif roll < 0.15:
        session.add(
            Visit(
                physician_code=code,
                host_institution_code="H33010200002",
                region_code="330100",
                starts_on=date(2026, 7, 1),
                ends_on=date(2027, 6, 30),
                kind="进修",
            )
        )


async def mint_token(
    settings: Settings, role: str, region: str | None, institution: str | None
) -> str:
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as uow:
            created = await tokens.issue(
                uow.session, None, role, region=region, institution=institution, label="cli"
            )
        return created.token
    finally:
        await engine.dispose()


def _sample_body(code: str | None) -> str:
    line = {"line_id": "1", "physician_code": code, "service_date": "2026-11-20", "amount": "12.50"}
    body = {"settlement_id": "S1", "institution_code": INSTITUTIONS[0][0], "lines": [line]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

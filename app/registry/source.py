"""Build registry facts from the record (read-only queries).

Used by the admin side (the facts of the entities a write touched, stored in the outbox)
and at gatekeeper start-up when there is no snapshot to load.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Agreement,
    AgreementSuspension,
    ApiToken,
    CodeCancellation,
    GatewayCredential,
    Institution,
    InstitutionSuspension,
    InstitutionTerm,
    Physician,
    Region,
    RegionPolicy,
    RegistryState,
    Visit,
)
from app.registry.facts import (
    AgreementFact,
    GatewayCredentialFact,
    InstitutionFact,
    Interval,
    Patch,
    PhysicianFact,
    RegionFact,
    RegionVersionFact,
    empty_patch,
)
from app.rules import get_policy

_CHUNK = 5000


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _interval(first: date, last: date | None) -> Interval | None:
    """The wire form of ``[first, last]`` (the record's ``last_day``, already cut short by
    a resumption, lifting or restoration); None when the cut left no day."""
    if last is not None and last < first:
        return None
    return [first.isoformat(), _iso(last)]


def _version(policy_id: str) -> tuple[str, list[str]]:
    policy = get_policy(policy_id)
    return policy.code_pattern, sorted(policy.emergency_override)


def region_fact(region: Region, versions: Sequence[RegionPolicy] = ()) -> RegionFact:
    """The region's policy facts; ``versions`` its dated versions (none until its first
    switch), oldest first: the first one is in force before the others."""
    first = versions[0].policy_id if versions else region.policy
    pattern, override = _version(first)
    fact = RegionFact(
        code=region.code, policy=first, code_pattern=pattern, emergency_override=override
    )
    changes: list[RegionVersionFact] = []
    for v in versions[1:]:
        pattern, override = _version(v.policy_id)
        changes.append(
            RegionVersionFact(
                starts_on=v.effective_from.isoformat(),
                policy=v.policy_id,
                code_pattern=pattern,
                emergency_override=override,
            )
        )
    if changes:
        fact["changes"] = changes
    return fact


async def current_version(session: AsyncSession) -> int:
    v = await session.scalar(select(RegistryState.version).where(RegistryState.id == 1))
    return int(v or 0)


def _chunks(keys: Collection[str]) -> Iterable[list[str]]:
    items = list(keys)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


async def physician_facts(
    session: AsyncSession, codes: Collection[str] | None = None
) -> dict[str, PhysicianFact]:
    """Facts of the given physicians (all when ``codes`` is None)."""
    out: dict[str, PhysicianFact] = {}
    batches: Iterable[list[str] | None] = [None] if codes is None else _chunks(codes)
    for batch in batches:
        stmt = select(Physician.code, Physician.national_code)
        if batch is not None:
            stmt = stmt.where(Physician.code.in_(batch))
        for code, alias in (await session.execute(stmt)).all():
            out[code] = PhysicianFact(
                code=code, national_code=alias, cancellations=[], agreements=[], visits=[]
            )
        if not out:
            continue
        await _fill_agreements(session, out, batch)
        await _fill_visits_and_cancellations(session, out, batch)
    return out


async def _fill_agreements(
    session: AsyncSession, out: dict[str, PhysicianFact], batch: list[str] | None
) -> None:
    stmt = select(Agreement).order_by(Agreement.starts_on, Agreement.id)
    if batch is not None:
        stmt = stmt.where(Agreement.physician_code.in_(batch))
    agreements = list((await session.scalars(stmt)).all())
    susp: dict[str, list[Interval]] = defaultdict(list)
    sstmt = (
        select(AgreementSuspension)
        .where(AgreementSuspension.voided_at.is_(None))
        .order_by(AgreementSuspension.starts_on)
    )
    if batch is not None:
        sstmt = sstmt.join(Agreement, Agreement.id == AgreementSuspension.agreement_id).where(
            Agreement.physician_code.in_(batch)
        )
    for s in (await session.scalars(sstmt)).all():
        iv = _interval(s.starts_on, s.last_day)
        if iv is not None:
            susp[s.agreement_id].append(iv)
    for a in agreements:
        fact = out.get(a.physician_code)
        if fact is None:
            continue
        fact["agreements"].append(
            AgreementFact(
                institution=a.institution_code,
                starts_on=a.starts_on.isoformat(),
                ends_on=_iso(a.ends_on),
                terminated_on=_iso(a.effective_terminated_on),
                suspensions=susp.get(a.id, []),
            )
        )


async def _fill_visits_and_cancellations(
    session: AsyncSession, out: dict[str, PhysicianFact], batch: list[str] | None
) -> None:
    vstmt = select(Visit).order_by(Visit.starts_on)
    cstmt = (
        select(CodeCancellation)
        .where(CodeCancellation.voided_at.is_(None))
        .order_by(CodeCancellation.effective_on)
    )
    if batch is not None:
        vstmt = vstmt.where(Visit.physician_code.in_(batch))
        cstmt = cstmt.where(CodeCancellation.physician_code.in_(batch))
    for v in (await session.scalars(vstmt)).all():
        if v.physician_code in out:
            out[v.physician_code]["visits"].append(
                {
                    "institution": v.host_institution_code,
                    "starts_on": v.starts_on.isoformat(),
                    "ends_on": v.ends_on.isoformat(),
                }
            )
    for c in (await session.scalars(cstmt)).all():
        iv = _interval(c.effective_on, c.last_day)
        if iv is not None and c.physician_code in out:
            out[c.physician_code]["cancellations"].append(iv)


async def institution_facts(
    session: AsyncSession, codes: Collection[str] | None = None
) -> dict[str, InstitutionFact]:
    stmt = select(Institution.code, Institution.region_code)
    tstmt = select(InstitutionTerm).order_by(InstitutionTerm.starts_on)
    sstmt = (
        select(InstitutionSuspension)
        .where(InstitutionSuspension.voided_at.is_(None))
        .order_by(InstitutionSuspension.starts_on)
    )
    if codes is not None:
        stmt = stmt.where(Institution.code.in_(list(codes)))
        tstmt = tstmt.where(InstitutionTerm.institution_code.in_(list(codes)))
        sstmt = sstmt.where(InstitutionSuspension.institution_code.in_(list(codes)))
    out: dict[str, InstitutionFact] = {}
    for code, region in (await session.execute(stmt)).all():
        out[code] = InstitutionFact(code=code, region=region, terms=[], suspensions=[])
    for t in (await session.scalars(tstmt)).all():
        out[t.institution_code]["terms"].append(
            {
                "starts_on": t.starts_on.isoformat(),
                "ends_on": _iso(t.ends_on),
                "terminated_on": _iso(t.terminated_on),
            }
        )
    for s in (await session.scalars(sstmt)).all():
        iv = _interval(s.starts_on, s.last_day)
        if iv is not None:
            out[s.institution_code]["suspensions"].append(iv)
    return out


async def region_facts(
    session: AsyncSession, codes: Collection[str] | None = None
) -> dict[str, RegionFact]:
    stmt = select(Region)
    vstmt = select(RegionPolicy).order_by(RegionPolicy.region_code, RegionPolicy.effective_from)
    if codes is not None:
        stmt = stmt.where(Region.code.in_(list(codes)))
        vstmt = vstmt.where(RegionPolicy.region_code.in_(list(codes)))
    versions: dict[str, list[RegionPolicy]] = {}
    for v in (await session.scalars(vstmt)).all():
        versions.setdefault(v.region_code, []).append(v)
    return {
        r.code: region_fact(r, versions.get(r.code, ()))
        for r in (await session.scalars(stmt)).all()
    }


async def his_token_facts(
    session: AsyncSession, hashes: Collection[str] | None = None
) -> dict[str, str | None]:
    """Token hash -> its institution (HIS tokens), ``""`` (a valid token that is not an HIS
    token: the hot path answers 403, not 401), or None (revoked)."""
    stmt = select(ApiToken.token_hash, ApiToken.institution_code, ApiToken.revoked_at)
    if hashes is not None:
        stmt = stmt.where(ApiToken.token_hash.in_(list(hashes)))
    return {
        h: (inst or "" if revoked is None else None)
        for h, inst, revoked in (await session.execute(stmt)).all()
    }


def gateway_fact(row: GatewayCredential) -> GatewayCredentialFact | None:
    """A credential's facts (None: revoked). The secret goes as it is stored: sealed."""
    if row.revoked_at is not None:
        return None
    until = row.valid_until.timestamp() if row.valid_until is not None else None
    return GatewayCredentialFact(
        institution=row.institution_code,
        scheme=row.scheme,
        secret=row.secret_sealed,
        valid_until=until,
    )


async def gateway_facts(
    session: AsyncSession, paasids: Collection[str] | None = None
) -> dict[str, GatewayCredentialFact | None]:
    """paasid -> its credential (None: revoked); without ``paasids``, every pair not
    revoked (a rotated pair past its overlap too: the gatekeeper reads ``valid_until``)."""
    stmt = select(GatewayCredential)
    if paasids is not None:
        stmt = stmt.where(GatewayCredential.paasid.in_(list(paasids)))
    else:
        stmt = stmt.where(GatewayCredential.revoked_at.is_(None))
    return {r.paasid: gateway_fact(r) for r in (await session.scalars(stmt)).all()}


async def load_snapshot(session: AsyncSession) -> Patch:
    """Every entity's facts at the current registry version (one consistent read)."""
    patch = empty_patch(await current_version(session))
    patch["regions"].update(await region_facts(session))
    patch["institutions"].update(await institution_facts(session))
    patch["physicians"].update(await physician_facts(session))
    patch["his_tokens"].update(await his_token_facts(session))
    patch["gateway_credentials"] = {
        k: f for k, f in (await gateway_facts(session)).items() if f is not None
    }
    return patch


async def load_entities(
    session: AsyncSession,
    version: int,
    *,
    physicians: Collection[str] = (),
    institutions: Collection[str] = (),
    regions: Collection[str] = (),
    his_tokens: Collection[str] = (),
    gateway_credentials: Collection[str] = (),
) -> Patch:
    """The facts of the named entities as a patch (a missing entity becomes ``None``)."""
    patch = empty_patch(version)
    if physicians:
        found_p = await physician_facts(session, physicians)
        patch["physicians"] = {c: found_p.get(c) for c in physicians}
    if institutions:
        found_i = await institution_facts(session, institutions)
        patch["institutions"] = {c: found_i.get(c) for c in institutions}
    if regions:
        found_r = await region_facts(session, regions)
        patch["regions"] = {c: found_r.get(c) for c in regions}
    if his_tokens:
        found_t = await his_token_facts(session, his_tokens)
        patch["his_tokens"] = {h: found_t.get(h) for h in his_tokens}
    if gateway_credentials:
        found_g = await gateway_facts(session, gateway_credentials)
        patch["gateway_credentials"] = {k: found_g.get(k) for k in gateway_credentials}
    return patch

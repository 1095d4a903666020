"""Gateway credentials: issue or register a pair, the previous ones overlapping; revoke.

A call issues (or registers) the institution's new pair; every pair still working gets a
``valid_until`` of now + ``YBGATE_GATEWAY_ROTATION_OVERLAP_S`` (24 h) unless it ends
sooner, and the answer gives the latest as ``previous_valid_until`` (null: there was
none). The secret is sealed with the secrets key before it is written; it is in no
answer but the 201 that generated it, and in no audit entry (the sealed column is
redacted too). Each write touches the pair in the registry: its facts (sealed) reach
every gatekeeper through the outbox.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import Conflict, NotFound, ValidationFailed, field_error
from app.core.secrets import secret_box
from app.core.settings import get_settings
from app.credentials import repository as repo
from app.credentials.schemas import GatewayIssued, GatewayPairOut, GatewayRegister, GatewayRevoked
from app.models import GatewayCredential, Institution
from app.models.base import utcnow
from app.uow import On, Touch, change

HIDDEN = ("secret_sealed",)
_ALPHABET = string.ascii_letters + string.digits


def new_secret() -> str:
    """32 letters and digits (about 190 bits), like the platform's own paasToken."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


async def _new_paasid(session: AsyncSession, institution: str) -> str:
    while True:
        paasid = f"{institution.lower()}-{secrets.token_hex(4)}"
        if await repo.by_paasid(session, paasid) is None:
            return paasid


async def _institution(session: AsyncSession, actor: Principal, code: str) -> Institution:
    inst = await repo.institution_for_update(session, code)
    if inst is None:
        raise NotFound(f"No institution {code}.")
    actor.require_write(inst.region_code)
    return inst


def _taken(paasid: str, why: str) -> Conflict:
    return Conflict(
        f"paasid {paasid} {why}.",
        slug="paasid-taken",
        errors=[{"field": "paasid", "message": why}],
    )


async def issue(
    session: AsyncSession,
    actor: Principal,
    code: str,
    data: GatewayRegister | None = None,
    *,
    now: datetime | None = None,
) -> GatewayIssued:
    """A new pair for institution ``code`` (generated, or ``data`` as the platform issued
    it); the pairs still working overlap until ``previous_valid_until``."""
    now = now or utcnow()
    inst = await _institution(session, actor, code)
    reuse: GatewayCredential | None = None
    if data is not None and (data.paasid is None) != (data.secret is None):
        missing, given = ("secret", "paasid") if data.secret is None else ("paasid", "secret")
        raise ValidationFailed([field_error(missing, f"required with {given}")])
    if data is None or data.paasid is None or data.secret is None:
        scheme = data.scheme if data is not None else "x-tif"
        paasid, secret, origin = await _new_paasid(session, code), new_secret(), "issued"
    else:
        paasid, secret, scheme = data.paasid, data.secret.get_secret_value(), data.scheme
        origin = "registered"
        reuse = await repo.by_paasid(session, paasid)
        if reuse is not None and reuse.institution_code != code:
            raise _taken(paasid, "is another institution's")
        if reuse is not None and reuse.live(now):
            raise _taken(paasid, "is registered already (revoke it first to replace its secret)")
    previous = await _overlap(session, actor, inst, now)
    sealed = secret_box().seal(secret, paasid)
    action = f"gateway_credential.{'register' if origin == 'registered' else 'issue'}"
    on = On("gateway_credential", paasid, inst.region_code)
    async with change(
        session, actor, action, on, Touch.gateway_credential(paasid), subject=reuse, redact=HIDDEN
    ) as ch:
        row = reuse or ch.add(GatewayCredential(paasid=paasid, institution_code=code))
        row.scheme, row.secret_sealed, row.origin = scheme, sealed, origin
        row.created_by, row.created_at = actor.token_id, now
        row.valid_until = row.revoked_at = None
    shown = secret if origin == "issued" else None
    return GatewayIssued(paasid=paasid, secret=shown, scheme=scheme, previous_valid_until=previous)


async def _overlap(
    session: AsyncSession, actor: Principal, inst: Institution, now: datetime
) -> datetime | None:
    """Every pair of ``inst`` still working ends at the latest after the overlap; the
    latest end (None: none was working)."""
    until = now + timedelta(seconds=get_settings().gateway_rotation_overlap_s)
    latest: datetime | None = None
    for row in await repo.unrevoked(session, inst.code):
        if not row.live(now):
            continue
        ends = until if row.valid_until is None else min(row.valid_until, until)
        if ends != row.valid_until:
            on = On("gateway_credential", row.paasid, inst.region_code)
            async with change(
                session,
                actor,
                "gateway_credential.overlap",
                on,
                Touch.gateway_credential(row.paasid),
                subject=row,
                redact=HIDDEN,
            ):
                row.valid_until = ends
        latest = ends if latest is None else max(latest, ends)
    return latest


async def revoke_all(session: AsyncSession, actor: Principal, code: str) -> GatewayRevoked:
    """Every pair of the institution stops working at once."""
    inst = await _institution(session, actor, code)
    now = utcnow()
    gone: list[str] = []
    for row in await repo.unrevoked(session, code):
        on = On("gateway_credential", row.paasid, inst.region_code)
        async with change(
            session,
            actor,
            "gateway_credential.revoke",
            on,
            Touch.gateway_credential(row.paasid),
            subject=row,
            redact=HIDDEN,
        ):
            row.revoked_at = now
        gone.append(row.paasid)
    return GatewayRevoked(institution_code=code, revoked=sorted(gone))


def pair_out(row: GatewayCredential, now: datetime) -> GatewayPairOut:
    return GatewayPairOut(
        paasid=row.paasid,
        scheme=row.scheme,
        origin=row.origin,
        created_at=row.created_at,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        revoked=row.revoked_at is not None,
        active=row.live(now),
    )

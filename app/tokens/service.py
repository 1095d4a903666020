"""Issue and revoke tokens. The secret is returned once; only its SHA-256 is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.auth import Principal, hash_token, new_token
from app.audit import service as audit
from app.core.errors import InvalidTransition, NotFound, ValidationFailed
from app.models import ApiToken, Institution, Region
from app.models.base import utcnow
from app.sync.outbox import touch
from app.tokens.schemas import AdminTokenCreate, TokenCreated


async def issue(
    session: AsyncSession,
    actor: Principal | None,
    role: str,
    *,
    region: str | None = None,
    institution: str | None = None,
    label: str | None = None,
    secret: str | None = None,
) -> TokenCreated:
    token = secret or new_token(role)
    row = ApiToken(
        token_hash=hash_token(token),
        role=role,
        region_code=region,
        institution_code=institution,
        label=label,
        created_by=actor.token_id if actor else None,
    )
    session.add(row)
    await session.flush()
    if actor is not None:
        after = {k: v for k, v in audit.snapshot(row).items() if k != "token_hash"}
        audit.record(session, actor, "token.create", "token", row.id, region=region, after=after)
    touch(session, his_tokens=[row.token_hash])
    return TokenCreated(
        id=row.id, token=token, role=role, region=region, institution_code=institution
    )


async def issue_admin_token(
    session: AsyncSession, actor: Principal, data: AdminTokenCreate
) -> TokenCreated:
    actor.require_superuser()
    if data.region is not None and await session.get(Region, data.region) is None:
        raise ValidationFailed([{"field": "region", "message": f"no region {data.region}"}])
    return await issue(session, actor, data.role, region=data.region, label=data.label)


async def revoke(session: AsyncSession, actor: Principal, token_id: str) -> ApiToken:
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token {token_id}.")
    if row.role == "his":
        region = await _institution_region(session, row.institution_code)
        actor.require_write(region)
    else:
        actor.require_superuser()
    if row.revoked_at is not None:
        raise InvalidTransition("The token is revoked already.", slug="token-revoked")
    before = {k: v for k, v in audit.snapshot(row).items() if k != "token_hash"}
    row.revoked_at = utcnow()
    await session.flush()
    after = {k: v for k, v in audit.snapshot(row).items() if k != "token_hash"}
    audit.record(session, actor, "token.revoke", "token", row.id, before=before, after=after)
    touch(session, his_tokens=[row.token_hash])
    return row


async def _institution_region(session: AsyncSession, code: str | None) -> str:
    inst = await session.get(Institution, code) if code else None
    return inst.region_code if inst else ""


async def ensure_bootstrap(session: AsyncSession, secret: str) -> None:
    """YBGATE_BOOTSTRAP_ADMIN_TOKEN: a superuser token with exactly that value (idempotent);
    a previous bootstrap token (the variable was changed) is revoked."""
    h = hash_token(secret)
    await revoke_labelled(session, "bootstrap", "superuser", keep=h)
    if await session.scalar(select(ApiToken.id).where(ApiToken.token_hash == h)) is None:
        session.add(ApiToken(token_hash=h, role="superuser", label="bootstrap"))
        await session.flush()
        touch(session, his_tokens=[h])


async def revoke_labelled(
    session: AsyncSession, label: str, role: str, *, keep: str | None = None
) -> int:
    """Revoke the live tokens of ``role`` labelled ``label`` (except the hash ``keep``):
    the previous bootstrap token, the previous run's demo tokens. How many."""
    rows = (
        await session.scalars(
            select(ApiToken).where(
                ApiToken.label == label, ApiToken.role == role, ApiToken.revoked_at.is_(None)
            )
        )
    ).all()
    now = utcnow()
    gone = [r for r in rows if r.token_hash != keep]
    system = Principal(token_id=f"system:{label}", role="superuser")
    for row in gone:
        before = {k: v for k, v in audit.snapshot(row).items() if k != "token_hash"}
        row.revoked_at = now
        after = {k: v for k, v in audit.snapshot(row).items() if k != "token_hash"}
        audit.record(session, system, "token.revoke", "token", row.id, before=before, after=after)
    if gone:
        await session.flush()
        touch(session, his_tokens=[r.token_hash for r in gone])
    return len(gone)


def tokens_query() -> Select[Any]:
    return select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)

"""Issue and revoke tokens. The secret is returned once; only its SHA-256 is stored."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, Role
from app.auth.tokens import hash_token, new_token
from app.core.errors import InvalidTransition, NotFound, ValidationFailed
from app.models import ApiToken, Institution, Region
from app.models.base import utcnow
from app.tokens import repository as repo
from app.tokens.schemas import AdminTokenCreate, TokenCreated
from app.uow import On, Touch, change

HIDDEN = ("token_hash",)


async def issue(
    session: AsyncSession,
    actor: Principal | None,
    role: Role | str,
    *,
    region: str | None = None,
    institution: str | None = None,
    label: str | None = None,
    secret: str | None = None,
) -> TokenCreated:
    token = secret or new_token(role)
    async with change(
        session, actor, "token.create", On("token", region=region), redact=HIDDEN
    ) as ch:
        row = ch.add(
            ApiToken(
                token_hash=hash_token(token),
                role=str(role),
                region_code=region,
                institution_code=institution,
                label=label,
                created_by=actor.token_id if actor else None,
            )
        )
        ch.touch(Touch.his_token(row.token_hash))
    return TokenCreated(
        id=row.id, token=token, role=str(role), region=region, institution_code=institution
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
    if row.role == Role.HIS:
        region = await _institution_region(session, row.institution_code)
        actor.require_write(region)
    else:
        actor.require_superuser()
    if row.revoked_at is not None:
        raise InvalidTransition("The token is revoked already.", slug="token-revoked")
    async with change(
        session,
        actor,
        "token.revoke",
        On("token"),
        Touch.his_token(row.token_hash),
        subject=row,
        redact=HIDDEN,
    ):
        row.revoked_at = utcnow()
    return row


async def _institution_region(session: AsyncSession, code: str | None) -> str:
    inst = await session.get(Institution, code) if code else None
    return inst.region_code if inst else ""


async def ensure_bootstrap(session: AsyncSession, secret: str) -> None:
    """YBGATE_BOOTSTRAP_ADMIN_TOKEN: a superuser token with exactly that value (idempotent)."""
    h = hash_token(secret)
    if await repo.id_by_hash(session, h) is None:
        async with change(session, None, "token.bootstrap", On("token")) as ch:
            ch.add(ApiToken(token_hash=h, role=Role.SUPERUSER.value, label="bootstrap"))
            ch.touch(Touch.his_token(h))

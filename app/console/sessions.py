"""Console sign-in: an admin token buys a server-side session.

The browser holds a random session id in an HttpOnly, SameSite=Strict cookie; the table
holds its SHA-256, the token it stands for, a CSRF secret and the expiry. The token
itself is never stored in the browser and never reaches a page script. A session ends on
sign-out, after ``console_idle_minutes`` without a request, ``console_max_hours`` after
sign-in, or as soon as its token is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, Role
from app.auth.tokens import hash_token
from app.console import repository as repo
from app.core.errors import Unauthenticated
from app.core.settings import Settings
from app.models import ConsoleSession
from app.models.base import utcnow
from app.uow import On, change

# Neither the session's hash nor its CSRF secret goes into the audit log.
REDACT = ("id_hash", "csrf")


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    sid_hash: str
    csrf: str
    label: str | None

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def region(self) -> str | None:
        return self.principal.region_code

    @property
    def scope(self) -> str | None:
        """The region whose records the queues list: an operator's own; None for the
        superuser and the auditor (every region)."""
        return self.region if self.role == "operator" else None

    @property
    def writer(self) -> bool:
        return self.role in ("superuser", "operator")

    @property
    def superuser(self) -> bool:
        return self.role == "superuser"

    def can_write(self, region: str | None) -> bool:
        """What the admin services allow (Principal.require_write), to decide what to offer."""
        if self.role == "superuser":
            return True
        return self.role == "operator" and region is not None and region == self.region


def _as_aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=utcnow().tzinfo)


async def sign_in(session: AsyncSession, token: str, settings: Settings) -> tuple[str, str]:
    """A new session for a valid admin token: (session id for the cookie, CSRF secret)."""
    row = await repo.token_by_hash(session, hash_token(token.strip()))
    if row is None or not token.strip():
        raise Unauthenticated(
            "令牌无效或已吊销。",
            errors=[{"field": "token", "message": "令牌无效或已吊销"}],
        )
    principal = Principal(row.id, Role(row.role), row.region_code, row.institution_code)
    if row.role == "his":
        raise Unauthenticated(
            "医院 HIS 令牌不能登录经办控制台。",
            errors=[{"field": "token", "message": "请使用经办人员或审计人员的令牌"}],
        )
    now = utcnow()
    await repo.delete_expired(session, now)
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    on = On("token", row.id, region=row.region_code)
    async with change(session, principal, "console.sign_in", on, redact=REDACT) as ch:
        ch.add(
            ConsoleSession(
                id_hash=hash_sid(sid),
                token_id=row.id,
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(minutes=settings.console_idle_minutes),
            )
        )
    return sid, csrf


async def current(
    session: AsyncSession, sid: str | None, settings: Settings
) -> tuple[ConsoleUser, str | None] | None:
    """The signed-in user of ``sid`` and the pending flash message (taken), or None when the
    session is unknown, expired, or its token revoked. Slides the idle expiry."""
    if not sid:
        return None
    found = await repo.session_with_token(session, hash_sid(sid))
    if found is None:
        return None
    row, token = found
    now = utcnow()
    hard_end = _as_aware(row.created_at) + timedelta(hours=settings.console_max_hours)
    if token.revoked_at is not None or _as_aware(row.expires_at) <= now or hard_end <= now:
        await repo.delete_session(session, row.id_hash)
        return None
    row.last_seen_at = now
    row.expires_at = min(now + timedelta(minutes=settings.console_idle_minutes), hard_end)
    flash, row.flash = row.flash, None
    principal = Principal(token.id, Role(token.role), token.region_code, token.institution_code)
    return ConsoleUser(principal, row.id_hash, row.csrf, token.label), flash


async def peek(session: AsyncSession, sid: str | None) -> ConsoleUser | None:
    """The signed-in user of ``sid`` when the session is live, changing nothing (no idle
    slide, no flash taken): for the error pages, which keep the navigation."""
    found = await repo.session_with_token(session, hash_sid(sid)) if sid else None
    if found is None:
        return None
    row, token = found
    if token.revoked_at is not None or _as_aware(row.expires_at) <= utcnow():
        return None
    principal = Principal(token.id, Role(token.role), token.region_code, token.institution_code)
    return ConsoleUser(principal, row.id_hash, row.csrf, token.label)


async def set_flash(session: AsyncSession, sid_hash: str, message: str) -> None:
    row = await session.get(ConsoleSession, sid_hash)
    if row is not None:
        row.flash = message


async def sign_out(session: AsyncSession, user: ConsoleUser) -> None:
    on = On("token", user.principal.token_id, region=user.region)
    async with change(session, user.principal, "console.sign_out", on):
        await repo.delete_session(session, user.sid_hash)

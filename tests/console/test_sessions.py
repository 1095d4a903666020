"""Console sessions on the real PostgreSQL: stored hashed, ended by expiry or revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.tokens import hash_token
from app.console import sessions as console
from app.core.errors import Unauthenticated
from app.core.settings import Settings
from app.models import ApiToken, ConsoleSession
from app.models.base import utcnow
from app.tokens import service as tokens
from app.uow import unit_of_work

SETTINGS = Settings(console_idle_minutes=30, console_max_hours=8)


async def _token(maker: async_sessionmaker[AsyncSession], role: str) -> str:
    async with unit_of_work(maker, publish=False) as uow:
        created = await tokens.issue(uow.session, None, role, region=None)
    return created.token


async def test_a_session_is_stored_hashed_and_slides(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    secret = await _token(sessions, "superuser")
    async with unit_of_work(sessions, publish=False) as uow:
        sid, csrf = await console.sign_in(uow.session, secret, SETTINGS)
    async with sessions() as s, s.begin():
        assert await s.get(ConsoleSession, sid) is None  # the id itself is not stored
        row = await s.get(ConsoleSession, console.hash_sid(sid))
        assert row is not None and row.csrf == csrf
        found = await console.current(s, sid, SETTINGS)
        assert found is not None and found[0].role == "superuser"


async def test_expired_or_revoked_sessions_end(sessions: async_sessionmaker[AsyncSession]) -> None:
    secret = await _token(sessions, "auditor")
    async with unit_of_work(sessions, publish=False) as uow:
        s = uow.session
        sid, _ = await console.sign_in(s, secret, SETTINGS)
        row = await s.get(ConsoleSession, console.hash_sid(sid))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    async with sessions() as s, s.begin():
        assert await console.current(s, sid, SETTINGS) is None
        assert await s.get(ConsoleSession, console.hash_sid(sid)) is None

    async with unit_of_work(sessions, publish=False) as uow:
        s = uow.session
        sid, _ = await console.sign_in(s, secret, SETTINGS)
        row = await s.get(ConsoleSession, console.hash_sid(sid))
        assert row is not None
        row.created_at = utcnow() - timedelta(hours=9)  # past the absolute limit
    async with sessions() as s, s.begin():
        assert await console.current(s, sid, SETTINGS) is None

    async with unit_of_work(sessions, publish=False) as uow:
        s = uow.session
        sid, _ = await console.sign_in(s, secret, SETTINGS)
        tok = await s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
        assert tok is not None
        tok.revoked_at = utcnow()
    async with sessions() as s, s.begin():
        assert await console.current(s, sid, SETTINGS) is None


async def test_his_and_unknown_tokens_do_not_sign_in(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions, publish=False) as uow:
        created = await tokens.issue(uow.session, None, "his")
    for secret in (created.token, "yba_unknown"):
        async with unit_of_work(sessions, publish=False) as uow:
            try:
                await console.sign_in(uow.session, secret, SETTINGS)
            except Unauthenticated as exc:
                assert exc.extra["errors"][0]["field"] == "token"
            else:
                raise AssertionError("signed in")

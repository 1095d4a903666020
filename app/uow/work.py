"""The unit of work: one transaction, the registry entities it touched, its outbox row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import SQLITE_IMMEDIATE
from app.sync import outbox

TouchKind = Literal["physicians", "institutions", "regions", "his_tokens", "gateway_credentials"]
_KEY = "ybgate.unit_of_work"


@dataclass(frozen=True, slots=True)
class Touch:
    """One registry entity whose facts a write changed (its facts go to the outbox)."""

    kind: TouchKind
    key: str

    @classmethod
    def physician(cls, code: str) -> Touch:
        return cls("physicians", code)

    @classmethod
    def institution(cls, code: str) -> Touch:
        return cls("institutions", code)

    @classmethod
    def region(cls, code: str) -> Touch:
        return cls("regions", code)

    @classmethod
    def his_token(cls, token_hash: str) -> Touch:
        return cls("his_tokens", token_hash)

    @classmethod
    def gateway_credential(cls, paasid: str) -> Touch:
        return cls("gateway_credentials", paasid)


class CatchUp(Protocol):
    """A registry feed the unit of work brings up to date after its commit."""

    async def catch_up(self) -> None: ...


@dataclass(slots=True)
class UnitOfWork:
    session: AsyncSession
    touched: outbox.Touched = field(default_factory=outbox.Touched)
    version: int | None = None

    def touch(self, touches: Iterable[Touch]) -> None:
        for t in touches:
            getattr(self.touched, t.kind).add(t.key)

    @staticmethod
    def of(session: AsyncSession) -> UnitOfWork:
        """The unit of work ``session`` belongs to; a write outside one is a bug."""
        uow = session.info.get(_KEY)
        if not isinstance(uow, UnitOfWork):
            raise RuntimeError("a write outside a unit of work (use app.uow.unit_of_work)")
        return uow


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    feed: CatchUp | None = None,
    *,
    publish: bool = True,
    immediate: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """Begin; yield; write the outbox row for what was touched; commit; then bring the
    in-process feed (if any) up to the new version. On an exception nothing is committed
    and the touches go with the transaction. ``publish=False`` drops the touches (no
    outbox row, no new registry version): for test fixtures only. ``immediate``: on SQLite
    the transaction takes the write lock at once (see ``app.core.db.SQLITE_IMMEDIATE``)."""
    async with sessions() as session:
        uow = UnitOfWork(session)
        session.info[_KEY] = uow
        try:
            async with session.begin():
                if immediate and session.get_bind().dialect.name == "sqlite":
                    await session.connection(execution_options=SQLITE_IMMEDIATE)
                yield uow
                if publish:
                    uow.version = await outbox.record(session, uow.touched)
        finally:
            session.info.pop(_KEY, None)
    if feed is not None and uow.version is not None:
        await feed.catch_up()

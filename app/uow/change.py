"""One way to write: ``async with change(...) as ch:`` around every audited write."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.inspection import inspect

from app.models import AuditEntry
from app.models.base import Base
from app.uow.work import Touch, UnitOfWork

M = TypeVar("M", bound=Base)


class Actor(Protocol):
    """Who writes (``app.auth.principal.Principal``): what the audit entry keeps of it."""

    @property
    def token_id(self) -> str: ...

    @property
    def role(self) -> str: ...


def snapshot(obj: Base, *, redact: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON-safe copy of a model's column values (``redact``: columns left out)."""
    hidden = set(redact)
    return {
        attr.key: _json(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in hidden
    }


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class Change:
    """What the caller of :func:`change` may do inside the block."""

    def __init__(self, session: AsyncSession, subject: Base | None) -> None:
        self.session = session
        self.subject = subject
        self.extra: dict[str, Any] = {}
        self.touches: list[Touch] = []
        self.entry: AuditEntry | None = None

    def add(self, obj: M) -> M:
        """Add a new record; the first one added becomes the subject when there is none."""
        self.session.add(obj)
        if self.subject is None:
            self.subject = obj
        return obj

    def touch(self, *touches: Touch) -> None:
        self.touches.extend(touches)


@dataclass(frozen=True, slots=True)
class On:
    """What an audit entry is about: ``type`` and ``id`` (default: the subject's primary
    key, known after the flush), and the region it belongs to, if any."""

    type: str
    id: str | None = None
    region: str | None = None


@asynccontextmanager
async def change(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    on: On,
    *touches: Touch,
    subject: Base | None = None,
    redact: Iterable[str] = (),
) -> AsyncIterator[Change]:
    """Snapshot ``subject`` before; the caller changes it (or adds one with ``ch.add``);
    flush; snapshot after; record the audit entry ``action`` ``on`` its target (``actor``
    None: a system write, not audited) and register the registry ``touches`` (and any
    ``ch.touch``) on the unit of work."""
    uow = UnitOfWork.of(session)
    hidden = tuple(redact)
    before = snapshot(subject, redact=hidden) if subject is not None else None
    ch = Change(session, subject)
    ch.touches.extend(touches)
    yield ch
    await session.flush()
    after = snapshot(ch.subject, redact=hidden) if ch.subject is not None else None
    if ch.extra:
        after = (after or {}) | ch.extra
    if actor is not None:
        ident = on.id
        identity = inspect(ch.subject).identity if ch.subject is not None else None
        if ident is None and identity is not None:
            ident = str(identity[0])
        ch.entry = AuditEntry(
            actor_token_id=actor.token_id,
            actor_role=str(actor.role),
            action=action,
            target_type=on.type,
            target_id=ident or "",
            region_code=on.region,
            before=before,
            after=after,
        )
        session.add(ch.entry)
    uow.touch(ch.touches)

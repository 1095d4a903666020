"""The transactional outbox.

Writes register which registry entities they changed on the unit of work
(``app.uow``); it calls :func:`record` once, just before commit. ``record`` bumps the single
``registry_state`` row (``UPDATE ... RETURNING``): the row lock is held until commit, so a
second writer waits for the first to commit before it gets the next number. Versions are
therefore gapless and commit-ordered, and the facts read after taking the lock include
every earlier commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RegistryChange, RegistryState
from app.registry.facts import Patch
from app.registry.source import load_entities
from app.registry.store import RegistryStore


@dataclass(slots=True)
class Touched:
    """The registry entities one transaction changed (keys per kind of fact)."""

    physicians: set[str] = field(default_factory=set)
    institutions: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    his_tokens: set[str] = field(default_factory=set)
    gateway_credentials: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.physicians
            or self.institutions
            or self.regions
            or self.his_tokens
            or self.gateway_credentials
        )


async def record(session: AsyncSession, touched: Touched) -> int | None:
    """Write the outbox row for everything touched in this transaction; its version."""
    if not touched:
        return None
    await session.flush()
    version = (
        await session.execute(
            update(RegistryState)
            .where(RegistryState.id == 1)
            .values(version=RegistryState.version + 1)
            .returning(RegistryState.version)
        )
    ).scalar_one()
    patch = await load_entities(
        session,
        int(version),
        physicians=sorted(touched.physicians),
        institutions=sorted(touched.institutions),
        regions=sorted(touched.regions),
        his_tokens=sorted(touched.his_tokens),
        gateway_credentials=sorted(touched.gateway_credentials),
    )
    session.add(RegistryChange(version=int(version), payload=dict(patch)))
    await session.flush()
    return int(version)


async def catch_up_store(session: AsyncSession, store: RegistryStore) -> None:
    """Apply every committed change above the store's version, in order; then the store
    counts as synced. The one catch-up of the outbox-reading feeds."""
    while True:
        patches = await changes_after(session, store.version)
        if not patches:
            break
        for patch in patches:
            store.apply(patch)
    store.mark_synced()


async def changes_after(session: AsyncSession, version: int, limit: int = 1000) -> list[Patch]:
    """Committed changes with a version above ``version``, in order (a gapless run)."""
    rows = (
        await session.scalars(
            select(RegistryChange)
            .where(RegistryChange.version > version)
            .order_by(RegistryChange.version)
            .limit(limit)
        )
    ).all()
    return [_as_patch(r.payload) for r in rows]


def _as_patch(payload: dict[str, Any]) -> Patch:
    return Patch(
        version=int(payload["version"]),
        physicians=payload.get("physicians", {}),
        institutions=payload.get("institutions", {}),
        regions=payload.get("regions", {}),
        his_tokens=payload.get("his_tokens", {}),
        gateway_credentials=payload.get("gateway_credentials", {}),
    )

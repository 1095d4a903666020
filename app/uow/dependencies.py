"""The request's unit of work: the request owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.uow.work import unit_of_work


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed after the handler returns (with the outbox
    row for whatever it touched), rolled back when it raises."""
    state = request.app.state
    async with unit_of_work(state.sessions, getattr(state, "feed", None)) as uow:
        yield uow.session


# scope="function": the commit (and the in-process registry update) happens before the
# response is sent, so a client never sees a success that was not committed.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]

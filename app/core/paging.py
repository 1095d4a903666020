"""Every list endpoint pages: ``?limit=&offset=`` in,
``{items, limit, offset, next_offset}`` out."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
# Paging parameters are bounded: a larger offset is a 422, not a database overflow.
MAX_OFFSET = 10_000_000


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


async def fetch_page(session: AsyncSession, stmt: Select[Any], paging: PageParams) -> list[Any]:
    """Rows of one page, plus one more to tell whether a next page exists."""
    rows = (await session.scalars(stmt.limit(paging.limit + 1).offset(paging.offset))).all()
    return list(rows)


def make_page(items: list[T], paging: PageParams) -> Page[T]:
    more = len(items) > paging.limit
    return Page[T](
        items=items[: paging.limit],
        limit=paging.limit,
        offset=paging.offset,
        next_offset=paging.offset + paging.limit if more else None,
    )

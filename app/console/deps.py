"""Request plumbing of the console: who is signed in, the read session, CSRF, writes."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import sessions
from app.console.sessions import ConsoleUser
from app.core.catalogue import zh_problem
from app.core.errors import DomainError, Forbidden
from app.core.settings import Settings, get_settings
from app.uow import unit_of_work

COOKIE = "ybgate_console"
LOGIN_COOKIE = "ybgate_console_login"
T = TypeVar("T")


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class Console:
    """One console request: the request, the signed-in user, a read session, the flash."""

    request: Request
    user: ConsoleUser
    db: AsyncSession
    settings: Settings
    flash: str | None = None

    async def form(self) -> dict[str, str]:
        """The posted form (strings only), after checking its CSRF token."""
        data = await self.request.form()
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        check_csrf(self.user.csrf, fields.get("csrf"))
        return fields

    async def write(self, fn: Callable[[AsyncSession], Awaitable[T]], flash: str = "") -> T:
        """Run ``fn`` in its own transaction (committed with its outbox row, or rolled back
        entirely when it raises); the flash message is set in that same transaction."""
        return await write(
            self.request, fn, flash_for=self.user.sid_hash if flash else None, flash=flash
        )


def check_csrf(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。", slug="csrf")


async def write(
    request: Request,
    fn: Callable[[AsyncSession], Awaitable[T]],
    *,
    flash_for: str | None = None,
    flash: str = "",
) -> T:
    state = request.app.state
    async with unit_of_work(state.sessions, getattr(state, "feed", None)) as uow:
        result = await fn(uow.session)
        if flash_for:
            await sessions.set_flash(uow.session, flash_for, flash)
    return result


async def get_console(request: Request) -> AsyncIterator[Console]:
    settings = get_settings()
    sid = request.cookies.get(COOKIE)
    async with request.app.state.sessions() as db:
        async with db.begin():
            found = await sessions.current(db, sid, settings)
        if found is None:
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            raise LoginRequired(target if request.method == "GET" else "/console/")
        user, flash = found
        yield Console(request, user, db, settings, flash)


Ctx = Annotated[Console, Depends(get_console)]


def problem_of(exc: DomainError) -> dict[str, Any]:
    """The problem details of a refused write in Chinese (the catalogue's), and the message
    of each field it names."""
    body = zh_problem(exc.to_problem())
    fields: dict[str, str] = {}
    for err in body.get("errors") or []:
        name = str(err.get("field", "")).split(".")[0].split("[")[0]
        fields.setdefault(name or "body", str(err.get("message", "")))
    return {"problem": body, "field_errors": fields}

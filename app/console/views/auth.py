"""Sign-in and sign-out."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from app.console import sessions
from app.console.deps import COOKIE, LOGIN_COOKIE, Ctx, problem_of, write
from app.console.templating import render
from app.core.errors import DomainError
from app.core.settings import get_settings

router = APIRouter(prefix="/console")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def _login_page(request: Request, next_url: str, status: int = 200, **extra: object) -> Response:
    nonce = secrets.token_urlsafe(24)
    resp = render(
        None, "login.html", request=request, status=status, csrf=nonce, next=next_url, **extra
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        path="/console/",
        secure=request.url.scheme == "https",
    )
    return resp


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token", ""))
    next_url = _safe_next(str(form.get("next", "")))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not nonce or not hmac.compare_digest(nonce.encode(), given.encode()):
        return _login_page(
            request,
            next_url,
            403,
            problem={
                "title": "表单已过期",
                "status": 403,
                "detail": "登录表单已过期或来源不明，请重新输入令牌。",
            },
        )
    settings = get_settings()
    try:
        sid, _ = await write(request, lambda s: sessions.sign_in(s, token, settings))
    except DomainError as exc:
        return _login_page(request, next_url, exc.status, **problem_of(exc))
    resp = RedirectResponse(next_url, status_code=303)
    resp.set_cookie(
        COOKIE,
        sid,
        httponly=True,
        samesite="strict",
        path="/console/",
        # No max_age: the cookie dies with the browser; the server ends the session after
        # the idle timeout, the maximum age, or sign-out.
        secure=request.url.scheme == "https",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/console/")
    return resp


@router.post("/logout")
async def logout(ctx: Ctx) -> Response:
    await ctx.form()
    await ctx.write(lambda s: sessions.sign_out(s, ctx.user))
    resp = RedirectResponse("/console/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/console/")
    return resp


def login_redirect(next_url: str) -> Response:
    return RedirectResponse(f"/console/login?next={quote(next_url)}", status_code=303)

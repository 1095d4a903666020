"""``GET /public/v1/institutions/{code}/staff`` (JSON) and ``/public/institutions/{code}``
(the Chinese page): no token; rate-limited per client address; cached per institution."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.core.clock import today
from app.core.settings import get_settings
from app.public.limits import RateWindow, TTLCache
from app.public.schemas import PublicStaff
from app.public.service import public_staff
from app.rules.staff import CATEGORY_NAMES
from app.uow.dependencies import Session

router = APIRouter(tags=["public"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _guards(request: Request) -> tuple[RateWindow, TTLCache[PublicStaff]]:
    state = request.app.state
    if getattr(state, "public_guards", None) is None:
        s = get_settings()
        state.public_guards = (RateWindow(s.public_rate_per_minute), TTLCache(s.public_cache_s))
    guards: tuple[RateWindow, TTLCache[PublicStaff]] = state.public_guards
    return guards


async def _staff(request: Request, code: str, session: Session) -> PublicStaff:
    window, cache = _guards(request)
    window.hit(request.client.host if request.client else "")
    found = cache.get(code)
    if found is None:
        found = await public_staff(session, code, today())
        cache.put(code, found)
    return found


def _cache_headers() -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={int(get_settings().public_cache_s)}"}


@router.get("/public/v1/institutions/{code}/staff", response_model=PublicStaff)
async def staff_json(code: str, request: Request, session: Session) -> Response:
    """The institution's staff today: name, code, category, whether they may bill the
    fund, the dates of a current suspension or termination."""
    staff = await _staff(request, code, session)
    return Response(
        staff.model_dump_json(), media_type="application/json", headers=_cache_headers()
    )


@router.get("/public/institutions/{code}", response_class=HTMLResponse)
async def staff_page(code: str, request: Request, session: Session) -> HTMLResponse:
    staff = await _staff(request, code, session)
    return templates.TemplateResponse(
        request,
        "staff.html",
        {"staff": staff, "names": CATEGORY_NAMES},
        headers=_cache_headers(),
    )

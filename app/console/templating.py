"""Jinja2 templates of the console, with the filters and names every page uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from app.console import dates, labels
from app.console.audit import action_label
from app.console.deps import Console
from app.core.catalogue import field_label

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NAV = (
    ("dashboard", "/console/", "工作台"),
    ("physicians", "/console/physicians", "医师"),
    ("actions", "/console/actions", "待决事项"),
    ("objections", "/console/objections", "异议"),
    ("resumptions", "/console/resumptions", "恢复申请"),
    ("institutions", "/console/institutions", "机构"),
    ("regions", "/console/regions", "统筹区"),
    ("settlements", "/console/settlements", "结算查询"),
    ("imports", "/console/imports", "名册导入"),
    ("audit", "/console/audit", "审计日志"),
    ("tokens", "/console/tokens", "令牌"),
    ("calendar", "/console/calendar", "工作日历"),
)


env = templates.env
env.filters["d"] = dates.day
env.filters["dt"] = dates.timestamp
env.globals["L"] = labels
env.globals["label"] = labels.label
env.globals["NAV"] = NAV
env.globals["action_label"] = action_label
env.globals["field_label"] = field_label


def render(
    ctx: Console | None, template: str, /, *, request: Any = None, status: int = 200, **context: Any
) -> HTMLResponse:
    req = ctx.request if ctx is not None else request
    base: dict[str, Any] = {
        "request": req,
        "user": ctx.user if ctx else None,
        "csrf": ctx.user.csrf if ctx else context.pop("csrf", ""),
        "flash": ctx.flash if ctx else None,
        "problem": None,
        "field_errors": {},
        "values": {},
    }
    base.update(context)
    return templates.TemplateResponse(req, template, base, status_code=status)

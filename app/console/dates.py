"""Dates as every console page shows them, computed in one place.

- A day is ``YYYY-MM-DD``; a timestamp is Beijing time (Asia/Shanghai), ``YYYY-MM-DD HH:MM``.
- A span is inclusive at both ends (as the API's ``ends_on``).
- An action holds from ``Action.starts_on`` to ``ends_on`` (the model's, the API's too).
- A resumption window is the rules engine's :func:`app.rules.resumption_window`, the one
  the service applies when an application is filed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.core.clock import SHANGHAI
from app.rules import Window


def day(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return local(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def local(value: datetime) -> datetime:
    """A stored timestamp in Beijing time (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def timestamp(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local(value).strftime("%Y-%m-%d %H:%M")


def window_text(w: Window) -> str:
    if w.opens_on is None:
        return f"申请截止 {w.closes_on}"
    return f"申请期 {w.opens_on} 至 {w.closes_on}"


def window_state(w: Window | None, today: date) -> str:
    """未开始 / 可申请 / 已过期 (both ends inclusive; the service's ``Window.admits``)."""
    if w is None:
        return ""
    if w.opens_on is not None and today < w.opens_on:
        return "未开始"
    return "可申请" if today <= w.closes_on else "已过期"

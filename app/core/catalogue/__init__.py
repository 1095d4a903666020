"""The problem catalogue: every message a person may read, in Chinese.

One catalogue for the API's problem details (``Accept-Language: zh`` gets them in Chinese,
the machine ``type``, ``code`` and JSON paths unchanged) and for the console, which shows
nothing else. ``chinese(message)`` translates one message; ``zh_problem(body)`` a whole
problem, each field named by its Chinese label.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from app.core.catalogue.fields import FIELDS, KINDS, field_label, term
from app.core.catalogue.messages import MESSAGES, TITLES

__all__ = ["FIELDS", "KINDS", "chinese", "field_label", "title", "zh_problem"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ANDMORE = re.compile(r"^(?P<first>.*) \(and (?P<n>\d+) more\)$")


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    out = []
    # The most specific template first: "before the decision ({})" before "before {}".
    by_literal = sorted(MESSAGES, key=lambda m: len(m[0].replace("{}", "")), reverse=True)
    for english, zh in by_literal:
        parts = [re.escape(p) for p in english.split("{}")]
        pattern = "(.+?)".join(parts)
        out.append((re.compile(f"^{pattern}$", re.DOTALL), zh))
    return tuple(out)


def _value(raw: str) -> str:
    value = raw.strip().strip("'\"")
    return term(value)


def chinese(message: str) -> str | None:
    """The Chinese of ``message``; itself when it is Chinese already; None when unknown."""
    text = message.strip()
    if not text:
        return text
    for pattern, zh in _compiled():
        found = pattern.match(text)
        if found:
            values = [_value(g) for g in found.groups()]
            if zh == "{0}":  # a wrapper ("Value error, …"): translate what it wraps
                return chinese(found.group(1))
            return zh.format(*values)
    return text if _CJK.search(text) else None


def title(slug: str, status: int) -> str:
    if slug in TITLES:
        return TITLES[slug]
    return {404: "找不到该记录", 405: "不支持该请求方式", 403: "无权进行此操作"}.get(
        status, "请求未能完成"
    )


def _detail_from_errors(errors: list[dict[str, str]]) -> str:
    parts = [f"{e['label']}：{e['message']}" for e in errors[:3]]
    more = f"（另有 {len(errors) - 3} 处）" if len(errors) > 3 else ""
    return "；".join(parts) + more


def zh_problem(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a problem with its title, detail and each field message in Chinese; each
    error keeps its ``field`` (the JSON path) and gains ``label``, the field's Chinese name."""
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]
    status = int(body.get("status") or 400)
    out = dict(body)
    out["title"] = title(slug, status)
    errors: list[dict[str, str]] = []
    for err in body.get("errors") or []:
        path = str(err.get("field", ""))
        msg = str(err.get("message", ""))
        errors.append(
            {
                **err,
                "field": path,
                "label": field_label(path),
                "message": chinese(msg) or "填写有误",
            }
        )
    if errors:
        out["errors"] = errors
    detail = str(body.get("detail", ""))
    more = _ANDMORE.match(detail)
    # "field: message" (a message already in Chinese too) reads "标签：message"
    if errors and (more or detail.startswith(errors[0]["field"] + ":")):
        zh: str | None = _detail_from_errors(errors)
    else:
        zh = chinese(detail) if not more else None
    out["detail"] = zh or (_detail_from_errors(errors) if errors else out["title"] + "。")
    return out

"""The problem catalogue: every message the product raises has a Chinese entry.

The sources are read, not run: every error constructed in ``app/`` (its detail), every
field message (``_bad``, ``field_error``, ``{"message": …}``) and every problem slug. An
f-string's values are stood in for by a sample value. A message added without its Chinese
entry in ``app/core/catalogue/messages.py`` fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.catalogue import chinese, title, zh_problem
from app.core.catalogue.messages import TITLES

APP = Path(__file__).resolve().parents[2] / "app"
# The HIS gatekeeper answers machines (its reasons are codes with their own labels).
SKIP = {"gatekeeper", "migrations"}
ERRORS = {
    "DomainError",
    "BadRequest",
    "Unauthenticated",
    "Forbidden",
    "NotFound",
    "Conflict",
    "InvalidTransition",
    "RuleViolation",
    "InternalError",
    "MethodNotAllowed",
    "NotReady",
    "PayloadTooLarge",
    "RequestTimeout",
    "ImportRejected",
    "UnknownPolicy",
    "UnknownItem",
    "PointsRequired",
    "PointsOutOfRange",
    "PointsMismatch",
    "InvalidLedger",
    "InvalidInput",
    "CalendarOutOfRange",
}
FIELD_FUNCTIONS = {"_bad", "field_error"}
SAMPLE = "2026-12-05"
LATIN_WORD = re.compile(r"\b[a-zA-Z]{4,}\b")
# Names that stay as they are: protocols, headers, formats, the gateway's own terms.
ALLOWED_LATIN = {"JSON", "HTTP", "POST", "CONNECT", "WebSocket", "Authorization", "YYYY", "ASCII"}
ALLOWED_LATIN |= {"paasid", "file", "CSV", "TOML", "CSRF"}


def _sample(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else SAMPLE for v in node.values)
    return None


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _messages() -> Iterator[tuple[str, str]]:
    for path in sorted(APP.rglob("*.py")):
        if SKIP & set(path.relative_to(APP).parts):
            continue
        where = str(path.relative_to(APP.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = None
            if isinstance(node, ast.Call) and node.args:
                name = _name(node.func)
                if name in ERRORS:
                    text = _sample(node.args[0])
                elif name in FIELD_FUNCTIONS and len(node.args) >= 2:
                    text = _sample(node.args[1])
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "message":
                        text = _sample(value)
            if text:
                yield f"{where}:{getattr(node, 'lineno', 0)}", text


def _slugs() -> set[str]:
    found: set[str] = set()
    for path in sorted(APP.rglob("*.py")):
        if SKIP & set(path.relative_to(APP).parts):
            continue
        source = path.read_text(encoding="utf-8")
        found.update(re.findall(r'slug(?::\s*ClassVar\[str\])?\s*=\s*"([a-z0-9-]+)"', source))
    return found


def test_the_walk_finds_the_messages() -> None:
    """The walk itself works: it sees a known refusal of the violation service."""
    assert any(t == "must be on or after occurred_on" for _, t in _messages())


@pytest.mark.parametrize(("where", "text"), list(_messages()))
def test_every_message_has_a_chinese_entry(where: str, text: str) -> None:
    zh = chinese(text)
    assert zh is not None, f"{where}: no Chinese entry for {text!r}"
    latin = set(LATIN_WORD.findall(zh)) - ALLOWED_LATIN
    assert not latin, f"{where}: English left in {zh!r}"


def test_every_slug_has_a_chinese_title() -> None:
    missing = sorted(s for s in _slugs() if s not in TITLES)
    assert not missing, f"slugs with no Chinese title: {missing}"


def test_a_problem_in_chinese_names_the_field_by_its_label() -> None:
    """The issue's example: a violation decided before it occurred."""
    body = {
        "type": "https://ybgate.example/problems/validation-error",
        "title": "Request validation failed",
        "status": 422,
        "detail": "decided_on: must be on or after occurred_on",
        "errors": [{"field": "decided_on", "message": "must be on or after occurred_on"}],
    }
    zh = zh_problem(body)
    assert zh["title"] == "填写有误"
    assert zh["detail"] == "决定日期：不得早于违规发生日期"
    assert zh["errors"][0]["field"] == "decided_on"  # the JSON path stays
    assert zh["errors"][0]["label"] == "决定日期"


def test_points_out_of_range_in_chinese() -> None:
    zh = chinese("item 2.1 (第十二条（一）) carries 1-3 points, not 5")
    assert zh == "条款 2.1（第十二条（一））扣 1–3 分，不能扣 5 分"


def test_an_unknown_slug_still_has_a_chinese_title() -> None:
    assert title("http-418", 418) == "请求未能完成"

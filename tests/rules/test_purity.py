"""The engine is pure: no HTTP, no database, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import app.rules

FORBIDDEN_MODULES = ("fastapi", "starlette", "sqlalchemy", "app.core", "app.models", "time")
FORBIDDEN_CALLS = {"today", "now", "utcnow"}


def _sources() -> list[Path]:
    return sorted(Path(app.rules.__file__).parent.glob("*.py"))


def test_rules_import_neither_http_nor_database() -> None:
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN_MODULES), f"{path.name} imports {name}"


def test_rules_never_read_the_clock() -> None:
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in FORBIDDEN_CALLS, (
                    f"{path.name} calls .{node.func.attr}()"
                )

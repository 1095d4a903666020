"""Shared bits of the console's views."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.console.deps import problem_of
from app.core.errors import DomainError
from app.core.problems import rules_problem
from app.rules.errors import RulesError

REFUSED = (DomainError, RulesError)


def refused(exc: Exception) -> tuple[int, dict[str, Any]]:
    """(HTTP status, template context) of a write the domain refused."""
    err = rules_problem(exc) if isinstance(exc, RulesError) else exc
    assert isinstance(err, DomainError)
    return err.status, problem_of(err)


def parse_day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default

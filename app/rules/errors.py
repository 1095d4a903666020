"""Errors of the rules engine.

Every error carries a machine ``slug`` and ``field``: the JSON path of the offending
request field (``"item"``, ``"points"``, ``"ledger[3].anchor"``) or, for a policy file,
the key path inside the file. The admin layer maps them onto its problem+json errors;
this package imports nothing from ``app.core``.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar


class RulesError(Exception):
    """Base of every error raised by ``app.rules``."""

    slug: ClassVar[str] = "rules-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PolicyFileError(RulesError):
    """A policy file that does not parse or does not validate.

    ``file`` is the file name, ``field`` the key path of the first problem
    (``thresholds[2].action``), ``problems`` every problem as ``"file: path: message"``.
    """

    slug: ClassVar[str] = "policy-file-invalid"

    def __init__(self, file: str, problems: list[tuple[str | None, str]]) -> None:
        lines = tuple(
            f"{file}: {path}: {msg}" if path else f"{file}: {msg}" for path, msg in problems
        )
        super().__init__("\n".join(lines), field=problems[0][0] if problems else None)
        self.file = file
        self.problems = lines


class UnknownPolicy(RulesError):
    slug: ClassVar[str] = "unknown-policy"


class UnknownItem(RulesError):
    slug: ClassVar[str] = "unknown-item"


class DegreeNotAllowed(RulesError):
    """A responsibility degree the policy does not know (or that leaves no points)."""

    slug: ClassVar[str] = "degree-not-allowed"


class PointsRequired(RulesError):
    slug: ClassVar[str] = "points-required"


class PointsOutOfRange(RulesError):
    slug: ClassVar[str] = "points-out-of-range"


class PointsMismatch(RulesError):
    """Points given for a fixed-cost item that differ from its cost."""

    slug: ClassVar[str] = "points-mismatch"


class InvalidLedger(RulesError):
    """A ledger entry the engine cannot place (missing anchor, duplicate id, ...)."""

    slug: ClassVar[str] = "invalid-ledger"


class InvalidInput(RulesError):
    """An argument outside its domain (a negative count, ...)."""

    slug: ClassVar[str] = "invalid-input"


class CalendarOutOfRange(RulesError):
    """A date outside the years the holiday calendar covers: no guessing."""

    slug: ClassVar[str] = "calendar-out-of-range"

    def __init__(self, day: date, first: date, last: date, *, field: str | None = None) -> None:
        super().__init__(
            f"{day.isoformat()} is outside the working-day calendar, which covers "
            f"{first.isoformat()} to {last.isoformat()} (chinese_calendar); "
            "working days cannot be counted there",
            field=field,
        )
        self.day = day
        self.first = first
        self.last = last

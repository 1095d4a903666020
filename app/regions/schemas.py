from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import Day, Name, RegionCode


class RegionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: RegionCode
    name: Name
    policy: str


class RegionOut(BaseModel):
    """A region; ``policy`` is the version in force today (``/policies`` lists them all,
    a switch dated ahead among them)."""

    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    policy: str
    created_at: datetime


class PolicyOut(BaseModel):
    id: str
    title: str
    source: str


class PolicySwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str
    effective_from: Day


class VersionOut(BaseModel):
    policy: str
    effective_from: Day


class SwitchPreview(BaseModel):
    """What a switch changes: violations from ``effective_from`` on that were decided
    already keep the policy they were decided under (``kept_violations``)."""

    region: str
    policy: str
    effective_from: Day
    replaces: str
    kept_violations: int
    initial_points_before: int
    initial_points_after: int
    items_added: list[str]
    items_removed: list[str]
    thresholds: list[str]
    repair: bool
    degrees: list[str]
    categories_not_covered: list[str]

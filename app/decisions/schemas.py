"""Explained decisions as the admin API returns them (the shapes are the TypedDicts of
``app.registry.history``/``explain``, shared with the gatekeeper's ``/v1/decisions``)."""

from __future__ import annotations

from pydantic import BaseModel

from app.registry.explained import ExplainedDecision


class DecisionPage(BaseModel):
    items: list[ExplainedDecision]
    limit: int
    offset: int
    next_offset: int | None

"""The shapes of an explained decision (``GET /v1/decisions/{id}``, ``GET
/admin/v1/decisions``): each line with its basis on the record and what withdrew it."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from app.registry.explain import LineBasis


class Withdrawal(TypedDict):
    """The message that withdrew a line (2205/2302 of the national format)."""

    msgid: str
    infno: str
    withdrawn_at: str


class ExplainedLine(TypedDict):
    line_id: str
    physician_code: str | None
    service_date: str | None
    emergency: bool | None
    decision: str
    reason: str | None
    overridden: str | None
    field: NotRequired[str]  # a rejected line: the field whose code failed (its basis's)
    basis: LineBasis | None  # None: logged before inputs were kept
    changed_since: int | None  # first later version that changed this physician's record
    withdrawn: Withdrawal | None  # the first message that withdrew the line, if any


class ExplainedDecision(TypedDict):
    decision_id: str
    settlement_id: str
    institution_code: str
    decided_at: str
    registry_version: int
    current_version: int
    outcome: str
    accepted_amount: str
    rejected_amount: str
    institution_changed_since: int | None
    upstream_infcode: int | None  # 前置 mode: the platform's infcode (None: not forwarded)
    upstream_error: str | None  # 前置 mode: "timeout" or "refused" when it did not answer
    lines: list[ExplainedLine]

"""What the gatekeeper's lifespan sets up from settings."""

from __future__ import annotations

from app.gatekeeper.decision_log import DecisionLog
from app.gatekeeper.idempotency import IdempotencyStore


class Runtime:
    """What the lifespan sets up from settings."""

    def __init__(
        self,
        max_lines: int,
        max_body: int,
        max_age: float,
        dlog: DecisionLog,
        idempotency: IdempotencyStore,
    ):
        self.max_lines = max_lines
        self.max_body = max_body
        self.max_age = max_age
        self.log = dlog
        self.idempotency = idempotency  # msgid records of POST /v1/hsa

"""What the gatekeeper's lifespan sets up from settings."""

from __future__ import annotations

from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.idempotency import IdempotencyStore
from app.gatekeeper.decisions.journal import Journal
from app.gatekeeper.edge.gateway import Gateway


class Runtime:
    """What the lifespan sets up from settings."""

    def __init__(
        self,
        max_lines: int,
        max_body: int,
        max_age: float,
        dlog: DecisionLog,
        idempotency: IdempotencyStore,
        journal: Journal,
        body_timeout: float = 30.0,
        gateway: Gateway | None = None,
    ):
        self.max_lines = max_lines
        self.max_body = max_body
        self.max_age = max_age
        self.log = dlog
        self.idempotency = idempotency  # msgid records of POST /v1/hsa
        self.journal = journal
        self.body_timeout = body_timeout
        self.gateway = gateway  # gateway signatures of /v1/hsa: secrets key, nonce store
        # The database sink queues each decision for its insert; with the spill sink the
        # journal's segments are the spill (journal.py) and nothing is queued.
        self.queue_decisions = dlog.sink == "database"

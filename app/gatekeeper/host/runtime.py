"""What the gatekeeper's lifespan sets up from settings, and what a route sees of the app."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.idempotency import IdempotencyStore
from app.gatekeeper.decisions.journal import Journal
from app.gatekeeper.decisions.recent import LineMemory
from app.gatekeeper.decisions.visits import VisitMemory
from app.gatekeeper.decisions.withdrawals import WithdrawalLog
from app.gatekeeper.edge.gateway import Gateway
from app.gatekeeper.edge.metrics import Metrics
from app.gatekeeper.upstream.relay import Relay
from app.registry.store import RegistryStore


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
        *,
        visits: VisitMemory,
        lines: LineMemory,
        withdrawals: WithdrawalLog,
        hsa_fast: bool = False,
        gateway: Gateway | None = None,
        relay: Relay | None = None,
        decision_archive: Path | None = None,
    ):
        self.max_lines = max_lines
        self.max_body = max_body
        self.max_age = max_age
        self.log = dlog
        self.idempotency = idempotency  # msgid records of POST /v1/hsa
        self.journal = journal
        self.body_timeout = body_timeout
        # POST /v1/hsa: the C fast path serves the usual message (national/fast.py).
        self.hsa_fast = hsa_fast
        self.gateway = gateway  # gateway signatures of /v1/hsa: secrets key, nonce store
        self.visits = visits  # national format: emergency visits (2201/2203/2401)
        self.lines = lines  # national format: recent lines' verdicts (refunds, withdrawals)
        self.withdrawals = withdrawals  # 2205/2302, journaled like decisions
        self.relay = (
            relay  # 前置 mode: the platform messages are forwarded to (national/forward.py)
        )
        # GET /v1/decisions/{id}: the archived days' directory (None: none read).
        self.decision_archive = decision_archive
        # The database sink queues each decision for its insert; with the spill sink the
        # journal's segments are the spill (decisions/journal.py) and nothing is queued.
        self.queue_decisions = dlog.sink == "database"


class Host(Protocol):
    """What a route needs of the gatekeeper app (``app.gatekeeper.app.GatekeeperApp``),
    so the rooms below the assembly take the app without importing it."""

    store: RegistryStore
    metrics: Metrics
    rt: Runtime | None  # None until the lifespan has started
    # Read side (GET /v1/decisions/{id}): sessions on the decision log's database.
    reader: async_sessionmaker[AsyncSession] | None

    def new_id(self) -> tuple[str, int]:
        """A decision id (UUIDv7) and its millisecond timestamp."""
        ...

    def log_exception(self, message: str) -> None: ...

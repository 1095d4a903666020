"""The relay's tuning: ``RelayConfig`` fields, overridable as ``YBGATE_RELAY_<FIELD>``
(e.g. ``YBGATE_RELAY_POLL_S=0.05``). Read by the relay and its snapshot refresh."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from app.core.settings import Settings


@dataclass(frozen=True)
class RelayConfig:
    poll_s: float = 0.02  # outbox poll when idle
    batch: int = 500  # patches per poll / per pipeline
    snapshot_every: int = 1000  # versions between snapshots...
    snapshot_interval_s: float = 30.0  # ...or seconds, when anything changed
    keep_before_snapshot: int = 10_000  # stream entries kept below the snapshot version
    heartbeat_s: float = 0.25  # head key refresh while idle
    head_ttl_ms: int = 5000
    lock_ttl_ms: int = 5000
    use_lock: bool = True
    prefix: str = "ybgate"

    @classmethod
    def from_settings(cls, settings: Settings) -> RelayConfig:
        """The ``relay_*`` settings (``YBGATE_RELAY_<FIELD>``, e.g. YBGATE_RELAY_POLL_S)."""
        values: dict[str, Any] = {f.name: getattr(settings, f"relay_{f.name}") for f in fields(cls)}
        return cls(**values)

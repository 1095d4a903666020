"""Settings come from ``YBGATE_*`` environment variables, read when an app is created."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YBGATE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./ybgate.db"
    redis_url: str | None = None
    bootstrap_admin_token: str | None = None
    # Hot path limits (CONTRACT.md: lines 1-1000 configurable, body at most 1 MiB).
    max_lines: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Registry older than this (seconds since last confirmed sync) makes /readyz 503.
    registry_max_age_s: float = Field(default=300.0, gt=0)
    decision_log_dir: str = "./var/decisions"
    # POST /v1/hsa msgid records without Redis (embedded profile): the journal's directory.
    idempotency_dir: str = "./var/idempotency"
    # "database": decisions go to PostgreSQL (spilling to files while it is down);
    # "spill": files only (the bench), replayed by a later process with the database sink.
    decision_log_sink: Literal["database", "spill"] = "database"
    # A registry snapshot file the gatekeeper loads and polls instead of the database.
    snapshot_file: str | None = None
    # POST /admin/v1/imports/roster: its own body cap (100,000 rows are about 10 MB).
    roster_import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    log_sql: bool = False
    # The relay (YBGATE_RELAY_<FIELD>; see app.sync.relay.RelayConfig).
    relay_poll_s: float = Field(default=0.02, gt=0)  # outbox poll when idle
    relay_batch: int = Field(default=500, ge=1)  # patches per poll / per pipeline
    relay_snapshot_every: int = Field(default=1000, ge=1)  # versions between snapshots...
    relay_snapshot_interval_s: float = Field(default=30.0, gt=0)  # ...or seconds
    relay_keep_before_snapshot: int = Field(default=10_000, ge=0)  # stream kept below it
    relay_heartbeat_s: float = Field(default=0.25, gt=0)  # head key refresh while idle
    relay_head_ttl_ms: int = Field(default=5000, ge=1)
    relay_lock_ttl_ms: int = Field(default=5000, ge=1)
    relay_use_lock: bool = True
    relay_prefix: str = "ybgate"
    # Operator console: a session ends after this long without a request, and at the latest
    # this long after sign-in.
    console_idle_minutes: int = Field(default=60, ge=1)
    console_max_hours: int = Field(default=12, ge=1)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    return Settings()

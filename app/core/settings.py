"""Settings come from ``YBGATE_*`` environment variables, read when an app is created."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_TOKEN_CHARS = 24


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
    # After an outage, the spilled backlog is replayed into the database in chunks of
    # decision_replay_batch rows; while live decisions arrive the replay takes at most
    # decision_replay_share of the wall time (1: no limit), at full speed when idle.
    decision_replay_batch: int = Field(default=1000, ge=1, le=100_000)
    decision_replay_share: float = Field(default=0.25, gt=0, le=1)
    # ... and the share rises as needed for the backlog to be in within this many seconds
    # of the replay's start (at the speed the database takes it; past it: full speed).
    decision_replay_drain_s: float = Field(default=6.0, gt=0)
    # PostgreSQL: days of decisions kept in the table (daily partitions); older days are
    # exported to Parquet under decision_archive_dir and dropped (`ybgate decisions
    # archive`). Partitions are created this many days ahead.
    decision_hot_days: int = Field(default=180, ge=1)
    decision_partitions_ahead: int = Field(default=7, ge=1, le=60)
    decision_archive_dir: str = "./var/decision-archive"
    # A registry snapshot file the gatekeeper loads and polls instead of the database.
    snapshot_file: str | None = None
    # POST /admin/v1/imports/roster: its own body cap (100,000 rows are about 10 MB).
    roster_import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    log_sql: bool = False
    # "json": one JSON object a line with request/decision/msgid ids (app.core.logs).
    log_format: Literal["text", "json"] = "text"
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
    # Admin request bodies: the cap of every route, and larger (or smaller) caps by path
    # prefix (JSON object, e.g. {"/admin/v1/imports/roster": 33554432}).
    admin_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Public status (上墙公布): requests per client address per minute, and how long an
    # institution's answer is served from memory.
    public_rate_per_minute: int = Field(default=60, ge=1)
    public_cache_s: float = Field(default=30.0, ge=0)
    admin_body_caps: dict[str, int] = Field(default_factory=dict)
    # Every server the product runs (docs/limits.md): a request's headers must be
    # complete within header_timeout of its first byte (or of the connection, or of the
    # previous response), its body within body_timeout; an idle keep-alive connection is
    # closed after keepalive_s. Past max_connections a new connection gets a 503 and is
    # closed (the limit is also held below the process's file-descriptor limit).
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_body_timeout_s: float = Field(default=30.0, gt=0)
    http_keepalive_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=4096, ge=1)
    # Request heads, checked as they arrive (before any auth; docs/limits.md): the
    # request-target (414 above), the number of header fields and the bytes of the whole
    # head, request line included (431 above). Either way the connection is closed.
    http_max_url_bytes: int = Field(default=8 * 1024, ge=256)
    http_max_headers: int = Field(default=100, ge=8)
    http_max_head_bytes: int = Field(default=32 * 1024, ge=1024)
    # A response the client does not read (its socket's buffer full) for this long: the
    # connection is closed.
    http_send_timeout_s: float = Field(default=30.0, gt=0)
    # Memory bounds, in bytes, of what requests fill: the verdict memo (a new epoch past
    # it) and the msgid records of POST /v1/hsa without Redis (the oldest go first).
    memo_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    idempotency_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    # The decision journal (crash safety): fsynced at least this often (power loss bound).
    journal_fsync_s: float = Field(default=1.0, gt=0)
    # POST /v1/hsa's C fast path (app.gatekeeper.national.fast): "auto" uses it when the
    # extension was built at install (a C compiler was there), "off" never does; either
    # way the reference path decides every message it does not.
    hsa_fast_path: Literal["auto", "off"] = "auto"
    # National format (docs/his-national.md). Visit memory (2201/2203/2401 -> the med_type
    # of later 2204/2301 lines): kept this long after the visit message, at most this many
    # bytes per process (the oldest visits go first). 400 days: an inpatient stay is
    # settled (中途结算) at the latest at the year's end, so no visit is billed for more
    # than a year; a month more covers lines uploaded late.
    visit_ttl_days: float = Field(default=400.0, gt=0)
    visit_memory_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Recent lines (refunds take their original line's verdict; 2205/2302 withdraw lines
    # by visit): kept this long, at most this many bytes per process.
    line_memory_days: float = Field(default=30.0, gt=0)
    line_memory_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)

    # How many days after today a violation may be dated (occurred or decided): none by
    # default, a case is recorded once it happened and was decided.
    violation_future_days: int = Field(default=0, ge=0, le=36500)

    # Operator console: a session ends after this long without a request, and at the latest
    # this long after sign-in.
    console_idle_minutes: int = Field(default=60, ge=1)
    console_max_hours: int = Field(default=12, ge=1)

    # Secrets at rest (gateway credentials, app/core/secrets.py): base64 of 32 bytes, an
    # AES-256-GCM key. Required in the production profile; the embedded default keeps a
    # generated one in secrets_key_file (mode 0600) when it is unset.
    secrets_key: SecretStr | None = None
    secrets_key_file: str = "./var/secrets.key"
    # A rotated gateway credential keeps working this long after its successor is issued.
    gateway_rotation_overlap_s: float = Field(default=24 * 3600.0, ge=0)
    # Gateway nonces remembered in memory without Redis (embedded profile): at most this
    # many bytes (a signed request is refused with 503 while the store is full).
    gateway_nonce_memory_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)
    # 前置 mode (docs/his-frontend.md): the platform's base URL; unset, no forwarding.
    hsa_upstream: str | None = None
    # The platform's paths served besides /v1/hsa (comma-separated).
    hsa_paths: str = "/fsi/api/rsfComIfsService/callService"
    # From a request's arrival to the platform's complete answer; then infcode -1.
    hsa_upstream_timeout_s: float = Field(default=10.0, gt=0)
    hsa_upstream_connect_timeout_s: float = Field(default=3.0, gt=0)
    hsa_upstream_ca_bundle: str | None = None  # PEM file; unset: the system's CAs
    # Requests to the platform at once (the pool's connections), and waiting for one.
    hsa_upstream_max_connections: int = Field(default=256, ge=1)
    hsa_upstream_max_waiting: int = Field(default=1024, ge=0)
    # Circuit breaker: this many failures in a row open it; a probe after this long.
    hsa_breaker_failures: int = Field(default=5, ge=1)
    hsa_breaker_reset_s: float = Field(default=5.0, gt=0)
    hsa_upstream_answer_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)

    @field_validator("bootstrap_admin_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"YBGATE_BOOTSTRAP_ADMIN_TOKEN must be at least {MIN_TOKEN_CHARS} characters"
            )
        return value

    @field_validator("secrets_key")
    @classmethod
    def _a_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("YBGATE_SECRETS_KEY must be the base64 of 32 bytes")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def production_profile(self) -> bool:
        """PostgreSQL or Redis configured: the profile that must be given its keys."""
        return not self.is_sqlite or bool(self.redis_url)


def get_settings() -> Settings:
    return Settings()

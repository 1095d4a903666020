"""Settings come from ``YBGATE_*`` environment variables, read when an app is created."""

from __future__ import annotations

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
    log_sql: bool = False
    # Operator console: a session ends after this long without a request, and at the latest
    # this long after sign-in.
    console_idle_minutes: int = Field(default=60, ge=1)
    console_max_hours: int = Field(default=12, ge=1)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    return Settings()

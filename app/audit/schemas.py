from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_token_id: str | None
    actor_role: str | None
    action: str
    target_type: str
    target_id: str
    region_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

"""Bearer tokens: random, shown once, stored as SHA-256. Roles and what they may do."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from app.core.errors import Forbidden

TOKEN_PREFIX = {"superuser": "yba", "operator": "ybo", "auditor": "ybr", "his": "ybh"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(role: str) -> str:
    return f"{TOKEN_PREFIX[role]}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    role: str
    region_code: str | None = None
    institution_code: str | None = None

    def require_admin(self) -> None:
        if self.role == "his":
            raise Forbidden("An HIS token may not call the admin API.")

    def require_superuser(self) -> None:
        if self.role != "superuser":
            raise Forbidden("Only a superuser token may do this.")

    def require_write(self, region_code: str) -> None:
        """Write access to a record of ``region_code``."""
        if self.role == "superuser":
            return
        if self.role == "operator" and self.region_code == region_code:
            return
        if self.role == "operator":
            raise Forbidden(
                f"This operator token writes region {self.region_code} only, "
                f"not region {region_code}."
            )
        raise Forbidden(f"A {self.role} token may not write.")

    def require_writer(self) -> None:
        """Write access to a record that belongs to no single region (e.g. a physician)."""
        if self.role not in ("superuser", "operator"):
            raise Forbidden(f"A {self.role} token may not write.")

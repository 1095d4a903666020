"""Roles and the principal a bearer token stands for, with what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import Forbidden


class Role(StrEnum):
    SUPERUSER = "superuser"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    HIS = "his"


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    role: Role
    region_code: str | None = None
    institution_code: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))

    def require_admin(self) -> None:
        if self.role is Role.HIS:
            raise Forbidden("An HIS token may not call the admin API.")

    def require_superuser(self) -> None:
        if self.role is not Role.SUPERUSER:
            raise Forbidden("Only a superuser token may do this.")

    def require_write(self, region_code: str) -> None:
        """Write access to a record of ``region_code``."""
        if self.role is Role.SUPERUSER:
            return
        if self.role is Role.OPERATOR and self.region_code == region_code:
            return
        if self.role is Role.OPERATOR:
            raise Forbidden(
                f"This operator token writes region {self.region_code} only, "
                f"not region {region_code}."
            )
        raise Forbidden(f"A {self.role} token may not write.")

    def require_writer(self) -> None:
        """Write access to a record that belongs to no single region (e.g. a physician)."""
        if self.role not in (Role.SUPERUSER, Role.OPERATOR):
            raise Forbidden(f"A {self.role} token may not write.")


# Writes made by the system itself (demo seed, bootstrap), audited under this principal.
SYSTEM = Principal(token_id="system", role=Role.SUPERUSER)

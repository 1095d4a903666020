"""Bearer tokens: random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from app.auth.principal import Role

TOKEN_PREFIX = {Role.SUPERUSER: "yba", Role.OPERATOR: "ybo", Role.AUDITOR: "ybr", Role.HIS: "ybh"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(role: Role | str) -> str:
    return f"{TOKEN_PREFIX[Role(role)]}_{secrets.token_urlsafe(32)}"

"""``app.admin:app`` — the admin API process.

The app object is made on first access, so that importing ``app.admin.auth`` or
``app.admin.deps`` from a domain package does not build the whole app.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from app.admin.app import create_admin_app

        globals()["app"] = create_admin_app()
        return globals()["app"]
    raise AttributeError(name)

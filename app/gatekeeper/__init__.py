"""The HIS-facing hot path: ``app.gatekeeper:app`` (see ``app.py``)."""

from app.gatekeeper.app import GatekeeperApp, create_gatekeeper_app

__all__ = ["GatekeeperApp", "app", "create_gatekeeper_app"]

app = create_gatekeeper_app()

"""Decision tests run on the embedded app over committed data (``live`` in tests/conftest.py):
the decision log and the gatekeeper's read side use connections of their own."""

from __future__ import annotations

from tests.conftest import LIVE_TOKEN

TOKEN = LIVE_TOKEN
SU = {"Authorization": f"Bearer {TOKEN}"}

"""Gateway credentials as the hot path holds them: paasid -> :class:`GatewayPair`.

The secret stays sealed (``app/core/secrets.py``) in the registry, its snapshots and
Redis; a gatekeeper opens it with its secrets key when it checks a signature.
"""

from __future__ import annotations

import math
import sys
from typing import NamedTuple

from app.registry.facts import GatewayCredentialFact


class GatewayPair(NamedTuple):
    institution: str
    scheme: str  # "x-tif" or "csb"
    sealed: str
    valid_until: float  # Unix seconds; math.inf: until revoked

    def fact(self) -> GatewayCredentialFact:
        until = None if self.valid_until == math.inf else self.valid_until
        return GatewayCredentialFact(
            institution=self.institution, scheme=self.scheme, secret=self.sealed, valid_until=until
        )


def gateway_pair(f: GatewayCredentialFact) -> GatewayPair:
    until = f["valid_until"]
    return GatewayPair(
        sys.intern(f["institution"]),
        f["scheme"],
        f["secret"],
        math.inf if until is None else float(until),
    )

"""Registry facts: the plain-JSON description of everything a judgement needs.

They are the wire format between the record (PostgreSQL, the admin side) and the
gatekeepers: the outbox stores them, the change feed carries them, snapshots are built
from them. Dates are ISO strings ``YYYY-MM-DD``. Every interval is inclusive at both ends
and ``None`` as its last day means open-ended. Voided history (reversed on objection) is
already left out; resumptions are already folded into the last day.

A patch upserts whole entities: a ``None`` value deletes the entity.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

Interval = list[str | None]  # [first_day, last_day | None]


class AgreementFact(TypedDict):
    institution: str
    starts_on: str
    ends_on: str | None  # last day of the term; None: follows the institution's term
    terminated_on: str | None  # first day no longer valid
    suspensions: list[Interval]


class VisitFact(TypedDict):
    institution: str
    starts_on: str
    ends_on: str


class PhysicianFact(TypedDict):
    code: str  # "YB" + certificate number
    national_code: str | None  # "D" + 12 digits alias, or None
    cancellations: list[Interval]  # 注销 intervals of the code
    agreements: list[AgreementFact]
    visits: list[VisitFact]


class InstitutionTermFact(TypedDict):
    starts_on: str
    ends_on: str | None
    terminated_on: str | None  # first day no longer valid


class InstitutionFact(TypedDict):
    code: str
    region: str
    terms: list[InstitutionTermFact]
    suspensions: list[Interval]


class RegionVersionFact(TypedDict):
    """A later version of a region's policy, in force from ``starts_on`` on."""

    starts_on: str
    policy: str
    code_pattern: str
    emergency_override: list[str]


class RegionFact(TypedDict):
    """A region's policy as the hot path reads it: the version in force before any later
    one (for a region never switched: its only version), and the later ones by date."""

    code: str
    policy: str
    code_pattern: str  # regex a well-formed YB code matches, from the region's policy
    emergency_override: list[str]  # reasons an emergency line may escape, from the policy
    changes: NotRequired[list[RegionVersionFact]]  # later versions, oldest first


class GatewayCredentialFact(TypedDict):
    """A platform gateway credential (``app.models.GatewayCredential``), keyed by paasid."""

    institution: str
    scheme: str  # "x-tif" or "csb"
    secret: str  # sealed (app/core/secrets.py, context = the paasid); never the secret
    valid_until: float | None  # Unix seconds the pair stops working; None: until revoked


class Patch(TypedDict):
    version: int
    physicians: dict[str, PhysicianFact | None]
    institutions: dict[str, InstitutionFact | None]
    regions: dict[str, RegionFact | None]
    # SHA-256 hex of a token -> its institution code (HIS tokens), "" (an admin token: valid
    # but not for the HIS API), or None when revoked.
    his_tokens: dict[str, str | None]
    # paasid -> its credential, or None when revoked. Absent in patches that touch none.
    gateway_credentials: NotRequired[dict[str, GatewayCredentialFact | None]]


def empty_patch(version: int) -> Patch:
    return Patch(
        version=version,
        physicians={},
        institutions={},
        regions={},
        his_tokens={},
        gateway_credentials={},
    )

"""Registry facts for the gatekeeper tests, and a plain reference judgement on facts.

The reference reads the contract's table (CONTRACT.md) and the date semantics of
docs/ARCHITECTURE.md directly on the facts, with ISO date strings, in the most obvious
way; it shares no code with app/registry.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from typing import Any

from app.registry.facts import (
    AgreementFact,
    InstitutionFact,
    Patch,
    PhysicianFact,
    RegionFact,
    VisitFact,
)

ALL_REASONS = [
    "CODE_MALFORMED",
    "PHYSICIAN_UNREGISTERED",
    "CODE_CANCELLED",
    "NOT_AT_INSTITUTION",
    "INSTITUTION_SUSPENDED",
    "AGREEMENT_TERMINATED",
    "AGREEMENT_SUSPENDED",
]
YB_PATTERN = r"^YB[0-9]{15,30}X?$"


def yb(n: int, digits: int = 24) -> str:
    return "YB" + str(n).zfill(digits)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agreement(
    inst: str,
    starts: str,
    ends: str | None = None,
    *,
    terminated: str | None = None,
    suspensions: list[list[str | None]] | None = None,
) -> AgreementFact:
    return AgreementFact(
        institution=inst,
        starts_on=starts,
        ends_on=ends,
        terminated_on=terminated,
        suspensions=suspensions or [],
    )


def physician(
    code: str,
    *agreements: AgreementFact,
    national: str | None = None,
    cancellations: list[list[str | None]] | None = None,
    visits: list[VisitFact] | None = None,
) -> PhysicianFact:
    return PhysicianFact(
        code=code,
        national_code=national,
        cancellations=cancellations or [],
        agreements=list(agreements),
        visits=visits or [],
    )


def visit(inst: str, starts: str, ends: str) -> VisitFact:
    return VisitFact(institution=inst, starts_on=starts, ends_on=ends)


def institution(
    code: str,
    region: str,
    terms: list[tuple[str, str | None, str | None]] | None = None,
    suspensions: list[list[str | None]] | None = None,
) -> InstitutionFact:
    spans = terms if terms is not None else [("2020-01-01", None, None)]
    return InstitutionFact(
        code=code,
        region=region,
        terms=[{"starts_on": s, "ends_on": e, "terminated_on": t} for s, e, t in spans],
        suspensions=suspensions or [],
    )


def region(code: str, overrides: list[str], pattern: str = YB_PATTERN) -> RegionFact:
    return RegionFact(
        code=code, policy="zhejiang-2014", code_pattern=pattern, emergency_override=overrides
    )


def patch(
    version: int,
    physicians: list[PhysicianFact],
    institutions: list[InstitutionFact],
    regions: list[RegionFact],
    tokens: dict[str, str],
) -> Patch:
    return Patch(
        version=version,
        physicians={p["code"]: p for p in physicians},
        institutions={i["code"]: i for i in institutions},
        regions={r["code"]: r for r in regions},
        his_tokens={digest(t): inst for t, inst in tokens.items()},
    )


# -- the reference judgement --------------------------------------------------------------
def _covers(first: str | None, last: str | None, d: str) -> bool:
    return first is not None and first <= d and (last is None or d <= last)


def _day_before(iso: str) -> str:
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


def region_on(reg: RegionFact | None, d: str) -> tuple[str, list[str]]:
    """(code pattern, override reasons) of the version of a region's policy in force on
    ``d``: the last change starting on or before it, else the first version."""
    if reg is None:
        return YB_PATTERN, ALL_REASONS
    found = (reg["code_pattern"], reg["emergency_override"])
    for c in reg.get("changes", []):
        if c["starts_on"] <= d:
            found = (c["code_pattern"], c["emergency_override"])
    return found


def reference_reason(facts: Patch, inst_code: str, code: str, d: str) -> str | None:
    inst = facts["institutions"].get(inst_code)
    reg = facts["regions"].get(inst["region"]) if inst else None
    pattern = region_on(reg, d)[0]
    by_alias = {
        p["national_code"]: p for p in facts["physicians"].values() if p and p["national_code"]
    }
    p = facts["physicians"].get(code)
    if p is None and code in by_alias:
        p = by_alias[code]
    elif p is None:
        return "PHYSICIAN_UNREGISTERED" if re.fullmatch(pattern, code) else "CODE_MALFORMED"
    elif not re.fullmatch(pattern, code):
        return "CODE_MALFORMED"
    if any(_covers(c[0], c[1], d) for c in p["cancellations"]):
        return "CODE_CANCELLED"

    def term_covers(a: AgreementFact) -> bool:
        return _covers(a["starts_on"], a["ends_on"], d)

    here = [a for a in p["agreements"] if a["institution"] == inst_code and term_covers(a)]
    visiting = any(
        v["institution"] == inst_code and v["starts_on"] <= d <= v["ends_on"] for v in p["visits"]
    )
    if not here and not visiting:
        return "NOT_AT_INSTITUTION"
    open_term = False
    for t in inst["terms"] if inst else []:
        last = t["ends_on"]
        if t["terminated_on"]:
            cut = _day_before(t["terminated_on"])
            last = cut if last is None else min(last, cut)
        open_term = open_term or _covers(t["starts_on"], last, d)
    suspended = inst is not None and any(_covers(s[0], s[1], d) for s in inst["suspensions"])
    if not open_term or suspended:
        return "INSTITUTION_SUSPENDED"
    relevant = here or [a for a in p["agreements"] if term_covers(a)]
    if not relevant:
        return None
    live = [a for a in relevant if not (a["terminated_on"] and a["terminated_on"] <= d)]
    if not live:
        return "AGREEMENT_TERMINATED"
    if all(any(_covers(s[0], s[1], d) for s in a["suspensions"]) for a in live):
        return "AGREEMENT_SUSPENDED"
    return None


def _reference_one(
    facts: Patch, inst_code: str, code: str, line: dict[str, Any]
) -> tuple[str | None, bool]:
    """(reason, overridden) for one staff code of a line."""
    reason = reference_reason(facts, inst_code, code, line["service_date"])
    if reason is None:
        return None, False
    inst = facts["institutions"].get(inst_code)
    reg = facts["regions"].get(inst["region"]) if inst else None
    allowed = region_on(reg, line["service_date"])[1]
    return reason, bool(line.get("emergency")) and reason in allowed


def reference_line(facts: Patch, inst_code: str, line: dict[str, Any]) -> dict[str, Any]:
    """The contract's line: every staff code on it judged (physician_code, then a
    non-empty performer_code); a rejection names the failing field."""
    fields = ["physician_code"] + (["performer_code"] if line.get("performer_code") else [])
    judged = [(f, *_reference_one(facts, inst_code, line[f], line)) for f in fields]
    for f, reason, overridden in judged:
        if reason is not None and not overridden:
            return {"line_id": line["line_id"], "decision": "reject", "reason": reason, "field": f}
    for _, reason, overridden in judged:
        if overridden:
            return {
                "line_id": line["line_id"],
                "decision": "accept",
                "reason": "EMERGENCY_OVERRIDE",
                "overridden": reason,
            }
    return {"line_id": line["line_id"], "decision": "accept", "reason": None}

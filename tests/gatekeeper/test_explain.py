"""The explanation of a line (app/registry/explain.py) against the plain reference of the
contract's table (world.py), over the random registries of the differential test: the
verdict always agrees, and the fact it names really decides the line on that date."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from app.registry.explain import Fact, explain_line
from app.registry.facts import Patch, PhysicianFact
from tests.gatekeeper.test_differential import INSTITUTIONS, local, rand_code, rand_day, world
from tests.gatekeeper.world import reference_line


def _covers(f: Fact, d: str) -> bool:
    return (
        f["starts_on"] is not None
        and f["starts_on"] <= d
        and (f["ends_on"] is None or d <= f["ends_on"])
    )


def _physician(facts: Patch, code: str) -> PhysicianFact | None:
    p = facts["physicians"].get(code)
    if p is not None:
        return p
    for q in facts["physicians"].values():
        if q is not None and q["national_code"] == code:
            return q
    return None


def _check_facts(rule: str | None, facts: list[Fact], d: str) -> None:
    kinds = {f["kind"] for f in facts}
    if rule == "CODE_MALFORMED":
        assert kinds == {"code_format"} and facts[0]["pattern"]
    elif rule == "PHYSICIAN_UNREGISTERED":
        assert kinds == {"no_physician"}
    elif rule == "CODE_CANCELLED":
        assert kinds == {"code_cancellation"} and all(_covers(f, d) for f in facts)
    elif rule == "NOT_AT_INSTITUTION":
        (f,) = facts
        assert f["kind"] == "no_agreement"
        for s in f["nearby"]:  # what exists there does not cover the date
            assert not (s["starts_on"] <= d and (s["ends_on"] is None or d <= s["ends_on"]))
    elif rule == "INSTITUTION_SUSPENDED":
        (f,) = facts
        if f["kind"] == "institution_suspension":
            assert _covers(f, d)
        elif f["kind"] == "institution_termination":
            assert f["starts_on"] is not None and f["starts_on"] <= d
        else:
            assert f["kind"] == "institution_term"
    elif rule == "AGREEMENT_TERMINATED":
        ends = [f for f in facts if f["kind"] == "agreement_termination"]
        assert ends and all(f["starts_on"] is not None and f["starts_on"] <= d for f in ends)
    elif rule == "AGREEMENT_SUSPENDED":
        susps = [f for f in facts if f["kind"] == "agreement_suspension"]
        assert susps and all(_covers(f, d) for f in susps)
    else:  # accepted: a live agreement or a visit here carries the line
        assert kinds and kinds <= {"agreement", "visit"}
        assert all(_covers(f, d) or f["kind"] == "agreement" for f in facts)


def test_explanations_agree_with_the_reference_and_name_the_deciding_fact() -> None:
    checked = 0
    for seed in range(6):
        facts, codes, days = world(seed, n=150)
        rnd = random.Random(seed)
        for inst in INSTITUTIONS:
            here = local(facts, inst)
            inst_fact = facts["institutions"].get(inst)
            region = facts["regions"].get(inst_fact["region"]) if inst_fact else None
            for j in range(150):
                if here and rnd.random() < 0.7:
                    code, own = rnd.choice(here)
                    day = rand_day(rnd, own)
                else:
                    code, day = rand_code(rnd, facts, codes), rand_day(rnd, days)
                emergency = rnd.random() < 0.3
                line: dict[str, Any] = {
                    "line_id": str(j),
                    "physician_code": code,
                    "service_date": day,
                }
                line["emergency"] = emergency
                want = reference_line(facts, inst, line)
                got = explain_line(
                    code,
                    date.fromisoformat(day),
                    emergency,
                    inst,
                    _physician(facts, code),
                    inst_fact,
                    region,
                )
                assert got["decision"] == want["decision"], (inst, line)
                assert got["reason"] == want["reason"], (inst, line)
                assert got["overridden"] == want.get("overridden"), (inst, line)
                rule = want.get("overridden") or want["reason"]
                if rule == "EMERGENCY_OVERRIDE":
                    rule = want["overridden"]
                assert got["rule"] == rule
                _check_facts(got["rule"], got["facts"], day)
                checked += 1
    assert checked > 5000

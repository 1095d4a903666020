"""The gatekeeper against a plain reference of the contract's table (world.py), over
random registries with every kind of history, random lines and dates at every boundary;
then again after random patches and after a snapshot round trip."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.plain.checks import latest_day
from app.registry.compact import Registry
from app.registry.facts import (
    AgreementFact,
    Patch,
    PhysicianFact,
    RegionVersionFact,
    empty_patch,
)
from app.registry.snapshot import load_snapshot, write_snapshot
from tests.gatekeeper.world import (
    ALL_REASONS,
    YB_PATTERN,
    agreement,
    digest,
    institution,
    physician,
    reference_line,
    region,
    visit,
    yb,
)

INSTITUTIONS = ["H1", "H2", "H3", "H4", "H5", "H6", "H7"]
START = date(2024, 1, 1)


def iso(d: date) -> str:
    return d.isoformat()


LATEST_SERVICE_DATE = latest_day()


def rand_day(rnd: random.Random, days: list[str]) -> str:
    """A service date: never more than a day after today (later ones are a 422)."""
    if rnd.random() < 0.7 and days:
        d = date.fromisoformat(rnd.choice(days)) + timedelta(days=rnd.choice((-1, 0, 0, 1)))
        return iso(min(d, LATEST_SERVICE_DATE))
    return iso(min(START + timedelta(days=rnd.randrange(5 * 365)), LATEST_SERVICE_DATE))


def span(
    rnd: random.Random, days: list[str], open_ok: bool = True, longest: int = 500
) -> list[str | None]:
    a = START + timedelta(days=rnd.randrange(4 * 365))
    b = a + timedelta(days=rnd.randrange(0, longest))
    days += [iso(a), iso(b)]
    return [iso(a), None if open_ok and rnd.random() < 0.3 else iso(b)]


def rand_agreement(rnd: random.Random, days: list[str], inst: str) -> AgreementFact:
    first, last = span(rnd, days, longest=1500)
    assert first is not None
    terminated = None
    if rnd.random() < 0.25:
        t = START + timedelta(days=rnd.randrange(5 * 365))
        terminated = iso(t)
        days.append(terminated)
    suspensions = [span(rnd, days, longest=200) for _ in range(rnd.choice((0, 0, 0, 1, 1, 2)))]
    return agreement(inst, first, last, terminated=terminated, suspensions=suspensions)


def rand_physician(rnd: random.Random, days: list[str], code: str, n: int) -> PhysicianFact:
    agreements = [
        rand_agreement(rnd, days, rnd.choice(INSTITUTIONS))
        for _ in range(rnd.choice((0, 1, 1, 1, 2, 3)))
    ]
    cancellations = [span(rnd, days) for _ in range(rnd.random() < 0.1)]
    visits = []
    for _ in range(rnd.random() < 0.2):
        first, last = span(rnd, days, open_ok=False)
        assert first is not None and last is not None
        visits.append(visit(rnd.choice(INSTITUTIONS), first, last))
    national = f"D330100{n:06d}" if rnd.random() < 0.2 else None
    return physician(
        code, *agreements, national=national, cancellations=cancellations, visits=visits
    )


def world(seed: int, n: int = 400) -> tuple[Patch, list[str], list[str]]:
    rnd = random.Random(seed)
    days: list[str] = []
    codes = [yb(i, rnd.choice((15, 24, 24, 24, 27))) for i in range(n)]
    physicians = [rand_physician(rnd, days, c, i) for i, c in enumerate(codes)]
    # R2's policy changes twice (a region switched to another policy from a date, once
    # in the past and once ahead): each line is judged by the version in force on its date.
    r2 = region("R2", rnd.sample(ALL_REASONS, 3), r"^YB[0-9]{24}$")
    r2["changes"] = [
        RegionVersionFact(
            starts_on=iso(START + timedelta(days=rnd.randrange(3 * 365))),
            policy="nhsa-2024",
            code_pattern=YB_PATTERN,
            emergency_override=ALL_REASONS,
        ),
        RegionVersionFact(
            starts_on=iso(LATEST_SERVICE_DATE),
            policy="hainan-2025",
            code_pattern=r"^YB[0-9]{15}$",
            emergency_override=rnd.sample(ALL_REASONS, 2),
        ),
    ]
    days += [c["starts_on"] for c in r2["changes"]]
    regions = [region("R1", ALL_REASONS), r2, region("R3", [], YB_PATTERN)]
    institutions = []
    for k, code in enumerate(INSTITUTIONS[:-1]):  # H7 exists only in agreements
        terms: list[tuple[str, str | None, str | None]] = [("2020-01-01", None, None)]
        if rnd.random() < 0.5:  # a term that ended or was terminated, and a later one
            first, last = span(rnd, days, open_ok=False, longest=1000)
            assert first is not None and last is not None
            t = iso(date.fromisoformat(first) + timedelta(days=rnd.randrange(1, 900)))
            days.append(t)
            terms = [("2020-01-01", first, None), (last, None, t if rnd.random() < 0.5 else None)]
        suspensions = [span(rnd, days, longest=120) for _ in range(rnd.choice((0, 1, 2)))]
        institutions.append(institution(code, f"R{k % 3 + 1}", terms, suspensions))
    facts: Patch = empty_patch(1)
    facts["physicians"] = {p["code"]: p for p in physicians}
    facts["institutions"] = {i["code"]: i for i in institutions}
    facts["regions"] = {r["code"]: r for r in regions}
    facts["his_tokens"] = {digest(f"tok-{i}"): i for i in INSTITUTIONS}
    return facts, codes, days


def local(facts: Patch, inst: str) -> list[tuple[str, list[str]]]:
    """Codes (and aliases) of physicians with an agreement or a visit at ``inst``, each
    with the days of its own history."""
    out = []
    for p in facts["physicians"].values():
        assert p is not None
        places = [a["institution"] for a in p["agreements"]] + [
            v["institution"] for v in p["visits"]
        ]
        if inst in places:
            own: list[str] = []
            for a in p["agreements"]:
                own += [a["starts_on"], a["ends_on"] or "", a["terminated_on"] or ""]
                own += [d or "" for s in a["suspensions"] for d in s]
            own += [d or "" for c in p["cancellations"] for d in c]
            own += [d for v in p["visits"] for d in (v["starts_on"], v["ends_on"])]
            days = [d for d in own if d]
            out.append((p["code"], days))
            if p["national_code"]:
                out.append((p["national_code"], days))
    return out


def rand_code(rnd: random.Random, facts: Patch, codes: list[str]) -> str:
    roll = rnd.random()
    aliases = [p["national_code"] for p in facts["physicians"].values() if p and p["national_code"]]
    if roll < 0.7:
        return rnd.choice(codes)
    if roll < 0.8 and aliases:
        return rnd.choice(aliases)
    if roll < 0.88:
        return yb(10**6 + rnd.randrange(1000), rnd.choice((15, 24)))
    return rnd.choice(
        ["YB12", "D3301000000", "D330100999999", "", "yb" + "1" * 24, "YB" + "1" * 31]
    )


async def check(
    client: httpx.AsyncClient, facts: Patch, codes: list[str], days: list[str], seed: int
) -> int:
    rnd = random.Random(seed)
    checked = 0
    for inst in INSTITUTIONS:
        here = local(facts, inst)
        for chunk in range(3):
            lines = []
            for j in range(rnd.randrange(1, 150)):
                if here and rnd.random() < 0.6:
                    code, own = rnd.choice(here)
                    day = rand_day(rnd, own if rnd.random() < 0.8 else days)
                else:
                    code, day = rand_code(rnd, facts, codes), rand_day(rnd, days)
                line = {
                    "line_id": f"{chunk}-{j}",
                    "physician_code": code,
                    "service_date": day,
                    "emergency": rnd.random() < 0.3,
                }
                if rnd.random() < 0.25:  # nhsa-2024 相关人员: a second person on the line
                    line["performer_code"] = rand_code(rnd, facts, codes)
                lines.append(line)
            body = {"settlement_id": f"D{seed}", "institution_code": inst, "lines": lines}
            headers = {"Authorization": f"Bearer tok-{inst}"}
            r = await client.post("/v1/settlements/validate", json=body, headers=headers)
            assert r.status_code == 200, r.text
            got = r.json()["lines"]
            want = [reference_line(facts, inst, ln) for ln in lines]
            for g, w, ln in zip(got, want, lines, strict=True):
                assert g == w, (inst, ln)
            checked += len(lines)
    return checked


def rand_patch(rnd: random.Random, facts: Patch, codes: list[str], days: list[str]) -> Patch:
    p = empty_patch(facts["version"] + 1)
    for code in rnd.sample(codes, 40):
        fact = rand_physician(rnd, days, code, codes.index(code))
        p["physicians"][code] = None if rnd.random() < 0.1 else fact
    inst = rnd.choice(INSTITUTIONS[:-1])
    inst_fact = facts["institutions"][inst]
    assert inst_fact is not None
    p["institutions"][inst] = {**inst_fact, "suspensions": [span(rnd, days)]}
    p["regions"]["R3"] = region("R3", rnd.sample(ALL_REASONS, 4))
    return p


def merge(facts: Patch, p: Patch) -> None:
    facts["version"] = p["version"]
    for key in ("physicians", "institutions", "regions", "his_tokens"):
        target: dict[str, Any] = facts[key]
        for k, v in p[key].items():
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_gatekeeper_agrees_with_the_reference(
    client: httpx.AsyncClient, gk: GatekeeperApp, seed: int, tmp_path: Path
) -> None:
    facts, codes, days = world(seed)
    gk.store.replace(facts)
    checked = await check(client, facts, codes, days, seed)

    rnd = random.Random(seed)
    for _ in range(3):
        p = rand_patch(rnd, facts, codes, days)
        gk.store.apply(p)
        merge(facts, p)
        checked += await check(client, facts, codes, days, seed + 100)

    path = tmp_path / "registry.snap"
    write_snapshot(Registry.from_patch(facts), path)
    gk.store.replace_registry(load_snapshot(path))
    checked += await check(client, facts, codes, days, seed + 200)
    assert checked > 1500

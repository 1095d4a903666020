"""Invalidation by what changed (app/registry/memo.py): a patch drops only the memoised
verdicts of the codes and institutions it touches, and what the memo answers after any
sequence of random patches equals a fresh judgement on a registry built from scratch
from the same facts (a differential test over random worlds, patches and dates)."""

from __future__ import annotations

import copy
import random
from datetime import date

import pytest

from app.gatekeeper.plain.checks import latest_day
from app.gatekeeper.plain.decide import judge_lines
from app.gatekeeper.plain.schemas import SettlementLine
from app.registry.compact import Registry
from app.registry.facts import InstitutionFact, Patch, empty_patch
from app.registry.memo import STATS
from app.registry.store import RegistryStore
from tests.gatekeeper.test_differential import (
    INSTITUTIONS,
    merge,
    rand_code,
    rand_day,
    rand_physician,
    span,
    world,
)
from tests.gatekeeper.world import ALL_REASONS, region

Query = tuple[str, str, date]  # institution, code, service date


def queries(rnd: random.Random, facts: Patch, codes: list[str], days: list[str]) -> list[Query]:
    out = []
    for _ in range(1500):
        inst = rnd.choice(INSTITUTIONS)
        out.append((inst, rand_code(rnd, facts, codes), date.fromisoformat(rand_day(rnd, days))))
    return out


def random_patch(rnd: random.Random, facts: Patch, codes: list[str], days: list[str]) -> Patch:
    """Mostly a few physicians (upserts, deletions, national aliases moving between
    physicians); sometimes an institution's standing; rarely a region's policy."""
    p = empty_patch(facts["version"] + 1)
    for code in rnd.sample(codes, rnd.choice((1, 1, 2, 5, 20))):
        fact = rand_physician(rnd, days, code, codes.index(code))
        if rnd.random() < 0.3:  # take over another physician's national alias
            taken = [f["national_code"] for f in facts["physicians"].values() if f]
            fact["national_code"] = rnd.choice([a for a in taken if a] or [None])
        p["physicians"][code] = None if rnd.random() < 0.1 else fact
    roll = rnd.random()
    if roll < 0.25:
        inst = rnd.choice(INSTITUTIONS[:-1])
        standing = facts["institutions"][inst]
        assert standing is not None
        p["institutions"][inst] = InstitutionFact(
            code=standing["code"],
            region=standing["region"],
            terms=standing["terms"],
            suspensions=[span(rnd, days)],
        )
    elif roll < 0.3:
        p["regions"]["R2"] = region("R2", rnd.sample(ALL_REASONS, 4), r"^YB[0-9]{15,24}$")
    return p


def fresh(facts: Patch) -> Registry:
    return Registry.from_patch(copy.deepcopy(facts))


@pytest.mark.parametrize(("seed", "memo_max"), [(11, None), (12, None), (13, None), (14, 700)])
def test_memoised_verdicts_equal_fresh_judgement_after_random_patches(
    seed: int, memo_max: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm the memo on many (institution, code, date) triples, apply a random patch,
    and compare every triple's memoised verdict (and whole multi-date settlements
    through the hot path's fast path) with a registry built afresh from the merged facts.
    With a small memo bound, epochs turn over between and during the rounds too."""
    if memo_max is not None:
        import app.registry.memo as memo

        monkeypatch.setattr(memo.LIMITS, "max_bytes", memo_max * (memo.CODE_COST + 30))
    rnd = random.Random(seed)
    facts, codes, days = world(seed, n=300)
    store = RegistryStore()
    store.replace(copy.deepcopy(facts))
    asked = queries(rnd, facts, codes, days)
    for _ in range(25):
        reg = store.registry
        for inst, code, d in asked:
            reg.context(inst).judge_code(code, d)
        p = random_patch(rnd, facts, codes, days)
        store.apply(copy.deepcopy(p))
        merge(facts, p)
        # The store's registry resolves a taken alias to its new owner; so does a fresh one.
        ref = fresh(store_facts(store, facts))
        reg = store.registry
        for inst, code, d in asked:
            got = reg.context(inst).judge_code(code, d)
            want = ref.context(inst).judge_code(code, d)
            assert got == want, (seed, inst, code, d, got[0].reason, want[0].reason)
        for inst in INSTITUTIONS:
            mine = [q for q in asked if q[0] == inst][:120]
            lines = [
                SettlementLine(line_id=str(i), physician_code=c, service_date=d)
                for i, (_, c, d) in enumerate(sorted(mine, key=lambda q: q[2]))
            ]
            if lines:
                got_parts = judge_lines(reg.context(inst), lines, latest_day())
                assert got_parts == judge_lines(ref.context(inst), lines, latest_day())


def store_facts(store: RegistryStore, facts: Patch) -> Patch:
    """The merged facts with each national alias on the physician the store gives it
    (a later patch taking an alias over leaves the earlier owner's fact stale)."""
    out = copy.deepcopy(facts)
    reg = store.registry
    for code, fact in out["physicians"].items():
        if fact is not None:
            fact["national_code"] = reg.aliases.get(code)
    return out


def test_a_physician_patch_keeps_everyone_elses_verdicts() -> None:
    """After a patch of one physician, re-asking every other memoised question is a
    memo hit; only the patched code is judged again (and its answer is the new one)."""
    rnd = random.Random(5)
    facts, codes, days = world(5, n=300)
    store = RegistryStore()
    store.replace(copy.deepcopy(facts))
    asked = queries(rnd, facts, codes, days)
    reg = store.registry
    for inst, code, d in asked:
        reg.context(inst).judge_code(code, d)
    patched = next(c for c in codes if any(q[1] == c for q in asked))
    fact = rand_physician(rnd, days, patched, codes.index(patched))
    fact["national_code"] = None
    p = empty_patch(facts["version"] + 1)
    p["physicians"][patched] = fact
    old_alias = reg.aliases.get(patched)
    store.apply(p)
    merge(facts, p)
    before = STATS.misses
    for inst, code, d in asked:
        reg.context(inst).judge_code(code, d)
    rejudged = {(i, c, d) for i, c, d in asked if c in (patched, old_alias)}
    assert STATS.misses - before == len(rejudged)
    ref = fresh(store_facts(store, facts))
    for inst, code, d in rejudged:
        assert reg.context(inst).judge_code(code, d) == ref.context(inst).judge_code(code, d)


def test_an_institution_patch_keeps_other_institutions_verdicts() -> None:
    rnd = random.Random(6)
    facts, codes, days = world(6, n=200)
    store = RegistryStore()
    store.replace(copy.deepcopy(facts))
    asked = queries(rnd, facts, codes, days)
    reg = store.registry
    for inst, code, d in asked:
        reg.context(inst).judge_code(code, d)
    p = empty_patch(facts["version"] + 1)
    standing = facts["institutions"]["H2"]
    assert standing is not None
    p["institutions"]["H2"] = InstitutionFact(
        code="H2",
        region=standing["region"],
        terms=standing["terms"],
        suspensions=[["2024-01-01", None]],
    )
    store.apply(p)
    merge(facts, p)
    before = STATS.misses
    for inst, code, d in asked:
        reg.context(inst).judge_code(code, d)
    assert STATS.misses - before == len({(c, d) for i, c, d in asked if i == "H2"})
    ref = fresh(facts)
    for inst, code, d in asked:
        assert reg.context(inst).judge_code(code, d) == ref.context(inst).judge_code(code, d)
    late = [(c, d) for i, c, d in asked if i == "H2" and d >= date(2024, 1, 1)]
    known = [(c, d) for c, d in late if reg.physicians.get(c) is not None]
    assert any(
        reg.context("H2").judge_code(c, d)[0].reason == "INSTITUTION_SUSPENDED" for c, d in known
    )

"""RegistryStore: versions, gaps, atomic patches (also against a writer thread), the
snapshot file, memory sharing of entries."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.gatekeeper import GatekeeperApp
from app.registry.compact import Registry
from app.registry.facts import Patch, empty_patch
from app.registry.snapshot import dump_snapshot, load_snapshot, write_snapshot
from app.registry.store import RegistryGapError, RegistryNotLoadedError, RegistryStore
from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, his, line, settlement, town
from tests.gatekeeper.world import agreement, physician, yb

D = "2026-11-20"


def _patch(version: int, **physicians: Any) -> Patch:
    p = empty_patch(version)
    p["physicians"] = dict(physicians)
    return p


def verdict(store: RegistryStore, inst: str, code: str, day: str = D) -> Any:
    from datetime import date

    with store.lock:
        return store.registry.context(inst).judge_code(code, date.fromisoformat(day))[0].reason


def test_versions_and_gaps() -> None:
    store = RegistryStore()
    with pytest.raises(RegistryNotLoadedError):
        store.apply(_patch(1))
    assert store.age_seconds() == float("inf")
    store.replace(town(5))
    assert store.version == 5
    with pytest.raises(RegistryGapError) as gap:
        store.apply(_patch(7))
    assert (gap.value.current, gap.value.got) == (5, 7)
    with pytest.raises(RegistryGapError):
        store.apply(_patch(5))
    store.apply(_patch(6, **{yb(500): physician(yb(500), agreement("H1", "2024-01-01"))}))
    assert store.version == 6
    assert verdict(store, "H1", yb(500)) is None
    assert store.age_seconds() < 1.0


def test_patch_upserts_and_deletes() -> None:
    store = RegistryStore()
    store.replace(town())
    assert verdict(store, "H1", yb(999)) == "PHYSICIAN_UNREGISTERED"  # memoised...
    store.apply(_patch(2, **{yb(999): physician(yb(999), agreement("H1", "2024-01-01"))}))
    assert verdict(store, "H1", yb(999)) is None  # ...and the memo was dropped
    suspended = agreement("H1", "2024-01-01", suspensions=[["2026-11-01", None]])
    store.apply(_patch(3, **{DR_PLAIN: physician(DR_PLAIN, suspended)}))
    assert verdict(store, "H1", DR_PLAIN) == "AGREEMENT_SUSPENDED"
    store.apply(_patch(4, **{DR_PLAIN: None}))
    assert verdict(store, "H1", DR_PLAIN) == "PHYSICIAN_UNREGISTERED"


def test_alias_moves_with_patches() -> None:
    store = RegistryStore()
    store.replace(town())
    a, b = yb(700), yb(701)
    store.apply(
        _patch(2, **{a: physician(a, agreement("H1", "2024-01-01"), national="D110000000001")})
    )
    assert verdict(store, "H1", "D110000000001") is None
    # The alias moves from a to b (b has no agreement at H1) in one patch.
    store.apply(
        _patch(
            3,
            **{
                b: physician(b, agreement("H2", "2024-01-01"), national="D110000000001"),
                a: physician(a, agreement("H1", "2024-01-01")),
            },
        )
    )
    assert verdict(store, "H1", "D110000000001") == "NOT_AT_INSTITUTION"
    assert store.registry.physician_count() == len(town()["physicians"]) + 2


def test_a_bad_patch_changes_nothing() -> None:
    store = RegistryStore()
    store.replace(town())
    bad = _patch(
        2,
        **{
            yb(800): physician(yb(800), agreement("H1", "2024-01-01")),
            yb(801): physician(yb(801), agreement("H1", "2024-13-01")),  # not a date
        },
    )
    with pytest.raises(ValueError):
        store.apply(bad)
    assert store.version == 1
    assert verdict(store, "H1", yb(800)) == "PHYSICIAN_UNREGISTERED"


def test_entries_are_shared() -> None:
    facts = town()
    for i in range(1000, 3000):
        facts["physicians"][yb(i)] = physician(yb(i), agreement("H1", "2024-01-01"))
    reg = Registry.from_patch(facts)
    entries = {id(reg.physicians[yb(i)]) for i in range(1000, 3000)}
    assert len(entries) == 1
    assert len(reg.interner.entries) <= len(town()["physicians"]) + 1


def test_patched_codes_against_region_patterns() -> None:
    store = RegistryStore()
    store.replace(town())
    long_code = "YB" + "2" * 27  # fails R2's 24-digit pattern
    both = physician(long_code, agreement("H1", "2024-01-01"), agreement("H2", "2024-01-01"))
    store.apply(_patch(2, **{long_code: both}))
    assert verdict(store, "H1", long_code) is None
    assert verdict(store, "H2", long_code) == "CODE_MALFORMED"
    store.apply(_patch(3, **{long_code: None}))
    assert verdict(store, "H2", long_code) == "CODE_MALFORMED"  # unknown and malformed there


def test_snapshot_round_trip(tmp_path: Path) -> None:
    reg = Registry.from_patch(town(9))
    path = tmp_path / "reg.snap"
    write_snapshot(reg, path)
    loaded = load_snapshot(path)
    assert loaded.version == 9
    assert loaded.physician_count() == reg.physician_count()
    assert loaded.tokens == reg.tokens
    assert set(loaded.physicians) == set(reg.physicians)
    assert dump_snapshot(loaded)[:200] != b""
    with pytest.raises(ValueError):
        (tmp_path / "junk").write_bytes(b"not a snapshot")
        load_snapshot(tmp_path / "junk")


async def test_requests_never_see_half_a_patch(
    client: httpx.AsyncClient, gk: GatekeeperApp
) -> None:
    """A writer thread flips two physicians together, version by version; every response
    sees both in the same state, and that state matches its registry_version."""
    store = gk.store
    stop = threading.Event()
    ok = agreement("H1", "2024-01-01")
    off = agreement("H1", "2024-01-01", suspensions=[["2026-01-01", None]])

    def writer() -> None:
        while not stop.is_set():
            v = store.version + 1
            a = off if v % 2 else ok
            store.apply(
                _patch(
                    v,
                    **{DR_PLAIN: physician(DR_PLAIN, a), DR_SUSPENDED: physician(DR_SUSPENDED, a)},
                )
            )

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = set()
        for _ in range(200):
            body = settlement("H1", line("1", DR_PLAIN), line("2", DR_SUSPENDED))
            r = (await client.post("/v1/settlements/validate", json=body, headers=his())).json()
            reasons = {ln["reason"] for ln in r["lines"]}
            assert len(reasons) == 1, r
            expected = "AGREEMENT_SUSPENDED" if r["registry_version"] % 2 else None
            assert reasons == {expected}, r
            seen.add(r["registry_version"])
            await asyncio.sleep(0)
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 1


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    import app.registry.memo as memo

    bound = 50 * (memo.CODE_COST + len(yb(1))) + memo.TABLE_COST
    monkeypatch.setattr(memo.LIMITS, "max_bytes", bound)
    store = RegistryStore()
    store.replace(town())
    ctx = store.registry.context("H1")
    for i in range(120):
        ctx.judge_code(yb(10_000 + i), date(2026, 1, 1))
        assert store.registry.memo.budget[0] <= bound
    assert sum(len(t) for t in ctx.tables.values()) <= 50
    assert ctx.judge_code(DR_PLAIN, date(2026, 1, 1))[0].reason is None


def test_a_code_longer_than_any_registered_code_is_malformed_and_not_memoised() -> None:
    """A code of attacker-chosen length costs no memory: CODE_MALFORMED, no table entry."""
    from datetime import date

    import app.registry.memo as memo

    store = RegistryStore()
    store.replace(town())
    ctx = store.registry.context("H1")
    for n in (memo.MAX_CODE_CHARS + 1, 400_000):
        code = "YB" + "1" * (n - 2)
        assert ctx.judge_code(code, date(2026, 1, 1))[0].reason == "CODE_MALFORMED"
        assert all(code not in t for t in ctx.tables.values())
        assert code not in store.registry.memo.holders
    assert store.registry.memo.budget[0] == 0

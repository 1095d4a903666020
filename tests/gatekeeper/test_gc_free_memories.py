"""The hot path's long-lived memories (gateway nonces, emergency visits, recent lines)
hold hundreds of thousands of entries at national volume. None of them may be walked by
the cyclic garbage collector: a full collection walking them stalls every request on
the event loop for as long as it takes (the national p99 grew with the memory, to
15-27 ms). They hold only strings, numbers and bytes in dicts, which CPython never
tracks, and they still expire and evict as before."""

from __future__ import annotations

import gc
import time

import pytest

from app.core.errors import DomainError
from app.gatekeeper.decisions.visits import VisitMemory
from app.gatekeeper.edge.nonces import Claim, LocalNonces


def test_nonces_are_not_walked_and_still_expire() -> None:
    store = LocalNonces(max_bytes=1 << 26, ttl=600)
    t0 = 1000.0
    for i in range(10_000):
        store.claim_now([Claim("x-tif-nonce", f"p\x00n{i}")], now=t0 + i * 0.01)
    gc.collect()
    assert not any(gc.is_tracked(c) for c in (store.seen, store.order))
    with pytest.raises(DomainError):  # a nonce used within the window
        store.claim_now([Claim("x-tif-nonce", "p\x00n5")], now=t0 + 200)
    store.claim_now([Claim("x-tif-nonce", "p\x00n5")], now=t0 + 601)  # expired: free again
    store.claim_now([], now=t0 + 10_000)  # every nonce past its window
    assert len(store.seen) == 0 and len(store.order) == 0 and store.bytes == 0
    store.claim_now([Claim("a", "k"), Claim("b", "k")], now=t0 + 10_001)  # one key twice
    store.claim_now([], now=t0 + 20_000)
    assert store.bytes == 0 and not store.seen


def test_emergency_visits_are_not_walked_and_still_expire() -> None:
    memory = VisitMemory(ttl_s=3600, max_bytes=1 << 26)
    for i in range(10_000):
        memory.record(f"H{i % 7}", f"M{i}", True)
    gc.collect()
    # the per-institution dicts hold the visits; the dict of them has one entry a hospital
    assert not any(gc.is_tracked(c) for c in (memory.order, *memory.by_inst.values()))
    assert memory.of("H3") is not None and "M3" in (memory.of("H3") or {})
    memory.record("H3", "M3", False)  # no longer an emergency visit
    assert "M3" not in (memory.of("H3") or {})
    memory.purge(time.time() + 3601)
    assert not memory.order and not memory.by_inst and memory.bytes == 0

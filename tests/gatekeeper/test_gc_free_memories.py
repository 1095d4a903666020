"""The hot path's long-lived memories (gateway nonces, emergency visits, recent lines,
前置 mode's kept answers) hold hundreds of thousands of entries at national volume. None
of them may be walked by the cyclic garbage collector: a full collection walking them
stalls every request on the event loop for as long as it takes (the national p99 grew
with the memory, to 15-27 ms). They hold only strings, numbers and bytes in dicts, which
CPython never tracks, find their oldest entry in O(1), and still expire and evict as
before."""

from __future__ import annotations

import gc
import time

import pytest

from app.core.errors import DomainError
from app.gatekeeper.decisions.visits import VisitMemory
from app.gatekeeper.edge.nonces import Claim, LocalNonces
from app.gatekeeper.upstream.answers import LocalAnswers
from app.gatekeeper.upstream.client import Answer


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
    held = (memory.order, memory.numbers, *memory.by_inst.values())
    assert not any(gc.is_tracked(c) for c in held)
    assert memory.of("H3") is not None and "M3" in (memory.of("H3") or {})
    memory.record("H3", "M3", False)  # no longer an emergency visit
    assert "M3" not in (memory.of("H3") or {})
    memory.purge(time.time() + 3601)
    assert not memory.order and not memory.by_inst and memory.bytes == 0


def test_emergency_visits_at_their_byte_bound_keep_the_newest() -> None:
    memory = VisitMemory(ttl_s=3600, max_bytes=100 * 200)
    for i in range(5_000):
        memory.record("H1", f"M{i:05d}", True)
        if i % 3 == 0:
            memory.record("H1", f"M{i // 2:05d}", True)  # a visit recorded again moves last
    held = memory.of("H1") or {}
    assert "M04999" in held and "M00001" not in held
    assert memory.bytes <= 100 * 200 and len(memory.order) <= 2 * len(held) + 10


async def test_kept_platform_answers_are_not_walked_and_keep_the_newest() -> None:
    answers = LocalAnswers(max_bytes=200 * 1024)
    answer = Answer(200, [(b"Content-Type", b"application/json")], b'{"infcode":0}' * 20)
    for i in range(10_000):
        await answers.put("H1", f"m{i}", answer)
    gc.collect()
    assert not any(gc.is_tracked(c) for c in (answers.held, answers.order))
    assert await answers.get("H1", "m9999") == answer
    assert await answers.get("H1", "m0") is None  # the oldest went first
    assert answers.bytes <= 200 * 1024 and len(answers.order) <= 2 * len(answers.held) + 10

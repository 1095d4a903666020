"""The relay's incremental snapshot refresh (app/registry/snapshot.py ``DumpCache``): after
random patches, a dump that re-encodes only the touched shards loads into the same
registry as a dump of everything, and as the registry itself."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from app.registry.compact import Registry
from app.registry.snapshot import DumpCache, dump_snapshot, load_snapshot
from app.registry.store import RegistryStore
from app.sync.probe import fingerprint
from tests.gatekeeper.test_differential import merge, world
from tests.gatekeeper.test_invalidation import random_patch


def loaded(data: bytes, path: Path) -> Registry:
    path.write_bytes(data)
    return load_snapshot(path)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_refresh_encodes_only_touched_shards_and_equals_a_full_dump(
    seed: int, tmp_path: Path
) -> None:
    rnd = random.Random(seed)
    facts, codes, days = world(seed, n=300)
    store = RegistryStore()
    store.replace(copy.deepcopy(facts))
    cache = DumpCache()
    dump_snapshot(store.registry, cache)
    assert cache.encoded == len(store.registry.physicians.shards)
    for _ in range(12):
        p = random_patch(rnd, facts, codes, days)
        store.apply(copy.deepcopy(p))
        merge(facts, p)
        reg = store.registry
        incremental = dump_snapshot(reg, cache)
        touched = {c[-4:] for c in p["physicians"]}
        assert cache.encoded <= len(touched)
        full = dump_snapshot(reg)
        want = fingerprint(reg)
        assert fingerprint(loaded(incremental, tmp_path / "a.snap")) == want
        assert fingerprint(loaded(full, tmp_path / "b.snap")) == want


def test_version_1_snapshots_still_load_and_a_torn_one_is_refused(tmp_path: Path) -> None:
    """A snapshot written before the blobs moved out of the document (version 1) loads
    into the same registry; a version-2 snapshot cut short is an error, not a registry."""
    import msgspec

    from app.registry import snapshot as snap

    facts, _, _ = world(31, n=300)
    reg = Registry.from_patch(copy.deepcopy(facts))
    v2 = dump_snapshot(reg)
    assert v2.startswith(snap.MAGIC2)
    doc = snap._document(memoryview(v2), "v2")
    doc.codes, doc.index = bytes(doc.codes), bytes(doc.index)
    doc.codes_len = doc.index_len = 0
    v1 = snap.MAGIC + msgspec.msgpack.encode(doc)
    assert fingerprint(loaded(v1, tmp_path / "v1.snap")) == fingerprint(reg)
    assert fingerprint(loaded(v2, tmp_path / "v2.snap")) == fingerprint(reg)
    with pytest.raises(ValueError):
        loaded(v2[:-3], tmp_path / "torn.snap")

"""Build the benchmark registry (../shared/bench/synth.py) into a snapshot file.

    python bench/synth_snapshot.py OUT [--empty]

Every synth physician, the 5000 institutions (one open-ended term from 2020, so 2026 is
covered) in one region whose policy lets an emergency escape all seven reasons, and the
HIS token ``bench-token`` for the bench institution. ``--empty`` writes the same registry
without physicians (the RSS baseline).

Built directly in the snapshot format (10,000,000 physicians in well under a minute): a
synth physician's history depends only on its home institution and its mix class, so
the distinct entries are built once each (from ``synth.state`` of a representative,
through the registry's own interner) and each physician is its code plus an entry index.
``--check`` builds a small registry both ways (this one and ``Registry.from_patch`` of
every physician's facts) and compares their fingerprints.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from array import array
from pathlib import Path

import msgspec

SHARED = Path(os.environ.get("SHARED", Path(__file__).resolve().parents[2] / "shared"))
sys.path.insert(0, str(SHARED / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth  # noqa: E402

from app.registry.compact import Registry  # noqa: E402
from app.registry.facts import InstitutionFact, Patch, PhysicianFact, RegionFact  # noqa: E402
from app.registry.judge import DEFAULT_CODE_PATTERN, REASONS  # noqa: E402
from app.registry.physmap import shard_key  # noqa: E402
from app.registry.snapshot import (  # noqa: E402
    MAGIC,
    _document,
    _entry_row,
    dump_snapshot,
    load_snapshot,
)
from app.sync.probe import fingerprint  # noqa: E402

BENCH_TOKEN = "bench-token"
REGION = "330100"


def physician(i: int) -> PhysicianFact:
    s = synth.state(i)
    return PhysicianFact(
        code=s["code"],
        national_code=None,
        cancellations=[[s["cancelled_on"], None]] if s["cancelled_on"] else [],
        agreements=[
            {
                "institution": a["institution"],
                "starts_on": a["starts_on"],
                "ends_on": a["ends_on"],
                "terminated_on": a["terminated_on"],
                "suspensions": [list(a["suspended"])] if a["suspended"] else [],
            }
            for a in s["agreements"]
        ],
        visits=[],
    )


def bench_patch(n: int) -> Patch:
    institutions: dict[str, InstitutionFact | None] = {
        synth.institution(k): InstitutionFact(
            code=synth.institution(k),
            region=REGION,
            terms=[{"starts_on": "2020-01-01", "ends_on": None, "terminated_on": None}],
            suspensions=[],
        )
        for k in range(synth.INSTITUTIONS)
    }
    region = RegionFact(
        code=REGION,
        policy="zhejiang-2014",
        code_pattern=DEFAULT_CODE_PATTERN,
        emergency_override=list(REASONS),
    )
    digest = hashlib.sha256(BENCH_TOKEN.encode()).hexdigest()
    return Patch(
        version=1,
        physicians={synth.code(i): physician(i) for i in range(n)},
        institutions=institutions,
        regions={REGION: region},
        his_tokens={digest: synth.institution(synth.BENCH_INSTITUTION)},
    )


# The mix classes of synth.state by r = (i // INSTITUTIONS) % 100, each with one r.
CLASSES = {"plain": 0, "suspended": 88, "terminated": 96, "cancelled": 98, "multi": 99}


def class_of(r: int) -> str:
    if r < 88:
        return "plain"
    if r < 96:
        return "suspended"
    return {96: "terminated", 97: "terminated", 98: "cancelled"}.get(r, "multi")


def dump_direct(n: int) -> bytes:
    """The snapshot of ``Registry.from_patch(bench_patch(n))``, without the facts."""
    base = Registry.from_patch(bench_patch(0))
    it = base.interner
    slot: dict[int, int] = {}
    rows = []
    per_class: dict[str, array[int]] = {}
    for name, r in CLASSES.items():
        idx = array("I")
        for h in range(synth.INSTITUTIONS):
            entry = it.entry(physician(h + synth.INSTITUTIONS * r))
            k = slot.get(id(entry))
            if k is None:
                k = slot[id(entry)] = len(rows)
                rows.append(_entry_row(entry))
            idx.append(k)
        per_class[name] = idx
    by_i = array("I")
    for b in range(0, n, synth.INSTITUTIONS):
        block = per_class[class_of((b // synth.INSTITUTIONS) % 100)]
        by_i.extend(block[: min(synth.INSTITUTIONS, n - b)])
    # The codes in runs of one shard (their last four characters, physmap.py): synth's
    # certificate number is 10**26 + 7919 i, so i mod 10000 decides the last four digits.
    index, codes, shards = array("I"), [], []
    for r in range(min(n, 10_000)):
        run = list(map(synth.code, range(r, n, 10_000)))
        shards.append((shard_key(run[0]), len(run)))
        codes.extend(run)
        index.extend(by_i[r::10_000])
    snap = _document(memoryview(dump_snapshot(base)), "the base registry")
    snap.entries, snap.codes, snap.index = rows, "\n".join(codes).encode(), index.tobytes()
    snap.byteorder, snap.shards = sys.byteorder, shards
    snap.codes_len = snap.index_len = 0
    return MAGIC + msgspec.msgpack.encode(snap)  # version 1: loads like any snapshot


def check(n: int = 23_456) -> None:
    slow = Registry.from_patch(bench_patch(n))
    tmp = Path(f"/tmp/ybgate-synth-check-{os.getpid()}.snap")
    try:
        tmp.write_bytes(dump_direct(n))
        fast = load_snapshot(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    if fingerprint(slow) != fingerprint(fast):
        sys.exit("synth_snapshot: the direct build differs from the facts' registry")
    print(f"synth_snapshot: direct build = facts build at {n} physicians", file=sys.stderr)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--check"]:
        check()
        return
    out = Path(argv[0])
    n = 0 if "--empty" in argv else synth.N
    t0 = time.perf_counter()
    data = dump_direct(n)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    took = time.perf_counter() - t0
    print(f"wrote {out}: {n} physicians in {took:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

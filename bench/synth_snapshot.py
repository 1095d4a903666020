"""Build the benchmark registry (../shared/bench/synth.py) into a snapshot file.

    python bench/synth_snapshot.py OUT [--empty]

Every synth physician, the 5000 institutions (one open-ended term from 2020, so 2026 is
covered) in one region whose policy lets an emergency escape all seven reasons, and the
HIS token ``bench-token`` for the bench institution. ``--empty`` writes the same registry
without physicians (the RSS baseline).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

SHARED = Path(os.environ.get("SHARED", Path(__file__).resolve().parents[2] / "shared"))
sys.path.insert(0, str(SHARED / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth  # noqa: E402

from app.registry.compact import Registry  # noqa: E402
from app.registry.facts import InstitutionFact, Patch, PhysicianFact, RegionFact  # noqa: E402
from app.registry.judge import DEFAULT_CODE_PATTERN, REASONS  # noqa: E402
from app.registry.snapshot import write_snapshot  # noqa: E402

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


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    n = 0 if "--empty" in argv else synth.N
    t0 = time.perf_counter()
    reg = Registry.from_patch(bench_patch(n))
    write_snapshot(reg, out)
    took = time.perf_counter() - t0
    print(f"wrote {out}: {n} physicians in {took:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

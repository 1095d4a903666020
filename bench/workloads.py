"""The rotating workloads of ``make bench``, built from ../shared/bench/synth.py.

    python bench/workloads.py outpatient OUT.jsonl [COUNT=1000] [LINES=20]
    python bench/workloads.py inpatient OUT.jsonl [COUNT=300] [LINES=200]
    python bench/workloads.py hsa IN.jsonl OUT.jsonl
    python bench/workloads.py hsa2301 IN.jsonl OUT.jsonl

``hsa``: the national 2204 form (bench/hsa_payload.py) of each settlement of IN, msgid
left as the placeholder bench/rotate.lua fills per request; ``hsa2301`` the 2301 form
(each line's emergency as its own med_type).

One settlement per line (bench/rotate.lua sends them in turn; the floor gets the same
file). ``outpatient``: ``synth.payload(LINES, seed)`` for seeds 1..COUNT, every line on
synth's service date. ``inpatient``: the same with its own seeds, each bill a stay of
1-14 days ending on synth's service date, its lines spread evenly over the stay's days
in date order (a bill lists its days in turn).
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import date, timedelta
from pathlib import Path

SHARED = Path(os.environ.get("SHARED", Path(__file__).resolve().parents[2] / "shared"))
sys.path.insert(0, str(SHARED / "bench"))

import synth  # noqa: E402

INPATIENT_SEED0 = 100_000  # inpatient bills draw other settlements than outpatient ones


def outpatient(count: int, lines: int) -> list[dict[str, object]]:
    return [synth.payload(lines, seed) for seed in range(1, count + 1)]


def inpatient(count: int, lines: int) -> list[dict[str, object]]:
    last = date.fromisoformat(synth.SERVICE_DATE)
    out = []
    for k in range(count):
        seed = INPATIENT_SEED0 + k
        bill = synth.payload(lines, seed)
        days = random.Random(-seed).randint(1, 14)
        first = last - timedelta(days=days - 1)
        rows: list[dict[str, object]] = bill["lines"]  # type: ignore[assignment]
        for j, line in enumerate(rows):
            line["service_date"] = (first + timedelta(days=j * days // len(rows))).isoformat()
        bill["settlement_id"] = f"BENCH-IP-{lines}-{seed}"
        out.append(bill)
    return out


def main(argv: list[str]) -> None:
    if argv[0] in ("hsa", "hsa2301"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from hsa_payload import hsa_2204

        infno = "2301" if argv[0] == "hsa2301" else "2204"
        with open(argv[1]) as src, open(argv[2], "w") as dst:
            for line in src:
                dst.write(hsa_2204(json.loads(line), infno) + "\n")
        return
    kind, out = argv[0], Path(argv[1])
    defaults = {"outpatient": (1000, 20), "inpatient": (300, 200)}
    count = int(argv[2]) if len(argv) > 2 else defaults[kind][0]
    lines = int(argv[3]) if len(argv) > 3 else defaults[kind][1]
    bodies = outpatient(count, lines) if kind == "outpatient" else inpatient(count, lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        for body in bodies:
            f.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

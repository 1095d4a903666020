"""The C fast path's own work on one message, for an instruction count (deterministic on
a busy machine, unlike a stopwatch): scan + judge of an N-line 2204, repeated.

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        .venv/bin/python bench/feefast_count.py [SO] [LINES] [ROUNDS]
    callgrind_annotate cg.out | grep csrc/feefast_     # instructions per function

SO: the built extension (default: this tree's); an older build answers ``judge`` with
two arguments, which is detected."""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.gatekeeper.national.render import FAST_FRAGMENTS, RESULT_CHAR  # noqa: E402
from app.registry.judge import ACCEPTED, ALL_RESULTS  # noqa: E402
from bench.hsa_payload import hsa_2204  # noqa: E402


def main(path: str, n: int, rounds: int) -> None:
    loader = importlib.machinery.ExtensionFileLoader("_feefast", path)
    spec = importlib.util.spec_from_file_location("_feefast", path, loader=loader)
    assert spec is not None
    m = importlib.util.module_from_spec(spec)
    loader.exec_module(m)
    letters = "".join(RESULT_CHAR[r] for r in ALL_RESULTS)
    m.setup(ALL_RESULTS, tuple(r.ok for r in ALL_RESULTS), letters, *FAST_FRAGMENTS)
    lines = [
        {
            "line_id": str(k),
            "physician_code": f"YB{k:024d}",
            "service_date": "2026-11-20",
            "emergency": False,
            "item_code": "250101001",
            "amount": f"{k}.50",
        }
        for k in range(n)
    ]
    plain = {"settlement_id": "S", "institution_code": "H1", "lines": lines}
    body = hsa_2204(plain).replace("MSGID", "m").encode()
    table = {f"YB{k:024d}": (ACCEPTED, ACCEPTED) for k in range(n)}
    scanned = m.scan(body, 1000)
    try:
        scanned.judge((table,), 0, None)
        args: tuple[object, ...] = (0, None)
    except TypeError:
        args = (0,)
    for _ in range(rounds):
        m.scan(body, 1000).judge((table,), *args)


if __name__ == "__main__":
    default = glob.glob(str(REPO / "app/gatekeeper/national/_feefast*.so"))[0]
    argv = sys.argv[1:]
    main(argv[0] if argv and argv[0] else default, int(argv[1]) if len(argv) > 1 else 200,
         int(argv[2]) if len(argv) > 2 else 300)  # fmt: skip

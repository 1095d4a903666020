"""``python -m tests.fuzz.run``: the fast path's fuzzer (see ``harness.py``).

With ``FUZZ_FEEFAST_SO`` set (``scripts/fuzz-feefast.sh``), that build of the C
extension (sanitizers, edge coverage) stands in for ``app.gatekeeper.national._feefast`` before
anything of the product is imported."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path


def _substitute(path: str) -> None:
    spec = importlib.util.spec_from_file_location("app.gatekeeper.national._feefast", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app.gatekeeper.national._feefast"] = module
    spec.loader.exec_module(module)


def main() -> int:
    so = os.environ.get("FUZZ_FEEFAST_SO")
    if so:
        _substitute(so)
    from tests.fuzz.harness import CORPUS, Finding, Fuzzer

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args()
    if not args.seconds and not args.rounds:
        args.rounds = 2000
    fuzzer = Fuzzer(args.seed, args.corpus)
    build = "sanitized build" if so else "ordinary build"
    coverage = "edge coverage on" if fuzzer.cov.on else "no coverage feedback"
    print(f"fuzz: {len(fuzzer.seeds)} seeds, seed {args.seed}, {build}, {coverage}", flush=True)
    try:
        stats = fuzzer.run(args.seconds, args.rounds)
    except Finding as found:
        print(f"FINDING: {found}", flush=True)
        return 1
    print(stats.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

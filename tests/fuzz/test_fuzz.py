"""The fast path's fuzzer in the suite (``harness.py``): the seed corpus and a few
thousand structure-aware mutants through the C code and the reference, on the ordinary
build and on the one built with AddressSanitizer and UBSan; and the scanner's memory on
the message that once overflowed and leaked its buffer. ``make fuzz`` runs the same for
longer with edge coverage (CI: 90 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

# The C extension is optional (no compiler at install: the reference alone serves).
_feefast = pytest.importorskip("app.gatekeeper.national._feefast")

from tests.fuzz.build import ROOT, build, preload  # noqa: E402
from tests.fuzz.harness import CORPUS, Fuzzer  # noqa: E402

REPEATED = (CORPUS / "repeat-feedetail-20-then-20.json").read_bytes()


def test_fast_path_and_reference_agree_on_mutants() -> None:
    stats = Fuzzer(seed=11).run(rounds=1000)
    assert stats.runs >= 1000
    assert stats.judged > 20, stats.line()  # the C judge was reached, not only refused


def test_the_sanitized_build_survives_the_corpus_and_mutants(tmp_path: Path) -> None:
    """The corpus holds the messages that overflowed the scanner's buffer (a repeated
    feedetail or input, over and under 32 lines); ASan stops the process on any
    out-of-bounds access, UBSan on an out-of-range index."""
    so = build(tmp_path)
    env = {
        **os.environ,
        "LD_PRELOAD": preload(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:halt_on_error=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        "FUZZ_FEEFAST_SO": str(so),
        "PYTHONPATH": str(ROOT),
        "PYTHONMALLOC": "malloc",
    }
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", "--rounds", "500", "--seed", "12"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert "sanitized build" in run.stdout and "agreed on every one" in run.stdout, run.stdout


def test_a_repeated_feedetail_leaks_nothing() -> None:
    """The second array once got a buffer of its own while the first was lost (1.5 KB a
    message, and an uninitialised read): now the message is declined, nothing kept."""
    assert _feefast.scan(REPEATED, 1000) is None
    for _ in range(200):
        _feefast.scan(REPEATED, 1000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3000):
            _feefast.scan(REPEATED, 1000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 16 * 1024, grown

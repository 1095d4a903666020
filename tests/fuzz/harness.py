"""The fast path's fuzzer: structure-aware mutations (``mutate.py``) of the seed corpus
(``tests/data/fuzz-corpus/``), each message run through the C scanner and judge and
through the reference decoder (msgspec + ``hsa.fee_judge``), which must give the same
answer bytes (ids and times aside), the same decision to log and the same msgid record.
A message the reference cannot answer without an exception (a 500) fails too.

``scripts/fuzz-feefast.sh`` (``make fuzz FUZZ_SECONDS=90``) runs it against the
extension built with AddressSanitizer, UBSan and gcc's edge coverage
(``-fsanitize-coverage=trace-pc``, ``csrc/fuzzcov.c``): a mutant that reaches a new edge
(or a new hit count of one) of the C code joins the pool. ``tests/fuzz/test_fuzz.py``
runs it briefly in the suite, on the ordinary build and on the sanitized one.

    python -m tests.fuzz.run [--seconds S | --rounds N] [--seed K] [--corpus DIR]
"""

from __future__ import annotations

import ctypes
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from app.core.errors import DomainError
from app.gatekeeper import GatekeeperApp
from app.gatekeeper.decisions.recent import LineMemory
from app.gatekeeper.decisions.visits import VisitMemory
from app.gatekeeper.host.runtime import Runtime
from app.gatekeeper.national import _feefast
from app.gatekeeper.national.hsa import begin, claimed
from app.gatekeeper.plain.checks import latest_day
from app.registry.judge import ALL_RESULTS
from app.registry.store import RegistryStore
from tests.fuzz.mutate import Mutator
from tests.gatekeeper.test_differential import INSTITUTIONS, world

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "fuzz-corpus"
FAILURES = ROOT / "var" / "fuzz-failures"
MAX_LINES = (1, 20, 32, 33, 200, 1000)
POOL_MAX = 4000
WORLD_SEED = 1


class _Rt:
    """What ``hsa.begin`` reads of the runtime."""

    def __init__(self) -> None:
        self.max_lines = 1000
        self.hsa_fast = True  # the fast path is what is fuzzed (the reference: fast=False)
        self.visits = VisitMemory(86400.0, 1 << 20)  # no visits: nothing is an emergency by it
        self.lines = LineMemory(86400.0, 1 << 20)  # no earlier lines: a refund is its own


class Coverage:
    """The edge map of a build with ``csrc/fuzzcov.c`` (absent: no feedback)."""

    SIZE = 1 << 16
    # AFL's hit-count classes: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+.
    CLASSES = bytes(
        0
        if n == 0
        else 1
        if n == 1
        else 2
        if n == 2
        else 4
        if n == 3
        else 8
        if n < 8
        else 16
        if n < 16
        else 32
        if n < 32
        else 64
        if n < 128
        else 128
        for n in range(256)
    )

    def __init__(self) -> None:
        self.map: Any = None
        try:
            lib = ctypes.CDLL(_feefast.__file__)
            self.map = (ctypes.c_ubyte * self.SIZE).in_dll(lib, "ff_cov_map")
        except (OSError, ValueError):
            pass
        self.seen = 0

    @property
    def on(self) -> bool:
        return self.map is not None

    def reset(self) -> None:
        if self.map is not None:
            ctypes.memset(self.map, 0, self.SIZE)

    def new(self) -> bool:
        """Whether the run since :meth:`reset` reached anything not reached before."""
        if self.map is None:
            return False
        hits = int.from_bytes(bytes(self.map).translate(self.CLASSES), "little")
        fresh = hits & ~self.seen
        self.seen |= hits
        return fresh != 0

    def edges(self) -> int:
        return sum(1 for b in self.seen.to_bytes(self.SIZE, "little") if b)


def _normal(answer: bytes, did: str) -> bytes:
    if did:
        answer = answer.replace(did.encode(), b"DID")
    return re.sub(rb'"(refmsg_time|respond_time)":"[^"]*"', rb'"\1":"T"', answer)


def answer_of(
    gk: GatekeeperApp, rt: Runtime, inst: str, body: bytes, fast: bool
) -> tuple[Any, ...]:
    """What the message gets (answer, outcome, logged decision, msgid record), without
    its decision id and times; ("500", exception) when the path raised a bug."""
    try:
        op, out, outcome, fee, _ = begin(gk, rt, inst, body, fast=fast)
        if fee is None:
            return (op, _normal(out, ""), outcome)
        answer, outcome, item = claimed(fee, None)
    except DomainError as err:
        return ("problem", err.status)
    except Exception as exc:  # a 500: the finding
        return ("500", f"{type(exc).__name__}: {exc}")
    assert item is not None
    rec, did = fee.rec, fee.rec.decision_id
    logged = (*item[2:8], _normal(item[8], did), item[9])
    return (op, _normal(answer, did), outcome, logged, (rec.body_hash, rec.results))


def body_inst(body: bytes) -> str:
    m = re.search(rb'"fixmedins_code"\s*:\s*"([^"\\]*)"', body)
    return m.group(1).decode("utf-8", "replace") if m else "H1"


class Finding(AssertionError):
    def __init__(self, body: bytes, what: str) -> None:
        super().__init__(what)
        self.body = body


@dataclass
class Stats:
    runs: int = 0
    scanned: int = 0  # taken by the C scanner
    judged: int = 0  # answered by the C judge
    kept: int = 0  # mutants that reached new coverage
    edges: int = 0
    seconds: float = 0.0
    pool: list[bytes] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"fuzz: {self.runs} messages in {self.seconds:.0f} s, {self.scanned} taken by the "
            f"C scanner, {self.judged} judged in C, {self.kept} kept for new coverage "
            f"({self.edges} edge classes); fast path and reference agreed on every one"
        )


class Fuzzer:
    def __init__(self, seed: int, corpus: Path = CORPUS) -> None:
        facts, codes, _ = world(WORLD_SEED, n=300)  # the corpus names its codes
        store = RegistryStore()
        store.replace(facts)
        self.gk = GatekeeperApp(store)
        self.rt = _Rt()
        aliases = [p["national_code"] for p in facts["physicians"].values() if p]
        known = codes + [a for a in aliases if a]
        tomorrow = latest_day()
        self.rnd = random.Random(seed)
        self.mutator = Mutator(
            self.rnd, known, tomorrow.isoformat(), (tomorrow + timedelta(days=1)).isoformat()
        )
        self.seeds = [p.read_bytes() for p in sorted(corpus.glob("*.json"))]
        assert self.seeds, f"no seed corpus in {corpus}"
        self.cov = Coverage()
        self.stats = Stats(pool=list(self.seeds))

    def check(self, body: bytes) -> None:
        """One message: the C code on its own (random memo tables, every emergency mode),
        then both paths of the product, which must agree."""
        rnd, rt = self.rnd, cast(Runtime, self.rt)
        self.rt.max_lines = rnd.choice(MAX_LINES)
        scanned = _feefast.scan(body, self.rt.max_lines)
        if scanned is not None:
            self.stats.scanned += 1
            table = {c: (rnd.choice(ALL_RESULTS), rnd.choice(ALL_RESULTS)) for c in ("YB1",)}
            tables = tuple(table if rnd.random() < 0.5 else {} for _ in scanned.days)
            for e in (-1, 0, 1):
                scanned.judge(tables, e)
        inst = rnd.choice(INSTITUTIONS) if rnd.random() < 0.03 else body_inst(body)
        ref = answer_of(self.gk, rt, inst, body, fast=False)  # fills the memo first
        got = answer_of(self.gk, rt, inst, body, fast=True)
        for name, res in (("reference", ref), ("fast path", got)):
            if res[0] == "500":
                raise Finding(body, f"the {name} failed: {res[1]}")
        if got != ref:
            raise Finding(body, f"fast path {got!r}\n  != reference {ref!r}")
        if len(got) == 5 and scanned is not None and got[2] != "replayed":
            self.stats.judged += 1

    def run(self, seconds: float = 0.0, rounds: int = 0) -> Stats:
        """Every seed once, then mutants until ``seconds`` pass or ``rounds`` are done."""
        st, t0 = self.stats, time.monotonic()
        for body in self.seeds:
            self._one(body, keep=False)
        deadline = t0 + seconds
        while (rounds and st.runs < rounds + len(self.seeds)) or (
            seconds and time.monotonic() < deadline
        ):
            parent = self.rnd.choice(st.pool)
            self._one(self._mutate(parent), keep=True)
        st.seconds = time.monotonic() - t0
        st.edges = self.cov.edges()
        return st

    def _mutate(self, parent: bytes) -> bytes:
        """A mutant; the mutator's trees of nested values need a deeper recursion limit
        than the product runs with, so it is raised here only (the product's decoders
        must meet the default limit, as in production)."""
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(20_000)
        try:
            return self.mutator.mutate(parent)
        finally:
            sys.setrecursionlimit(limit)

    def _one(self, body: bytes, keep: bool) -> None:
        self.cov.reset()
        try:
            self.check(body)
        except Finding as found:
            FAILURES.mkdir(parents=True, exist_ok=True)
            path = FAILURES / f"finding-{int(time.time())}-{self.stats.runs}.json"
            path.write_bytes(found.body)
            raise Finding(found.body, f"{found} (message saved in {path})") from None
        self.stats.runs += 1
        fresh = self.cov.new()
        lucky = not self.cov.on and self.rnd.random() < 0.05  # no feedback: a sample
        if keep and len(body) < 256 * 1024 and (fresh or lucky):
            self.stats.kept += fresh
            pool = self.stats.pool
            if len(pool) >= POOL_MAX:
                pool[self.rnd.randrange(len(self.seeds), len(pool))] = body
            else:
                pool.append(body)

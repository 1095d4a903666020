"""Random damage to 2204 messages through the C scanner and judge (csrc/), built with
AddressSanitizer and UBSan by scripts/fuzz-feefast.sh: no memory error, no crash, and
every answer it gives is well-formed. What the answers say is held to the reference by
tests/gatekeeper/test_hsa_fast.py; this is about the C code's memory safety.

    scripts/fuzz-feefast.sh [SEED] [ROUNDS]
"""

from __future__ import annotations

import json
import random
import sys

import _feefast as f  # the sanitized build, first on sys.path

from app.gatekeeper.national.render import FAST_FRAGMENTS, RESULT_CHAR
from app.registry.judge import ALL_RESULTS
from bench.hsa_payload import hsa_2204

NOISE = b'{}[],:"\\ 0a.-e\t\n\xe4\x00\xff1'


def bodies(rnd: random.Random) -> list[bytes]:
    out = []
    for n in (1, 20, 200, 700):
        lines = [
            {
                "line_id": f"{k}",
                "physician_code": f"YB{rnd.randrange(10**24):024d}",
                "service_date": f"2026-11-{1 + k * 7 // n:02d}",
                "item_code": "250101001",
                "amount": f"{rnd.randrange(10**6) / 100:.2f}",
            }
            for k in range(n)
        ]
        plain = {"settlement_id": "S", "institution_code": "H1", "lines": lines}
        out.append(hsa_2204(plain).replace("MSGID", "m").encode())
    return out


def main(seed: int, rounds: int) -> None:
    letters = "".join(RESULT_CHAR[r] for r in ALL_RESULTS)
    f.setup(ALL_RESULTS, tuple(r.ok for r in ALL_RESULTS), letters, *FAST_FRAGMENTS)
    rnd = random.Random(seed)
    base = bodies(rnd)
    codes = {ln["bilg_dr_codg"] for b in base for ln in json.loads(b)["input"]["feedetail"]}
    table = {c: (rnd.choice(ALL_RESULTS), rnd.choice(ALL_RESULTS)) for c in codes}
    taken = judged = 0
    for _ in range(rounds):
        b = rnd.choice(base)
        for _ in range(rnd.randrange(0, 4)):
            at, op = rnd.randrange(len(b) + 1), rnd.randrange(4)
            if op == 0:
                b = b[:at] + b[at + 1 :]
            elif op == 1:
                b = b[:at] + bytes([rnd.choice(NOISE)]) + b[at:]
            elif op == 2:
                b = b[:at] + bytes([rnd.choice(NOISE)]) + b[at + 1 :]
            else:
                b = b[:at]
        s = f.scan(b, rnd.choice((1, 5, 20, 199, 200, 1000)))
        if s is None:
            continue
        taken += 1
        tables = tuple(table if rnd.random() < 0.95 else {} for _ in s.days)
        for e in (-1, 0, 1):
            r = s.judge(tables, e)
            if r is not None:
                judged += 1
                assert len(r[0]) == s.n and len(r[6]) == s.n
                json.loads(r[3])  # the inputs
                json.loads(b'{"a":[{"x":"' + r[2] + b"]}")  # the plain lines
    print(f"fuzz: {rounds} messages, {taken} scanned, {judged} judged, no memory error")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

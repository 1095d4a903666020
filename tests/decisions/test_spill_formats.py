"""Spill and journal files: every format written so far is replayed to the same compact
decision (``.ybz`` zstd frames of JSON lines, ``.ybd`` compact frames, ``.jsonl`` JSON
lines); a frame torn by a crash ends the readable part and is kept aside; and the
journal stays within 600 bytes per 20-line decision even when each decision is its own
write (the decision log's capacity target, docs/capacity.md)."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import msgspec
import pytest

from app.gatekeeper.decisions.spill import (
    Item,
    Packer,
    SpillWriter,
    claim,
    decode_item,
    frame,
    json_buffers,
    spill_files,
)
from app.registry import decision_codec as codec
from app.registry.judge import ALL_RESULTS

FIELDS = ("physician_code", "bilg_dr_codg", "orders_dr_code")


def varied_item(rng: random.Random, n: int = 20, *, upstream: bool = False) -> Item:
    """A decision like real traffic: its own ids, physicians, day, verdicts and amounts."""
    ms = 1_795_562_280_123 + rng.randrange(10**8)
    did = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0x8 << 60)))
    sid = f"S{rng.randrange(10**12)}"
    inst = f"H{rng.randrange(10**11):011d}"
    doctors = [f"YB{rng.randrange(10**27):027d}" for _ in range(4)]
    day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    inputs = [(rng.choice(doctors), day, rng.random() < 0.05) for _ in range(n)]
    lines = []
    for k in range(n):
        r = rng.choice(ALL_RESULTS)
        line: dict[str, object] = {
            "line_id": str(k + 1),
            "decision": r.decision,
            "reason": r.reason,
        }
        if r.overridden:
            line["overridden"] = r.overridden
        if r.decision == "reject":
            line["field"] = rng.choice(FIELDS)
        lines.append(line)
    acc, rej = f"{rng.randrange(10**6) / 100:.2f}", f"{rng.randrange(10**5) / 100:.2f}"
    body: dict[str, object] = {
        "settlement_id": sid,
        "decision_id": did,
        "registry_version": rng.randint(1, 99),
        "outcome": "partial",
        "accepted_amount": acc,
        "rejected_amount": rej,
    }
    if upstream:
        body |= {"upstream_infcode": -1, "upstream_error": "timeout"}
    body["lines"] = lines
    raw = msgspec.json.encode(body)
    version = int(str(body["registry_version"]))
    return (did, ms, sid, inst, version, "partial", acc, rej, raw, msgspec.json.encode(inputs))


def items(seed: int, count: int) -> list[Item]:
    rng = random.Random(seed)
    return [varied_item(rng, upstream=i % 7 == 0) for i in range(count)]


def replayed(path: Path) -> list[codec.Decision]:
    claimed = claim(path)
    assert claimed is not None
    fd, rows = claimed
    os.close(fd)
    return rows


@pytest.mark.parametrize("seed", range(3))
def test_every_format_replays_the_same_decisions(tmp_path: Path, seed: int) -> None:
    batch = items(seed, 40)
    expected = [decode_item(i) for i in batch]
    writer = SpillWriter(tmp_path)
    writer.append(batch[:25])  # two writes: two frames of one stream
    writer.append(batch[25:])
    writer.close()
    (tmp_path / "spill-1-old.ybd").write_bytes(b"".join(frame(codec.encode(d)) for d in expected))
    (tmp_path / "spill-2-old.jsonl").write_bytes(b"".join(json_buffers(batch)))
    files = spill_files(tmp_path)
    assert sorted(p.suffix for p in files) == [".jsonl", ".ybd", ".ybz"]
    for path in files:
        assert replayed(path) == expected, path.name
    assert any(d.upstream_infcode == -1 for d in expected)


def test_a_torn_frame_ends_the_file_and_is_kept_aside(tmp_path: Path) -> None:
    batch = items(7, 20)
    writer = SpillWriter(tmp_path)
    writer.append(batch[:10])
    writer.append(batch[10:])
    writer.close()
    (path,) = spill_files(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-5])  # the second write cut short by a crash
    assert replayed(path) == [decode_item(i) for i in batch[:10]]
    rejected = path.with_name(path.name + ".rejected")
    assert rejected.exists() and len(rejected.read_bytes()) > 0


def test_the_journal_keeps_a_20_line_decision_within_600_bytes() -> None:
    packer = Packer()
    batch = items(11, 500)
    written = sum(len(packer.pack(json_buffers([i]))) for i in batch)  # one write each
    assert written / len(batch) <= 600

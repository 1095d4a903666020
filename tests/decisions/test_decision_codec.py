"""The decision log's compact encoding gives back exactly what was answered: every
verdict (decision, reason, override), line ids of any shape, staff codes, service dates
and emergency flags, amounts to the cent, the decision's time from its UUIDv7; and a
20-line decision takes a few dozen bytes (property tests over random decisions)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.registry import decision_codec as codec
from app.registry.judge import ALL_RESULTS

CODES = st.sampled_from([f"YB6201021980010100000{i:05d}" for i in range(6)] + ["D123456789012", ""])
DAYS = st.integers(0, 4000).map(lambda n: (date(2015, 1, 1) + timedelta(days=n)).isoformat())


def answered(i: int) -> dict[str, Any]:
    r = ALL_RESULTS[i]
    line: dict[str, Any] = {"decision": r.decision, "reason": r.reason}
    if r.overridden is not None:
        line["overridden"] = r.overridden
    if r.field is not None:  # a rejected line names the field whose code failed
        line["field"] = r.field
    return line


@st.composite
def decisions(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[Any]] | None]:
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["seq", "int", "str"]))
    if kind == "seq":
        ids = [str(i + 1) for i in range(n)]
    elif kind == "int":
        ids = [
            str(x) for x in sorted(draw(st.sets(st.integers(1, 10**12), min_size=n, max_size=n)))
        ]
    else:
        ids = draw(st.lists(st.text(min_size=1, max_size=20), min_size=n, max_size=n, unique=True))
    results = draw(st.lists(st.integers(0, len(ALL_RESULTS) - 1), min_size=n, max_size=n))
    lines = [{"line_id": lid, **answered(r)} for lid, r in zip(ids, results, strict=True)]
    if draw(st.booleans()) and n > 3:
        return lines, None  # logged before inputs were kept
    inputs: list[list[Any]] = [[draw(CODES), draw(DAYS), draw(st.booleans())] for _ in range(n)]
    for row in inputs:  # a line naming a second staff code (performer_code, orders_dr_code)
        if draw(st.integers(0, 3)) == 0:
            row.append(draw(CODES.filter(bool)))  # kept only when given
    return lines, inputs


@settings(max_examples=300, deadline=None)
@given(
    decisions(),
    st.integers(-(10**12), 10**12),
    st.integers(0, 10**12),
    st.tuples(  # 前置 mode: the platform's infcode (any sign), or why it did not answer
        st.none() | st.integers(-(2**31), 2**31 - 1), st.sampled_from(codec.UPSTREAM_ERRORS)
    ),
)
def test_round_trip(
    case: tuple[list[dict[str, Any]], Any],
    cents: int,
    ms: int,
    upstream: tuple[int | None, str | None],
) -> None:
    lines, inputs = case
    did = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0x8 << 60) | 12345))
    d = codec.from_lines(
        did, "S-1", "H1", 7, "partial", (codec.money(cents), "0.00"), lines, inputs, upstream
    )
    back = codec.decode(codec.encode(d))
    assert back == d
    assert back.accepted_cents == cents and back.decided_ms == ms
    assert (back.upstream_infcode, back.upstream_error) == upstream
    got_lines, got_inputs = codec.decode_lines(back.lines, codec.codes_text(back.physicians))
    assert got_lines == lines
    assert got_inputs == inputs


def test_twenty_lines_take_a_few_dozen_bytes() -> None:
    lines = [{"line_id": str(i + 1), **answered(0)} for i in range(20)]
    inputs = [["YB620102198001010000000001", "2026-12-01", False]] * 20
    did = "019af6a0-0000-7000-8000-000000000001"
    d = codec.from_lines(
        did, "SET-2026120100001234", "H62010000001", 9, "accept", ("250.00", "0.00"), lines, inputs
    )
    assert len(d.lines) <= 30
    assert len(codec.encode(d)) <= 120  # vs ~2.2 kB of JSON before

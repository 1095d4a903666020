"""A fourth region's variant is data only: written here, loaded and run, no code change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.rules import (
    Deduction,
    PointsOutOfRange,
    assess_institution,
    deadline,
    load_policy_file,
    objection_deadline,
    replay,
    resolve_points,
)
from app.rules.model import Policy

D = date.fromisoformat

FOURTH = """
id = "example-2030"
title = "示例地区医保医师管理办法"
source = "示例〔2030〕1号"

[code]
pattern = "^YB[0-9]{18}$"
clause = "example-2030 第二条"

[scoring]
initial_points = 8
period = "agreement_term"
term_years = 3
clause = "example-2030 第三条"

[[items]]
id = "A1"
points = 5
clause = "example-2030 第四条（一）"

[[items]]
id = "B1"
points = [1, 4]
clause = "example-2030 第四条（二）"

[[thresholds]]
id = "warn-3"
reaches = 3
severity = 1
action = "interview"
status = "applied"
clause = "example-2030 第五条"

[[thresholds]]
id = "suspend-5"
reaches = 5
severity = 2
action = "suspend"
status = "applied"
months = 2
clause = "example-2030 第五条"

[[thresholds]]
id = "cancel-8"
reaches = 8
severity = 4
action = "cancel_code"
status = "applied"
clause = "example-2030 第五条"

[[consecutive]]
id = "two-terms-5"
periods = 2
each_at_least = 5
severity = 3
action = "terminate"
status = "applied"
clause = "example-2030 第六条"

[[bans]]
id = "after-termination"
on = "terminate"
years = 2
scope = "region"
clause = "example-2030 第七条"

[[bans]]
id = "after-cancellation"
on = "cancel_code"
years = 4
scope = "policy"
clause = "example-2030 第七条"

[suspension]
resumes = "by_itself"
clause = "example-2030 第五条"

[institution]
counts = "revoked"
period = "calendar_year"

[[institution.thresholds]]
id = "revoked-2.5-percent"
percent = 2.5
action = "institution_flag"
status = "pending"
clause = "example-2030 第八条"

[deadlines.objection]
working_days = 5
direction = "after"
counted_from = "decided_on"
clause = "example-2030 第九条"

[deadlines.notice]
working_days = 2
direction = "after"
counted_from = "decided_on"
clause = "example-2030 第九条"

[emergency]
override = ["AGREEMENT_SUSPENDED", "AGREEMENT_TERMINATED"]
clause = "example-2030 第十条"
"""


@pytest.fixture
def fourth(tmp_path: Path) -> Policy:
    path = tmp_path / "example-2030.toml"
    path.write_text(FOURTH, encoding="utf-8")
    return load_policy_file(path)


def test_fourth_region_policy_loads_with_its_own_formats(fourth: Policy) -> None:
    assert fourth.id == "example-2030"
    assert fourth.code_pattern == "^YB[0-9]{18}$"
    assert fourth.emergency_override == frozenset({"AGREEMENT_SUSPENDED", "AGREEMENT_TERMINATED"})
    assert resolve_points(fourth, "B1", 4) == 4
    with pytest.raises(PointsOutOfRange):
        resolve_points(fourth, "B1", 5)


def test_fourth_region_thresholds_terms_and_consecutive_rule_run(fourth: Policy) -> None:
    anchor = D("2020-01-01")

    def ded(n: int, item: str, points: int, on: str) -> Deduction:
        return Deduction(f"x{n}", item, points, D(on), n, "990100", anchor)

    ledger = [
        ded(1, "B1", 3, "2020-03-02"),  # term 0: 3 -> interview
        ded(2, "B1", 2, "2021-06-01"),  # 5 -> suspend 2 months
        ded(3, "A1", 5, "2023-02-01"),  # term 1: 5, and term 0 had 5 -> terminate
        ded(4, "B1", 3, "2023-03-01"),  # 8: after a termination nothing fires
        ded(5, "A1", 5, "2026-01-05"),  # term 2: 5 -> consecutive again -> terminate
        ded(6, "B1", 3, "2026-02-02"),  # 8
    ]
    result = replay(fourth, ledger)
    assert [f.key for f in result.firings] == [
        ("2020-01-01/2022-12-31", "warn-3"),
        ("2020-01-01/2022-12-31", "suspend-5"),
        ("2023-01-01/2025-12-31", "two-terms-5"),
        ("2026-01-01/2028-12-31", "two-terms-5"),
    ]
    assert result.firings[1].months == 2
    assert [(b.rule_id, b.starts_on, b.ends_on) for b in result.bans] == [
        ("after-termination", D("2023-02-01"), D("2025-01-31")),
        ("after-termination", D("2026-01-05"), D("2028-01-04")),
    ]


def test_fourth_region_cancel_code_threshold_bans_by_its_own_rule(fourth: Policy) -> None:
    anchor = D("2020-01-01")
    ledger = [
        Deduction("y1", "B1", 4, D("2020-03-02"), 1, "990100", anchor),
        Deduction("y2", "B1", 4, D("2020-04-01"), 2, "990100", anchor),
    ]
    result = replay(fourth, ledger)
    assert [f.rule_id for f in result.firings] == ["warn-3", "cancel-8"]  # jumps suspend-5
    (ban,) = result.bans
    assert (ban.trigger, ban.years, ban.scope) == ("cancel_code", 4, "policy")


def test_fourth_region_deadlines_and_institution(fourth: Policy) -> None:
    # 11, 12, 13, 14 (调休 Saturday), 24 February
    assert objection_deadline(fourth, D("2026-02-10")) == D("2026-02-24")
    assert deadline(fourth, "notice", D("2026-02-10")) == D("2026-02-12")
    assert [f.threshold_id for f in assess_institution(fourth, 40, 1).flags] == [
        "revoked-2.5-percent"
    ]
    assert assess_institution(fourth, 41, 1).flags == ()

"""Scenarios of zhejiang-2014 (浙人社发〔2014〕79号), named by clause."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from app.rules import (
    ALL_REASONS,
    ManualEvent,
    deadline,
    objection_deadline,
    objection_is_late,
    record_deduction,
    replay,
    reverse_deduction,
    standing_on,
)
from app.rules.model import Policy
from tests.rules.conftest import Ledger, must

D = date.fromisoformat


def test_zhejiang_2014_3_1_item_catalogue_uses_the_documents_numbering(zhejiang: Policy) -> None:
    """三（一）: 1.1–1.9 cost 12, 2.1–2.5 cost 6, 3.1–3.6 cost 2, 4.1–4.10 cost 1."""
    expected = {
        **{f"1.{n}": 12 for n in range(1, 10)},
        **{f"2.{n}": 6 for n in range(1, 6)},
        **{f"3.{n}": 2 for n in range(1, 7)},
        **{f"4.{n}": 1 for n in range(1, 11)},
    }
    assert {i.id: i.points for i in zhejiang.items} == {k: (v, v) for k, v in expected.items()}
    assert must(zhejiang.item("1.3")).clause == "zhejiang-2014 三（一）1（3）"
    assert "停止处方权" in must(zhejiang.item("1.3")).text


def test_zhejiang_2014_1_code_is_yb_plus_certificate_number(zhejiang: Policy) -> None:
    """一: 服务编码由“YB”和医师资格证书编码组成 (24 or 27 digits seen, may end in X)."""
    ok = ["YB" + "1" * 24, "YB" + "2" * 27 + "X", "YB" + "3" * 15]
    bad = ["YB123", "yb" + "1" * 24, "XB" + "1" * 24, "YB" + "1" * 24 + "x", "D330100000123"]
    assert all(re.fullmatch(zhejiang.code_pattern, c) for c in ok)
    assert not any(re.fullmatch(zhejiang.code_pattern, c) for c in bad)
    assert zhejiang.alias_pattern is None


def test_zhejiang_2014_3_2_reaches_6_interview_applied(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 累计扣分达到6分的 … 进行约谈 (mandatory, applied)."""
    book = ledger(zhejiang)
    book.add("3.3", "2026-03-02")  # 2
    book.add("3.4", "2026-04-01")  # 4
    trigger = book.add("3.5", "2026-05-06")  # 6
    result = replay(zhejiang, book.entries)
    (firing,) = result.firings
    assert firing.key == ("2026", "reach-6")
    assert (firing.action, firing.status) == ("interview", "applied")
    assert firing.deduction_id == trigger.id
    assert firing.effective_on == D("2026-05-06")
    assert firing.clause == "zhejiang-2014 三（二）"
    period = must(result.period("2026"))
    assert (period.deducted, period.remaining, period.reached) == (6, 6, {"reach-6"})


def test_zhejiang_2014_3_2_reaches_9_to_11_pending_suspension_1_to_3_months(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 累计扣分达到9—11分的，可中止 1-3个月: pending, the operator picks months."""
    book = ledger(zhejiang)
    book.add("2.1", "2026-03-02")  # 6 -> interview
    book.add("3.1", "2026-03-10")  # 8
    book.add("4.1", "2026-03-20")  # 9 -> suspend
    book.add("4.2", "2026-04-20")  # 10: nothing more
    book.add("4.3", "2026-05-20")  # 11: nothing more
    result = replay(zhejiang, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-6", "reach-9"]
    suspend = must(result.firing("2026", "reach-9"))
    assert (suspend.action, suspend.status) == ("suspend", "pending")
    assert (suspend.months, suspend.months_range) == (None, (1, 3))
    assert suspend.deduction_id == "d3"
    assert must(result.period("2026")).remaining == 1
    assert result.bans == ()


def test_zhejiang_2014_3_2_reaches_12_terminates_every_agreement_and_bans_1_year(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 累计扣分达到12分的 … 应解除; 自解除协议之日起一年内不再接受."""
    book = ledger(zhejiang)
    book.add("2.2", "2026-02-02")  # 6
    book.add("2.3", "2026-06-15")  # 12
    result = replay(zhejiang, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-6", "reach-12"]
    terminate = must(result.firing("2026", "reach-12"))
    assert (terminate.action, terminate.status) == ("terminate", "applied")
    assert terminate.effective_on == D("2026-06-15")
    (ban,) = result.bans
    assert (ban.rule_id, ban.trigger, ban.source) == (
        "after-termination",
        "terminate",
        "2026/reach-12",
    )
    assert (ban.starts_on, ban.ends_on) == (D("2026-06-15"), D("2027-06-14"))
    assert ban.covers(D("2027-06-14")) and not ban.covers(D("2027-06-15"))
    assert ban.clause == "zhejiang-2014 三（二）"


def test_zhejiang_2014_3_2_single_12_jumps_over_6_and_9_fires_only_terminate(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: the most severe reached wins; 6 and 9 are consumed for the year."""
    book = ledger(zhejiang)
    book.add("1.4", "2026-03-02")  # 12 at once
    book.add("4.1", "2026-09-01")  # 13: nothing fires after a termination
    result = replay(zhejiang, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-12"]
    period = must(result.period("2026"))
    assert period.consumed == {"reach-6", "reach-9"}
    assert period.reached == {"reach-6", "reach-9", "reach-12"}
    assert (period.deducted, period.remaining) == (13, 0)
    assert len(result.bans) == 1


def test_zhejiang_2014_3_2_jump_from_4_to_10_fires_suspension_not_interview(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 4 → 10 crosses 6 and 9 at once: only the suspension fires."""
    book = ledger(zhejiang)
    book.add("3.1", "2026-01-05")
    book.add("3.2", "2026-01-06")
    book.add("2.5", "2026-02-01")
    result = replay(zhejiang, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-9"]
    assert must(result.period("2026")).consumed == {"reach-6"}


def test_zhejiang_2014_3_2_three_consecutive_years_of_9_terminate(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 连续三年违规扣分达到9分以上的 … 应解除 (applied), with the 1-year ban."""
    book = ledger(zhejiang)
    for year in (2024, 2025, 2026):
        book.add("2.1", f"{year}-03-01")  # 6
        book.add("3.1", f"{year}-05-01")  # 8
        book.add("4.1", f"{year}-07-01")  # 9
    result = replay(zhejiang, book.entries)
    assert [f.key for f in result.firings] == [
        ("2024", "reach-6"),
        ("2024", "reach-9"),
        ("2025", "reach-6"),
        ("2025", "reach-9"),
        ("2026", "reach-6"),
        ("2026", "three-years-9"),
    ]
    third = must(result.firing("2026", "three-years-9"))
    assert (third.action, third.status) == ("terminate", "applied")
    assert third.effective_on == D("2026-07-01")
    assert must(result.period("2026")).consumed == {"reach-9"}
    assert [b.source for b in result.bans] == ["2026/three-years-9"]


def test_zhejiang_2014_3_2_consecutive_rule_needs_every_year_at_9(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: a year with 8 breaks the run of three."""
    book = ledger(zhejiang)
    book.add("1.9", "2024-03-01")  # 12
    book.add("2.1", "2025-03-01")
    book.add("3.1", "2025-04-01")  # 8 only
    book.add("2.1", "2026-03-01")
    book.add("2.2", "2026-04-01")  # 12 -> reach-12, not the consecutive rule
    result = replay(zhejiang, book.entries)
    assert result.firing("2026", "three-years-9") is None
    assert "three-years-9" not in must(result.period("2026")).reached
    assert result.firing("2026", "reach-12") is not None


def test_zhejiang_2014_3_year_end_reset(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三: 扣分在自然年度内累加计算，每年度末扣分清零."""
    book = ledger(zhejiang)
    book.add("3.1", "2025-11-03")
    book.add("3.2", "2025-12-31")
    book.add("3.3", "2025-12-31")  # 6 in 2025 -> interview
    book.add("2.1", "2026-01-05")  # 6 in 2026 -> a new interview, not a suspension
    result = replay(zhejiang, book.entries)
    assert [f.key for f in result.firings] == [("2025", "reach-6"), ("2026", "reach-6")]
    assert must(result.period("2026")).deducted == 6
    fresh = standing_on(zhejiang, result, D("2027-03-01"))
    assert (fresh.key, fresh.deducted, fresh.remaining) == ("2027", 0, 12)


def test_zhejiang_2014_3_points_pool_across_regions_of_the_policy(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三: 与多家医疗保险经办机构签订服务协议的，初始分值不变，扣分累加计算."""
    book = ledger(zhejiang)
    book.add("2.1", "2026-03-02", region="330100")  # Hangzhou
    book.add("2.4", "2026-04-02", region="330200")  # Ningbo
    result = replay(zhejiang, book.entries)
    assert must(result.period("2026")).deducted == 12
    terminate = must(result.firing("2026", "reach-12"))
    assert terminate.region == "330200"


def test_zhejiang_2014_3_2_code_cancellation_bans_5_years_province_wide(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """三（二）: 注销服务编码 … 本省医疗保险经办机构五年内不得与其签订协议."""
    event = ManualEvent(ref="cancel-1", kind="cancel_code", effective_on=D("2026-04-01"))
    result = replay(zhejiang, [], manual_events=[event])
    (ban,) = result.bans
    assert (ban.rule_id, ban.scope, ban.years) == ("after-cancellation", "policy", 5)
    assert (ban.starts_on, ban.ends_on) == (D("2026-04-01"), D("2031-03-31"))


def test_zhejiang_2014_5_1_objection_within_10_working_days_over_spring_festival(
    zhejiang: Policy,
) -> None:
    """五（一）: 接到书面通知后10个工作日内 — 2026 Spring Festival: 15–23 Feb off,
    Saturdays 14 and 28 Feb are working days (调休)."""
    decided = D("2026-02-10")
    # 11, 12, 13, 14 (Sat, 调休), 24, 25, 26, 27, 28 (Sat, 调休), 2 March
    assert objection_deadline(zhejiang, decided) == D("2026-03-02")
    assert not objection_is_late(zhejiang, decided, D("2026-03-02"))
    assert objection_is_late(zhejiang, decided, D("2026-03-03"))  # the 11th working day


def test_zhejiang_2014_3_2_resumption_application_and_decision_deadlines(zhejiang: Policy) -> None:
    """三（二）: 中止期满前10个工作日内申请; 收到材料后10个工作日内决定."""
    assert deadline(zhejiang, "resumption_application", D("2026-03-31")) == D("2026-03-17")
    assert deadline(zhejiang, "resumption_decision", D("2026-03-17")) == D("2026-03-31")
    assert deadline(zhejiang, "notice", D("2026-03-17")) is None
    assert zhejiang.suspension.resumes == "on_approved_application"


def test_zhejiang_2014_2_emergency_escapes_every_reason(zhejiang: Policy) -> None:
    """二: 医疗保险基金不予支付（急诊、急救除外）."""
    assert zhejiang.emergency_override == frozenset(ALL_REASONS)
    assert len(ALL_REASONS) == 7


def test_zhejiang_2014_5_1_upheld_objection_reverses_the_termination_and_its_ban(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """五（一） + RULES: upheld → the deduction and whatever it alone triggered are reversed."""
    book = ledger(zhejiang)
    book.add("2.1", "2026-03-02")  # 6 -> interview
    book.add("2.2", "2026-04-02")  # 12 -> terminate + ban
    outcome = reverse_deduction(zhejiang, book.entries, "d2")
    assert [f.key for f in outcome.diff.removed] == [("2026", "reach-12")]
    assert [b.source for b in outcome.diff.bans_removed] == ["2026/reach-12"]
    assert outcome.diff.added == () and outcome.diff.changed == ()
    assert (outcome.standing.deducted, outcome.standing.remaining) == (6, 6)
    assert outcome.after == replay(zhejiang, book.entries[:1])


def test_zhejiang_2014_reversing_an_earlier_deduction_moves_the_trigger(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """A threshold still reached after a reversal keeps its key; its trigger changes."""
    book = ledger(zhejiang)
    book.add("2.1", "2026-03-02")  # 6 -> interview (d1)
    book.add("2.2", "2026-04-02")  # 12 -> terminate (d2)
    book.add("2.3", "2026-05-04")  # 18
    outcome = reverse_deduction(zhejiang, book.entries, "d1")
    assert outcome.diff.removed == () and outcome.diff.added == ()
    moved = {
        before.rule_id: (before.deduction_id, after.deduction_id)
        for before, after in outcome.diff.changed
    }
    assert moved == {"reach-6": ("d1", "d2"), "reach-12": ("d2", "d3")}
    assert [b.starts_on for b in outcome.diff.bans_added] == [D("2026-05-04")]


def test_zhejiang_2014_recording_a_deduction_reports_what_it_triggered(
    zhejiang: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """The admin flow: one new deduction → its standing and the actions to create."""
    book = ledger(zhejiang)
    book.add("2.1", "2026-03-02")
    new = book.add("3.1", "2026-06-01")
    outcome = record_deduction(zhejiang, book.entries[:1], new)
    assert outcome.standing.deducted == 8
    assert outcome.triggered == () and outcome.diff.empty
    third = book.add("4.1", "2026-06-02")
    outcome = record_deduction(zhejiang, book.entries[:2], third)
    assert [f.rule_id for f in outcome.triggered] == ["reach-9"]
    assert outcome.diff.added == outcome.triggered

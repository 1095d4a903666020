"""Scenarios of lanzhou-2014 (兰州市定岗医师管理办法), named by article."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from app.rules import (
    ALL_REASONS,
    InvalidInput,
    InvalidLedger,
    ManualEvent,
    PointsMismatch,
    PointsOutOfRange,
    PointsRequired,
    UnknownItem,
    assess_institution,
    deadline,
    period_of,
    replay,
    resolve_points,
)
from app.rules.model import Policy
from tests.rules.conftest import Ledger, must

D = date.fromisoformat
ANCHOR = "2024-05-01"  # start of the physician's agreement: terms of two years from here


def test_lanzhou_2014_12_13_14_item_catalogue(lanzhou: Policy) -> None:
    """第十二条 12.1–12.6 cost 10; 第十三条 13.1–13.8 cost 5; 第十四条 14.1–14.9 cost 1-3."""
    expected = {
        **{f"12.{n}": (10, 10) for n in range(1, 7)},
        **{f"13.{n}": (5, 5) for n in range(1, 9)},
        **{f"14.{n}": (1, 3) for n in range(1, 10)},
    }
    assert {i.id: i.points for i in lanzhou.items} == expected
    assert must(lanzhou.item("14.2")).clause == "lanzhou-2014 第十四条（二）"


def test_lanzhou_2014_11_initial_10_points_per_2_year_term(lanzhou: Policy) -> None:
    """第十一条 协议期内初始积分为10分; 第六条（三） 协议期限为两年."""
    assert (lanzhou.initial_points, lanzhou.scoring.period, lanzhou.scoring.term_years) == (
        10,
        "agreement_term",
        2,
    )
    first = period_of(lanzhou, D("2026-04-30"), D(ANCHOR))
    second = period_of(lanzhou, D("2026-05-01"), D(ANCHOR))
    assert first.key == "2024-05-01/2026-04-30"
    assert second.key == "2026-05-01/2028-04-30"


def test_lanzhou_2014_11_term_of_a_29_february_anchor(lanzhou: Policy) -> None:
    """Terms from 2016-02-29: the anniversary falls on 28 February in common years."""
    anchor = D("2016-02-29")
    assert period_of(lanzhou, D("2018-02-27"), anchor).key == "2016-02-29/2018-02-27"
    assert period_of(lanzhou, D("2018-02-28"), anchor).key == "2018-02-28/2020-02-28"
    assert period_of(lanzhou, D("2020-02-29"), anchor).key == "2020-02-29/2022-02-27"


def test_lanzhou_2014_14_needs_1_to_3_points(lanzhou: Policy) -> None:
    """第十四条 一次扣计1-3分: the operator gives the number; 4 or none is an error."""
    assert resolve_points(lanzhou, "14.1", 3) == 3
    with pytest.raises(PointsRequired) as none:
        resolve_points(lanzhou, "14.1", None)
    assert (none.value.field, none.value.slug) == ("points", "points-required")
    with pytest.raises(PointsOutOfRange) as four:
        resolve_points(lanzhou, "14.1", 4)
    assert (four.value.field, four.value.slug) == ("points", "points-out-of-range")
    with pytest.raises(PointsOutOfRange):
        resolve_points(lanzhou, "14.9", 0)


def test_lanzhou_2014_12_13_fixed_items_and_unknown_items(lanzhou: Policy) -> None:
    """第十二/十三条 fix the points: a different number is refused; 15.1 does not exist."""
    assert resolve_points(lanzhou, "13.1", None) == 5
    assert resolve_points(lanzhou, "13.1", 5) == 5
    with pytest.raises(PointsMismatch) as mismatch:
        resolve_points(lanzhou, "13.1", 4)
    assert mismatch.value.field == "points"
    with pytest.raises(UnknownItem) as unknown:
        resolve_points(lanzhou, "15.1", None)
    assert (unknown.value.field, unknown.value.slug) == ("item", "unknown-item")


def test_lanzhou_2014_17_reaches_6_suspends_3_months(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十七条 协议期内违规累计扣分达6分的 … 暂停医疗保险服务3个月 (applied)."""
    book = ledger(lanzhou)
    book.add("13.1", "2024-12-02", anchor=ANCHOR)  # 5
    book.add("14.1", "2025-03-03", 1, anchor=ANCHOR)  # 6, a later calendar year, same term
    result = replay(lanzhou, book.entries)
    (firing,) = result.firings
    assert firing.key == ("2024-05-01/2026-04-30", "reach-6")
    assert (firing.action, firing.status, firing.months) == ("suspend", "applied", 3)
    assert firing.months_range is None
    assert firing.clause == "lanzhou-2014 第十七条"
    assert must(result.period("2024-05-01/2026-04-30")).remaining == 4


def test_lanzhou_2014_17_reaches_8_suspends_6_months(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十七条 协议期内累计扣分达8分的 … 暂停医疗保险服务6个月 (applied)."""
    book = ledger(lanzhou)
    book.add("14.3", "2024-06-03", 3, anchor=ANCHOR)
    book.add("14.4", "2024-07-01", 3, anchor=ANCHOR)  # 6 -> 3 months
    book.add("14.5", "2025-01-06", 2, anchor=ANCHOR)  # 8 -> 6 months
    result = replay(lanzhou, book.entries)
    assert [(f.rule_id, f.months) for f in result.firings] == [("reach-6", 3), ("reach-8", 6)]
    assert result.bans == ()


def test_lanzhou_2014_17_reaches_10_terminates_and_revokes_with_1_year_ban(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十七条 累计扣分达10分以上的 … 终止协议，取消定岗医师资格; 第十八条 一年后."""
    book = ledger(lanzhou)
    book.add("13.2", "2024-06-03", anchor=ANCHOR)  # 5
    book.add("13.3", "2024-09-02", anchor=ANCHOR)  # 10 at once from 5: jumps 6 and 8
    result = replay(lanzhou, book.entries)
    assert [f.rule_id for f in result.firings] == ["reach-10"]
    assert must(result.period("2024-05-01/2026-04-30")).consumed == {"reach-6", "reach-8"}
    (ban,) = result.bans
    assert (ban.rule_id, ban.clause) == ("after-revocation", "lanzhou-2014 第十八条")
    assert (ban.starts_on, ban.ends_on) == (D("2024-09-02"), D("2025-09-01"))


def test_lanzhou_2014_18_second_revocation_bans_5_years(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十八条 两次被取消定岗医师资格者，第二次取消资格五年后可重新申请."""
    book = ledger(lanzhou)
    book.add("12.1", "2024-06-03", anchor=ANCHOR)  # first revocation
    book.add("12.2", "2026-01-12", anchor="2025-07-01")  # re-designated, revoked again
    result = replay(lanzhou, book.entries)
    assert [b.rule_id for b in result.bans] == ["after-revocation", "after-second-revocation"]
    second = result.bans[1]
    assert (second.starts_on, second.ends_on, second.years) == (
        D("2026-01-12"),
        D("2031-01-11"),
        5,
    )


def test_lanzhou_2014_18_second_revocation_counts_a_revocation_from_history(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十八条: a revocation recorded outside the ledger counts as the first one."""
    book = ledger(lanzhou)
    book.add("12.6", "2026-01-12", anchor="2025-07-01")
    earlier = ManualEvent(ref="import-2019", kind="terminate", effective_on=D("2019-03-01"))
    result = replay(lanzhou, book.entries, manual_events=[earlier])
    assert [(b.source, b.years) for b in result.bans] == [
        ("import-2019", 1),
        ("2025-07-01/2027-06-30/reach-10", 5),
    ]


def test_lanzhou_2014_17_points_accumulate_per_term_and_reset_with_the_next(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十七条 协议期内: a new term starts from 10 again."""
    book = ledger(lanzhou)
    book.add("13.4", "2026-04-30", anchor=ANCHOR)  # last day of term 0
    book.add("13.5", "2026-05-01", anchor=ANCHOR)  # first day of term 1
    result = replay(lanzhou, book.entries)
    assert [(p.key, p.deducted) for p in result.periods] == [
        ("2024-05-01/2026-04-30", 5),
        ("2026-05-01/2028-04-30", 5),
    ]
    assert result.firings == ()


def test_lanzhou_2014_11_deductions_need_the_agreement_anchor(
    lanzhou: Policy, ledger: Callable[[Policy], Ledger]
) -> None:
    """第十一条: the term is the agreement's; without its start the engine cannot place it."""
    book = ledger(lanzhou)
    book.add("13.1", "2026-01-05")
    with pytest.raises(InvalidLedger) as missing:
        replay(lanzhou, book.entries)
    assert missing.value.field == "ledger[0].anchor"
    book = ledger(lanzhou)
    book.add("13.1", "2024-01-05", anchor=ANCHOR)
    with pytest.raises(InvalidLedger, match="precedes"):
        replay(lanzhou, book.entries)


@pytest.mark.parametrize(
    ("approved", "revoked", "flags"),
    [
        (100, 1, []),
        (100, 2, [("revoked-2-percent", "institution_flag", "percent")]),
        (
            100,
            5,
            [
                ("revoked-2-percent", "institution_flag", "percent"),
                ("revoked-5-percent", "institution_terminate", "percent"),
            ],
        ),
        (19, 1, [("revoked-2-percent", "institution_flag", "percent")]),
        (
            19,
            2,
            [
                ("revoked-2-percent", "institution_flag", "percent"),
                ("revoked-5-percent", "institution_terminate", "small_institution"),
            ],
        ),
        (
            9,
            1,
            [
                ("revoked-2-percent", "institution_flag", "percent"),
                ("revoked-5-percent", "institution_terminate", "small_institution"),
            ],
        ),
        (0, 0, []),
    ],
)
def test_lanzhou_2014_22_institution_flag_and_termination(
    lanzhou: Policy, approved: int, revoked: int, flags: list[str]
) -> None:
    """第二十二条: ≥2% → no A grade, −5; ≥5% → agreement terminated, −10; fewer than 20
    approved → terminated at 2 revoked; fewer than 10 → at 1."""
    result = assess_institution(lanzhou, approved, revoked)
    assert [(f.threshold_id, f.action, f.basis) for f in result.flags] == flags
    assert all(f.clause == "lanzhou-2014 第二十二条" for f in result.flags)
    assert all(f.status == "applied" for f in result.flags)


def test_lanzhou_2014_22_counts_cannot_be_negative(lanzhou: Policy) -> None:
    with pytest.raises(InvalidInput) as bad:
        assess_institution(lanzhou, 10, -1)
    assert bad.value.field == "revoked"


def test_lanzhou_2014_15_notice_within_3_working_days(lanzhou: Policy) -> None:
    """第十五条 定点医疗机构在3个工作日内告知违规医师本人 (Friday → Wednesday)."""
    assert deadline(lanzhou, "notice", D("2026-03-06")) == D("2026-03-11")
    assert deadline(lanzhou, "resumption_application", D("2026-03-06")) is None


def test_lanzhou_2014_17_suspension_resumes_by_itself_and_emergency_default(
    lanzhou: Policy,
) -> None:
    """第十七条 暂停服务期满后，用协议期内剩余分值继续; emergencies: the product default."""
    assert lanzhou.suspension.resumes == "by_itself"
    assert lanzhou.emergency_override == frozenset(ALL_REASONS)

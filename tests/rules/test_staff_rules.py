"""Related staff under the national rules as policy data (app/rules/staff.py): national
staff codes per category (医保信息业务编码; 医保办函〔2022〕39号), responsibility degrees
(nhsa-2024 负有责任程度), 记分修复 (hainan-2025), months chosen within a deadline."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules import get_policy, replay, resolve_points
from app.rules.engine import Deduction
from app.rules.errors import DegreeNotAllowed, PointsOutOfRange
from app.rules.staff import national_code_problem

D = date.fromisoformat


@pytest.mark.parametrize(
    ("category", "code"),
    [
        ("doctor", "D330100000123"),
        ("nurse", "N330100000123"),
        ("pharmacist", "Y330100000123"),
        ("pharmacist", "HY330100000123"),  # 医保办函〔2022〕39号: HY 药学类, 14 characters
        ("technician", "HJ330100000123"),  # 医保办函〔2022〕39号: HJ 技术类
        ("pharmacy_head", "Y330100000123"),
    ],
)
def test_national_staff_codes_of_each_category(category: str, code: str) -> None:
    assert national_code_problem(category, code) is None


@pytest.mark.parametrize(
    ("category", "code"),
    [
        ("doctor", "N330100000123"),  # a nurse's code for a doctor
        ("nurse", "D330100000123"),
        ("technician", "HY330100000123"),
        ("pharmacist", "Y33010000012"),  # 5-digit sequence
        ("doctor", "D3301000001234"),
        ("technician", "J330100000123"),
    ],
)
def test_a_code_of_another_family_or_shape_is_refused(category: str, code: str) -> None:
    assert national_code_problem(category, code) is not None


def test_nhsa_2024_covers_every_related_staff_category_and_pharmacies() -> None:
    """nhsa-2024 相关人员范围: 医疗类、药学类、护理类、技术类, 定点零售药店主要负责人;
    定点医药机构 (H and P)."""
    nhsa = get_policy("nhsa-2024")
    assert set(nhsa.staff.categories) == {
        "doctor",
        "nurse",
        "pharmacist",
        "technician",
        "pharmacy_head",
    }
    assert set(nhsa.staff.institutions) == {"H", "P"}
    assert get_policy("zhejiang-2014").staff.categories == ("doctor",)
    assert get_policy("lanzhou-2014").staff.institutions == ("H",)


@pytest.mark.parametrize(
    ("degree", "band", "allowed"),
    [
        ("lighter", "4-6", (4, 5)),
        ("heavier", "4-6", (5, 6)),
        ("reduced", "4-6", (1, 3)),
        ("reduced", "10-12", (7, 9)),
    ],
)
def test_nhsa_2024_degrees_move_the_allowed_points(
    degree: str, band: str, allowed: tuple[int, int]
) -> None:
    """nhsa-2024 负有责任程度 (从轻、减轻、从重) as policy data."""
    nhsa = get_policy("nhsa-2024")
    low, high = allowed
    assert resolve_points(nhsa, band, low, degree=degree) == low
    assert resolve_points(nhsa, band, high, degree=degree) == high
    for outside in (low - 1, high + 1):
        if outside >= 1:
            with pytest.raises(PointsOutOfRange):
                resolve_points(nhsa, band, outside, degree=degree)


def test_a_degree_is_refused_where_the_policy_has_none() -> None:
    with pytest.raises(DegreeNotAllowed) as err:
        resolve_points(get_policy("zhejiang-2014"), "2.1", None, degree="lighter")
    assert err.value.field == "degree"
    with pytest.raises(DegreeNotAllowed):  # 减轻 below the lowest band leaves nothing
        resolve_points(get_policy("nhsa-2024"), "1-3", 1, degree="reduced")


def _d(n: int, item: str, day: str, points: int, means: str | None = None) -> Deduction:
    return Deduction(
        id=f"d{n}", item=item, points=points, decided_on=D(day), sequence=n, means=means
    )


def test_hainan_2025_a_repair_lowers_the_period_points_and_never_undoes_a_firing() -> None:
    """hainan-2025 记分修复: points restored count for what comes after; a suspension that
    fired stays (记分修复不改变已作出的暂停、终止处理)."""
    hainan = get_policy("hainan-2025")
    assert hainan.repair is not None and hainan.repair.of("training") is not None
    before = [_d(1, "4-6", "2026-03-02", 6), _d(2, "repair", "2026-04-01", 2, "training")]
    result = replay(hainan, [*before, _d(3, "1-3", "2026-05-11", 3)])
    assert result.firings == ()  # 6 - 2 + 3 = 7: below 9
    assert result.periods[0].deducted == 7
    fired = replay(hainan, [_d(1, "7-9", "2026-03-02", 9), _d(2, "r", "2026-04-01", 2, "outreach")])
    (suspend,) = fired.firings
    assert suspend.rule_id == "reach-9"
    assert fired.periods[0].deducted == 7
    nhsa = get_policy("nhsa-2024").repair
    assert nhsa is not None and hainan.repair.max_per_period < nhsa.max_per_period
    assert get_policy("zhejiang-2014").repair is None


def test_nhsa_2024_suspension_months_are_chosen_within_a_deadline() -> None:
    """暂停1-6个月: deadlines.suspension_months says by when the agency chooses."""
    nhsa = get_policy("nhsa-2024")
    rule = nhsa.deadlines.suspension_months
    assert rule is not None and rule.working_days == 10
    (reach9,) = [t for t in nhsa.thresholds if t.id == "reach-9"]
    assert (reach9.status, reach9.months, reach9.months_default) == ("applied", (1, 6), 1)

"""Related staff (相关人员) under the national rules, as policy data: which staff categories
and which kinds of institution a policy covers, responsibility degrees (从轻、减轻、从重)
and point repair (记分修复).

The national staff codes are national data (医保信息业务编码), not a policy's: each
category's code is its identification letters + the 6-digit administrative division
(GB/T 2260) + a 6-digit sequence:

- ``D`` 医保医师 (医疗类) and ``N`` 医保护士 (护理类): the 医保信息业务编码 of 医保发〔2019〕39号;
- ``Y`` 医保药师 (药学类, the retail pharmacies' pharmacists) and ``HY`` (药学类) / ``HJ``
  (技术类) of the 定点医疗机构 under 医保办函〔2022〕39号 (14 characters: 2 letters, 6 + 6
  digits);
- a 定点零售药店's 主要负责人 has no code family of their own: they carry the code of their
  profession (usually ``Y``) or none.

Institutions: ``H`` + 11 digits (定点医疗机构), ``P`` + 11 digits (定点零售药店).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field

from app.rules.fields import PolicyModel

Category = Literal["doctor", "nurse", "pharmacist", "technician", "pharmacy_head"]
CATEGORIES: Final[tuple[Category, ...]] = (
    "doctor",
    "nurse",
    "pharmacist",
    "technician",
    "pharmacy_head",
)
CATEGORY_NAMES: Final[dict[str, str]] = {
    "doctor": "医疗类",
    "nurse": "护理类",
    "pharmacist": "药学类",
    "technician": "技术类",
    "pharmacy_head": "定点零售药店主要负责人",
}
# Category -> the national code families it may carry.
CODE_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "doctor": ("D",),
    "nurse": ("N",),
    "pharmacist": ("Y", "HY"),
    "technician": ("HJ",),
    "pharmacy_head": ("Y", "HY"),
}
STAFF_CODE_RE: Final = re.compile(r"(?:D|N|Y|HY|HJ)[0-9]{12}")
InstitutionKind = Literal["H", "P"]
Degree = Literal["lighter", "reduced", "heavier"]
DEGREE_NAMES: Final[dict[str, str]] = {"lighter": "从轻", "reduced": "减轻", "heavier": "从重"}


def national_code_problem(category: str, code: str) -> str | None:
    """Why ``code`` is not a national staff code of ``category`` (None when it is)."""
    prefixes = CODE_PREFIXES.get(category, ())
    if not STAFF_CODE_RE.fullmatch(code):
        return "须为国家医保信息业务编码: 标识码 (D/N/Y/HY/HJ) + 6 位行政区划 + 6 位顺序码"
    head = code[:2] if code[:2] in ("HY", "HJ") else code[:1]
    if head not in prefixes:
        return f"{CATEGORY_NAMES.get(category, category)}人员的编码以 {'/'.join(prefixes)} 开头"
    return None


class StaffRules(PolicyModel):
    """Who the policy covers. The local physician policies cover physicians of 定点医疗
    机构 only; nhsa-2024 every 相关人员 of a 定点医药机构."""

    categories: tuple[Category, ...] = Field(default=("doctor",), strict=False, min_length=1)
    institutions: tuple[InstitutionKind, ...] = Field(default=("H",), strict=False, min_length=1)
    clause: str = ""
    text: str = ""


class DegreeRule(PolicyModel):
    """A responsibility degree moves an item's allowed points: ``[min + low_shift,
    max + high_shift]``, kept within 1..initial points."""

    id: Degree
    low_shift: int
    high_shift: int
    clause: str = Field(min_length=1)
    text: str = ""


class RepairMeans(PolicyModel):
    id: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    points: int = Field(ge=1, description="points one repair by this means restores, at most")
    max_per_period: int = Field(ge=1, description="points this means restores per period")
    clause: str = Field(min_length=1)
    text: str = ""


class RepairRules(PolicyModel):
    """记分修复: points restored within a period, never below zero deducted. A repair
    lowers the period's points for what comes after it; it never undoes an action already
    taken (a suspension served, a termination) and nothing is repaired in a period whose
    points ended the qualification (``after_termination = false``)."""

    means: tuple[RepairMeans, ...] = Field(min_length=1, strict=False)
    max_per_period: int = Field(ge=1)
    after_termination: bool = False
    clause: str = Field(min_length=1)
    text: str = ""

    def of(self, means_id: str) -> RepairMeans | None:
        return next((m for m in self.means if m.id == means_id), None)


def degree_range(
    rules: tuple[DegreeRule, ...], degree: str, low: int, high: int, ceiling: int
) -> tuple[int, int] | None:
    """The points allowed for an item of ``[low, high]`` at ``degree``; None when the
    policy has no such degree (or the degree leaves nothing)."""
    rule = next((r for r in rules if r.id == degree), None)
    if rule is None:
        return None
    lo, hi = max(low + rule.low_shift, 1), min(high + rule.high_shift, ceiling)
    return (lo, hi) if lo <= hi else None


def coverage_problem(
    staff: StaffRules, policy_id: str, category: str, institution_code: str
) -> tuple[str, str] | None:
    """(field, message) when a policy does not cover this person at this institution:
    the institution's kind (``H``/``P``), the person's category, and a pharmacy's head
    only at a pharmacy."""
    kind = institution_code[:1]
    if kind not in staff.institutions:
        return "institution_code", f"{policy_id} 不适用于 {kind} 类定点机构"
    if category not in staff.categories:
        name = CATEGORY_NAMES.get(category, category)
        return "physician_code", f"{policy_id} 不适用于{name}人员"
    if category == "pharmacy_head" and kind != "P":
        return "institution_code", "定点零售药店主要负责人只在定点零售药店 (P) 登记"
    return None

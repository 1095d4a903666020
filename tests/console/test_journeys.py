"""The operator console in a real headless Chromium: an operator's day, end to end.

Each step is what a person does in the browser; the hot path is then asked, over HTTP,
what it now decides for the physician's fee lines.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from app.core.dates import months_span
from tests.console.browser import ADMIN_TOKEN, Page, Product
from tests.console.support import (
    TODAY,
    checked,
    follow,
    fresh_physician,
    post_json,
    sign_in,
    submit,
    validate,
    visit,
    wait_for,
)

LANZHOU_HOSPITAL = "H62010000001"
HANGZHOU_HOSPITAL = "H33010200001"


def _record_lanzhou_violation(page: Page, code: str) -> None:
    """记录违规: item 14.1 (1–3 points, here 1) on top of 5 points reaches lanzhou-2014
    第十七条's 6 points: a 3-month suspension, previewed first."""
    submit(page, "a.button.primary[href$='/violations/new']")
    page.find("input[name=item][value='14.1']").click()
    page.fill("#points", "1")
    page.fill("#occurred_on", (TODAY - timedelta(days=3)).isoformat())
    page.fill("#decided_on", TODAY.isoformat())
    page.find("#btn-preview").click()
    end = months_span(TODAY, 3)
    wait_for(page, "[data-testid=preview]", f"暂停 {TODAY} 至 {end}")
    assert "lanzhou-2014 第十七条" in page.find("[data-testid=preview]").text
    checked(page, "05-violation-preview")
    submit(page, "#btn-commit")
    assert f"已暂停 {TODAY} 至 {end}" in page.find(".flash.ok").text


def test_operator_day(product: Product, page: Page) -> None:
    code = fresh_physician(product, 1, LANZHOU_HOSPITAL)
    with product.api() as api:
        post_json(
            api,
            "/admin/v1/violations",
            {
                "physician_code": code,
                "region": "620100",
                "item": "13.1",
                "occurred_on": (TODAY - timedelta(days=40)).isoformat(),
                "decided_on": (TODAY - timedelta(days=30)).isoformat(),
            },
        )
    visit(page, "/console/login", "01-login")
    sign_in(page, ADMIN_TOKEN)
    checked(page, "02-dashboard")

    # 医师: find the physician by name (htmx results as one types), open the page.
    visit(page, "/console/physicians", "03-physician-search-empty")
    page.fill("#q", "测试医师1")
    wait_for(page, "#results a", "测试医师1")
    checked(page, "03-physician-search")
    submit(page, f"#results a[href='/console/physicians/{code}']")
    checked(page, "04-physician")

    # 记录违规 with a preview; nothing is written until it is committed.
    _record_lanzhou_violation(page, code)
    checked(page, "06-physician-suspended")
    assert "暂停中" in page.text()

    # 机构: mint an HIS token (shown once) and ask the hot path about a line inside.
    visit(page, f"/console/institutions/{LANZHOU_HOSPITAL}", "07-institution")
    submit(page, f"form[action='/console/institutions/{LANZHOU_HOSPITAL}/tokens'] button")
    his = page.find("#minted-token").text.strip()
    checked(page, "07-institution-token-minted")
    inside = TODAY.isoformat()  # a service date at most a day ahead (else 422)
    decided = validate(product, his, LANZHOU_HOSPITAL, code, inside)
    assert decided["lines"][0] == {
        "line_id": "1",
        "decision": "reject",
        "reason": "AGREEMENT_SUSPENDED",
        "field": "physician_code",
    }

    # 结算查询: the hospital asks why; the decision log answers line by line.
    page.go(f"/console/settlements?q={decided['settlement_id']}")
    for _ in range(40):
        if "医师协议暂停" in page.text():
            break
        page.go(f"/console/settlements?q={decided['settlement_id']}")
    assert "AGREEMENT_SUSPENDED" in page.text()
    basis = page.find("td .fact").text  # the fact behind the verdict, and what caused it
    assert "医师协议暂停" in basis and "lanzhou-2014 第十七条" in basis
    checked(page, "08-settlement")

    _decide_pending_zhejiang(product, page)

    # 异议: file, see what upholding would undo, uphold; the suspension is gone.
    page.go(f"/console/physicians/{code}")
    follow(page, page.finds("table.data a[href^='/console/violations/']")[-1])
    assert "14.1" in page.find("h1").text
    page.fill("#filed_on", TODAY.isoformat())
    page.fill("#grounds", "扣分所依据的处方系他人冒用编码开具")
    submit(page, "form[action$='/objection'] button")
    assert "已登记异议" in page.find(".flash.ok").text
    wait_for(page, "[data-testid=reversal]", "撤销")
    assert "暂停协议" in page.find("[data-testid=reversal]").text
    checked(page, "10-objection-reversal-preview")
    page.find("input[name=upheld][value=true]").click()
    submit(page, "form[action$='/objection/decision'] button")
    assert "异议成立" in page.find(".flash.ok").text
    assert "暂停协议" in page.find(".flash.ok").text
    checked(page, "11-objection-upheld")

    visit(page, f"/console/physicians/{code}", "12-physician-restored")
    assert "暂停中" not in page.text()
    again = validate(product, his, LANZHOU_HOSPITAL, code, inside)
    assert again["lines"][0]["decision"] == "accept"

    for path, name in (
        ("/console/", "13-dashboard-after"),
        ("/console/objections", "14-objections"),
        ("/console/resumptions", "15-resumptions"),
        ("/console/institutions", "16-institutions"),
        ("/console/audit?action=objection", "17-audit"),
        ("/console/calendar", "18-calendar"),
        ("/docs", "19-api-docs"),
    ):
        visit(page, path, name, axe=not path.startswith("/docs"))
    assert "决定异议" in _text(product, page, "/console/audit?action=objection")


def _text(product: Product, page: Page, path: str) -> str:
    page.go(path)
    return page.text()


def _decide_pending_zhejiang(product: Product, page: Page) -> None:
    """待决事项: zhejiang-2014 三（二） leaves 1–3 months to the agency at 9 points."""
    code = fresh_physician(product, 2, HANGZHOU_HOSPITAL)
    with product.api() as api:
        for item in ("2.1", "3.1", "3.2"):
            post_json(
                api,
                "/admin/v1/violations",
                {
                    "physician_code": code,
                    "region": "330100",
                    "item": item,
                    "occurred_on": (TODAY - timedelta(days=20)).isoformat(),
                    "decided_on": (TODAY - timedelta(days=10)).isoformat(),
                },
            )
        pending = api.get("/admin/v1/actions", params={"status": "pending", "physician": code})
        action = pending.json()["items"][0]
    visit(page, "/console/actions", "09-pending-actions")
    form = f"form[action='/console/actions/{action['id']}/decide']"
    page.find(f"{form} input[name=approve][value=true]").click()
    page.find(f"{form} select[name=months] option[value='2']").click()
    submit(page, f"{form} button")
    end = months_span(TODAY, 2)
    assert f"已暂停 {TODAY} 至 {end}" in page.find(".flash.ok").text
    checked(page, "09-pending-action-decided")


SCHEDULE_2099 = """\
year = 2099
source = "国务院办公厅关于2099年部分节假日安排的通知（测试）"
[[holidays]]
name = "元旦"
from = 2099-01-01
to = 2099-01-03
[[holidays]]
name = "春节"
from = 2099-01-20
to = 2099-01-26
[[workdays]]
name = "春节调休上班"
date = 2099-01-18
"""


def test_calendar_year_loaded_from_a_file(product: Product, page: Page, tmp_path: Path) -> None:
    """工作日历: a year not shipped is provisional until its schedule is loaded."""
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/calendar?year=2099", "28-calendar-2099-provisional")
    assert "未载入" in page.find("h1").text
    bad = tmp_path / "bad.toml"
    bad.write_text('source = "no year"\n', encoding="utf-8")
    page.find("#file").send_keys(str(bad))
    submit(page, "form[action='/console/calendar'] button")
    assert "年份" in page.find(".field.has-error .error").text
    checked(page, "28-calendar-load-refused", status=422)
    good = tmp_path / "2099.toml"
    good.write_text(SCHEDULE_2099, encoding="utf-8")
    page.find("#file").send_keys(str(good))
    submit(page, "form[action='/console/calendar'] button")
    assert "已载入 2099 年节假日安排" in page.find(".flash.ok").text
    assert "已载入" in page.find("h1").text
    checked(page, "29-calendar-2099-loaded")
    # 2099-01-18 is a Sunday worked (调休); 2099-01-21 a holiday Wednesday.
    cells = {c.text: c.get_attribute("class") for c in page.finds("table.month:first-of-type td")}
    assert "work" in (cells.get("18") or "") and "rest" in (cells.get("21") or "")


ROSTER_HEADER = "certificate_no,name,national_code,institution_code,starts_on,ends_on"


def _roster(path: Path, *rows: str) -> str:
    path.write_text("\n".join([ROSTER_HEADER, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_roster_import_with_errors_then_clean(product: Product, page: Page, tmp_path: Path) -> None:
    """名册导入 (lanzhou-2014 第六条（四）): a file with errors is reported row by row and
    refused whole; the corrected file is checked, then imported."""
    cert = "62010219800101{:013d}".format
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/imports", "30-import")
    bad = _roster(
        tmp_path / "bad.csv",
        f"{cert(501)},名册医师甲,,H62010000001,2026-01-01,",
        "12345,名册医师乙,,H62010000001,2026-01-01,",
        f"{cert(503)},名册医师丙,,H99999999999,2026-01-01,",
    )
    page.find("#file").send_keys(bad)
    page.find("#btn-check").click()
    wait_for(page, "[data-testid=import-report]", "检查结果")
    report = page.find("[data-testid=import-report]").text
    assert "certificate_no" in report and "institution_code" in report
    checked(page, "31-import-dry-run-errors")
    page.find("#btn-import").click()
    wait_for(page, "[data-testid=import-report]", "未导入")
    checked(page, "32-import-refused", status=422)
    with product.api() as api:
        assert api.get("/admin/v1/physicians", params={"q": "名册医师"}).json()["items"] == []

    good = _roster(
        tmp_path / "good.csv",
        f"{cert(501)},名册医师甲,,H62010000001,2026-01-01,",
        f"{cert(502)},名册医师乙,,H62010000002,2026-01-01,",
    )
    page.find("#file").send_keys(good)
    page.find("#btn-check").click()
    wait_for(page, "[data-testid=import-report]", "全部 2 行无误")
    checked(page, "33-import-dry-run-clean")
    old = page.find("html")
    page.find("#btn-import").click()
    WebDriverWait(page.driver, 30).until(ec.staleness_of(old))
    assert "新登记 2 名医师、2 份协议" in page.find(".flash.ok").text
    checked(page, "34-import-committed")
    with product.api() as api:
        assert len(api.get("/admin/v1/physicians", params={"q": "名册医师"}).json()["items"]) == 2

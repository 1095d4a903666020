"""The national rules (nhsa-2024 and hainan-2025) in the console, end to end in headless
Chromium: 登记人员 of every category with its national code, 责任程度, 记分修复, the
months of the 9-point mandatory suspension, and a region's policy versions. Each form:
the happy path, then a refusal shown in Chinese next to the field it names; an auditor
sees none of the forms and a region operator none outside its region.

Sources (docs/staff-and-national-rules.md): 医保发〔2024〕23号 (categories, 记分档次, 一个
自然年度内记分达到9分的暂停其医保支付资格1-6个月, 负有责任程度), 医保办函〔2022〕39号 (HY/HJ
codes), 海南细则 (记分修复: 培训 2 分一次, 每周期 4 分; 共 5 分)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from selenium.webdriver.support.ui import Select

from tests.console.browser import ADMIN_TOKEN, Page, Product
from tests.console.support import (
    TODAY,
    checked,
    post_json,
    sign_in,
    submit,
    token,
    visit,
    wait_for,
)
from tests.console.test_access import forge

HAIKOU = "460100"  # hainan-2025: degrees, repair, the 9-point suspension
SANYA = "460200"  # nhsa-2024: the region whose policy is switched
HAIKOU_HOSPITAL = "H46010000001"
HANGZHOU_HOSPITAL = "H33010200001"
LANZHOU_HOSPITAL = "H62010000001"


def _region(api: Any, code: str, name: str, policy: str) -> None:
    if api.get(f"/admin/v1/regions/{code}").status_code == 404:
        post_json(api, "/admin/v1/regions", {"code": code, "name": name, "policy": policy})


def _hainan(product: Product) -> None:
    """海口 under hainan-2025 with one hospital, and 三亚 under nhsa-2024 (once)."""
    with product.api() as api:
        _region(api, HAIKOU, "海口市", "hainan-2025")
        _region(api, SANYA, "三亚市", "nhsa-2024")
        if api.get(f"/admin/v1/institutions/{HAIKOU_HOSPITAL}").status_code == 404:
            body = {
                "code": HAIKOU_HOSPITAL,
                "name": "海南省人民医院",
                "region": HAIKOU,
                "agreement_starts_on": "2025-01-01",
            }
            post_json(api, "/admin/v1/institutions", body)


def _staff(product: Product, n: int, *institutions: str) -> str:
    """A new physician with an agreement from 2025-01-01 at each institution."""
    _hainan(product)
    cert = f"4601011990{n:017d}"
    with product.api() as api:
        code = str(
            post_json(
                api, "/admin/v1/physicians", {"certificate_no": cert, "name": f"海南医师{n}"}
            )["code"]
        )
        for inst in institutions:
            post_json(
                api,
                "/admin/v1/agreements",
                {"physician_code": code, "institution_code": inst, "starts_on": "2025-01-01"},
            )
    return code


def _deduct(product: Product, code: str, item: str, points: int, decided: str) -> Any:
    with product.api() as api:
        return post_json(
            api,
            "/admin/v1/violations",
            {
                "physician_code": code,
                "region": HAIKOU,
                "item": item,
                "points": points,
                "occurred_on": decided,
                "decided_on": decided,
            },
        )


def _no_write_forms(page: Page, product: Product, path: str, name: str) -> None:
    page.go(path)
    posts = [f.get_attribute("action") for f in page.finds("form[method=post]")]
    assert posts == [product.base + "/console/logout"], (path, posts)
    checked(page, name)


def test_register_staff_of_a_category(product: Product, page: Page) -> None:
    """指导意见: 相关人员 beyond physicians; 编码: N 医保护士代码."""
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/physicians", "nr-01-register-form")
    page.find("#register summary").click()
    names = [o.text for o in Select(page.find("#category")).options]
    kinds = ["医师", "护士", "药师", "技术人员", "药店主要负责人"]
    assert [n.split("（")[0] for n in names] == kinds
    # A nurse carrying a D code: refused, next to the national code, in Chinese.
    Select(page.find("#category")).select_by_value("nurse")
    page.fill("#name", "海南护士")
    page.fill("#certificate_no", "460101199000000000000000901")
    page.fill("#national_code", "D460100000901")
    submit(page, "#register button[type=submit]")
    assert page.find("#national_code-err").text == "护理类人员的编码以 N 开头"
    assert "国家医保信息业务编码：护理类人员的编码以 N 开头" in page.find(".flash.err").text
    checked(page, "nr-02-register-refused", status=422)
    with product.api() as api:
        assert api.get("/admin/v1/physicians/YB460101199000000000000000901").status_code == 404
    # The form kept what was typed: correct the code only.
    assert Select(page.find("#category")).first_selected_option.get_attribute("value") == "nurse"
    page.fill("#national_code", "N460100000901")
    submit(page, "#register button[type=submit]")
    assert page.driver.current_url.endswith("/console/physicians/YB460101199000000000000000901")
    assert page.find("[data-testid=category]").text == "护士"
    assert "已登记护士 海南护士" in page.find(".flash.ok").text
    assert "N460100000901" in page.text()
    checked(page, "nr-03-registered-nurse")
    page.go("/console/physicians?q=N460100000901")
    assert "护士" in page.find("#results table").text
    with product.api() as api:
        got = api.get("/admin/v1/physicians/YB460101199000000000000000901").json()
    assert (got["national_code"], got["category"]) == ("N460100000901", "nurse")


def _violation_form(page: Page, code: str, region: str, item: str, points: str) -> None:
    page.go(f"/console/physicians/{code}/violations/new?region={region}")
    page.find(f"input[name=item][value='{item}']").click()
    page.fill("#points", points)
    page.fill("#occurred_on", TODAY.isoformat())
    page.fill("#decided_on", TODAY.isoformat())


def test_a_degree_is_recorded_and_shown(product: Product, page: Page) -> None:
    """指导意见: points follow 负有责任程度; hainan-2025 从重 lifts the band's lowest point."""
    code = _staff(product, 902, HAIKOU_HOSPITAL, LANZHOU_HOSPITAL)
    sign_in(page, ADMIN_TOKEN)
    # lanzhou-2014 has no degrees: 从轻 is refused next to 责任程度, in Chinese.
    _violation_form(page, code, "620100", "14.1", "1")
    Select(page.find("#degree")).select_by_value("lighter")
    submit(page, "#btn-commit")
    assert page.find("#degree-err").text == "lanzhou-2014 对条款 14.1 不适用该责任程度"
    assert "该政策不允许此责任程度" in page.find(".flash.err").text
    checked(page, "nr-04-degree-refused", status=422)
    # hainan-2025 从重 on 1-3: 2 points allowed, recorded and shown.
    _violation_form(page, code, HAIKOU, "1-3", "2")
    Select(page.find("#degree")).select_by_value("heavier")
    submit(page, "#btn-commit")
    assert "已记录违规 1-3，扣 2 分" in page.find(".flash.ok").text
    page.find("a[href^='/console/violations/']").click()
    assert page.find("[data-testid=degree]").text == "从重"
    checked(page, "nr-05-violation-heavier")


def test_repairs_within_the_policy_limits(product: Product, page: Page) -> None:
    """海南细则 记分修复: 培训 at most 2 points a time; none under zhejiang-2014."""
    code = _staff(product, 903, HAIKOU_HOSPITAL, HANGZHOU_HOSPITAL)
    _deduct(product, code, "4-6", 4, (TODAY - timedelta(days=3)).isoformat())
    sign_in(page, ADMIN_TOKEN)
    page.go(f"/console/physicians/{code}")
    page.find("#repair summary").click()
    assert page.find("#repair-period").get_attribute("value") == str(TODAY.year)
    Select(page.find("#repair-means")).select_by_value("training")
    page.fill("#repair-points", "2")
    page.fill("#repair-note", "参加医保政策培训并考试合格")
    submit(page, "#repair button[type=submit]")
    assert "已修复 2 分" in page.find(".flash.ok").text
    rows = page.finds("#repair table tbody tr")
    assert len(rows) == 1 and "参加医保政策法规培训并考试合格" in rows[0].text
    archive = page.find(".timeline-list").text  # the 诚信档案
    assert f"记分修复 参加医保政策法规培训并考试合格，修复 2 分（{TODAY.year} 周期）" in archive
    checked(page, "nr-06-repaired")
    # Beyond one repair's limit: REPAIR_LIMIT next to the points, in Chinese.
    page.find("#repair summary").click()
    Select(page.find("#repair-means")).select_by_value("training")
    page.fill("#repair-points", "3")
    submit(page, "#repair button[type=submit]")
    assert "每次最多修复 2 分" in page.find("#repair-points-err").text
    assert "超出记分修复限额" in page.find("#repair .flash.err").text
    checked(page, "nr-07-repair-limit", status=422)
    # zhejiang-2014 has no repair: REPAIR_NOT_ALLOWED next to the region.
    Select(page.find("#repair-region")).select_by_value("330100")
    Select(page.find("#repair-means")).select_by_value("training")
    page.fill("#repair-points", "1")
    submit(page, "#repair button[type=submit]")
    assert "未规定记分修复" in page.find("#repair-region-err").text
    checked(page, "nr-08-repair-not-allowed", status=422)
    with product.api() as api:
        points = api.get(f"/admin/v1/physicians/{code}").json()["points"]
    assert [p["deducted"] for p in points if p["policy"] == "hainan-2025"] == [2]


def test_months_of_the_mandatory_suspension(product: Product, page: Page) -> None:
    """指导意见: 记分达到9分的暂停其医保支付资格1-6个月 — mandatory; the months chosen within
    10 working days of the deduction (hainan-2025 deadlines.suspension_months)."""
    late = _staff(product, 904, HAIKOU_HOSPITAL)
    _deduct(product, late, "7-9", 9, (TODAY - timedelta(days=40)).isoformat())
    code = _staff(product, 905, HAIKOU_HOSPITAL)
    sign_in(page, ADMIN_TOKEN)
    # Recorded in the console: applied at once, the months still to choose.
    _violation_form(page, code, HAIKOU, "7-9", "9")
    page.find("#btn-preview").click()
    wait_for(page, "#preview .consequences", "可在期限内于待决事项选择 1–6 个月")
    submit(page, "#btn-commit")
    assert "暂停月数（1–6 个月）待在期限内选择" in page.find(".flash.ok").text
    with product.api() as api:
        open_ = api.get("/admin/v1/actions", params={"months_open": "true", "physician": code})
    [action] = open_.json()["items"]
    assert action["status"] == "applied"
    # The 工作台 and the physician's page point to the choice still open.
    visit(page, "/console/", "nr-09a-dashboard-months")
    assert page.finds(f"a[href='/console/actions#months-{action['id']}']")
    page.go(f"/console/physicians/{code}")
    submit(page, f"a[href='/console/actions#months-{action['id']}']")
    checked(page, "nr-09-months-open")
    card = page.find(f"#months-{action['id']}")
    assert "选择期限" in card.text
    assert card.find_elements("css selector", "[data-testid=months-due]")
    buttons = [b.text for b in card.find_elements("css selector", "button")]
    assert buttons == ["选定暂停月数"]  # no decline
    assert [o.text for o in Select(page.find(f"#months-{action['id']}-months")).options] == [
        f"{m} 个月" for m in range(1, 7)
    ]
    # Past the deadline: refused next to 决定日, in Chinese; the default stands.
    with product.api() as api:
        late_action = next(
            a
            for a in api.get(
                "/admin/v1/actions", params={"months_open": "true", "limit": 500}
            ).json()["items"]
            if a["physician_code"] == late
        )
    lid = late_action["id"]
    Select(page.find(f"#months-{lid}-months")).select_by_value("4")
    submit(page, f"#months-{lid} button[type=submit]")
    assert page.find(f"#months-{lid}-decided_on-err").text
    assert "已过暂停月数选择期限" in page.find(f"#months-{lid} .flash.err").text
    checked(page, "nr-10-months-late", status=422)
    # In time: 3 months, the suspension's end rewritten.
    Select(page.find(f"#months-{action['id']}-months")).select_by_value("3")
    submit(page, f"#months-{action['id']} button[type=submit]")
    assert "已选定暂停 3 个月" in page.find(".flash.ok").text
    assert page.finds(f"#months-{action['id']}") == []
    checked(page, "nr-11-months-chosen")
    with product.api() as api:
        got = api.get(f"/admin/v1/actions/{action['id']}").json()
    assert got["months"] == 3 and got["status"] == "applied"


def test_policy_versions_previewed_then_switched(product: Product, page: Page) -> None:
    """A region's policy switched from a date; a preview first, nothing written by it."""
    _hainan(product)
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/regions", "nr-12-regions")
    assert "三亚市" in page.text()
    visit(page, f"/console/regions/{SANYA}", "nr-13-region")
    start = (TODAY + timedelta(days=30)).isoformat()
    Select(page.find("#policy")).select_by_value("hainan-2025")
    page.fill("#effective_from", start)
    submit(page, "#btn-preview")
    preview = page.find("[data-testid=switch-preview]").text
    assert f"自 {start} 起" in preview and "记分修复" in preview
    assert "达到 9 分：暂停协议（自动执行）" in preview
    checked(page, "nr-14-switch-preview")
    with product.api() as api:
        assert len(api.get(f"/admin/v1/regions/{SANYA}/policies").json()) == 1  # nothing yet
    submit(page, "#btn-commit")
    assert f"自 {start} 起执行" in page.find(".flash.ok").text
    versions = page.find("[data-testid=versions]").text
    assert "设立时起" in versions and f"{start} 起" in versions and "尚未生效" in versions
    checked(page, "nr-15-switched")
    # The same date again: refused in Chinese.
    Select(page.find("#policy")).select_by_value("nhsa-2024")
    page.fill("#effective_from", start)
    submit(page, "#btn-preview")
    assert "该日期的政策版本已存在" in page.find("#switch .flash.err").text
    checked(page, "nr-16-switch-refused", status=409)
    with product.api() as api:
        got = api.get(f"/admin/v1/regions/{SANYA}/policies").json()
    assert [v["policy"] for v in got][-1] == "hainan-2025" and len(got) == 2


def test_auditor_and_other_regions_see_no_form(product: Product, page: Page) -> None:
    code = _staff(product, 906, HAIKOU_HOSPITAL)
    created = _deduct(product, code, "7-9", 9, TODAY.isoformat())
    sign_in(page, token(product, "auditor"))
    for n, path in enumerate(
        [
            "/console/physicians",
            f"/console/physicians/{code}",
            f"/console/violations/{created['id']}",
            "/console/actions",
            "/console/regions",
            f"/console/regions/{HAIKOU}",
        ]
    ):
        _no_write_forms(page, product, path, f"nr-17-auditor-{n}")
    # ... and the server refuses what is not offered (a forged POST, valid CSRF: 403).
    suspension = next(a for a in created["actions"] if a["type"] == "suspend")
    months = {"months": "2", "decided_on": TODAY.isoformat()}
    repair = {
        "region": HAIKOU,
        "period": str(TODAY.year),
        "points": "1",
        "means": "training",
        "decided_on": TODAY.isoformat(),
    }
    switch = {"policy": "nhsa-2024", "effective_from": "2030-01-01"}
    person = {"category": "nurse", "name": "伪造", "certificate_no": "460101199000000000000000999"}
    assert forge(page, "/console/physicians", person) == 403
    assert forge(page, f"/console/physicians/{code}/repairs", repair) == 403
    assert forge(page, f"/console/actions/{suspension['id']}/months", months) == 403
    assert forge(page, f"/console/regions/{HAIKOU}/policy", switch) == 403
    assert forge(page, f"/console/regions/{HAIKOU}/policy", {**switch, "_intent": "commit"}) == 403
    # 兰州's operator: no repair, no months for 海口; no policy switch anywhere.
    sign_in(page, token(product, "operator", "620100"))
    assert forge(page, f"/console/physicians/{code}/repairs", repair) == 403
    assert forge(page, f"/console/actions/{suspension['id']}/months", months) == 403
    page.go(f"/console/physicians/{code}")
    assert page.finds(f"form[action='/console/physicians/{code}/repairs']") == []
    page.go("/console/actions")
    assert page.finds("form[action$='/months']") == [] and code not in page.text()
    page.go(f"/console/regions/{HAIKOU}")
    assert page.finds("form[action$='/policy']") == []
    checked(page, "nr-18-operator-elsewhere")
    # 海口's operator: the months form for its own region.
    sign_in(page, token(product, "operator", HAIKOU))
    visit(page, "/console/actions", "nr-19-operator-haikou")
    assert page.finds("form[action$='/months']")

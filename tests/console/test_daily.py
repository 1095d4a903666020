"""A working day in the console, as an agency operator, an auditor and a superuser meet it
(headless Chromium over the demo data's working week): refusals in Chinese naming the
field, one date per fact on every page, queues of one's own region, an auditor offered
no write, a readable audit log, national codes, safe forms and sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

import httpx

from tests.console.browser import ADMIN_TOKEN, Page, Product
from tests.console.support import (
    TODAY,
    checked,
    fresh_physician,
    post_json,
    sign_in,
    submit,
    token,
    visit,
    wait_for,
)

LANZHOU_HOSPITAL = "H62010000001"
HANGZHOU_HOSPITAL = "H33010200001"
NATIONAL = "D330100000010"  # the demo's national alias of YB330102198000000000000000010
OWN_CODE = "YB330102198000000000000000010"


def _violation_form(page: Page, code: str, item: str, points: str, occurred: str) -> None:
    page.go(f"/console/physicians/{code}/violations/new")
    page.find(f"input[name=item][value='{item}']").click()
    page.fill("#points", points)
    page.fill("#occurred_on", occurred)
    page.fill("#decided_on", TODAY.isoformat())


def test_refusals_are_in_chinese_and_name_the_field(product: Product, page: Page) -> None:
    code = fresh_physician(product, 70, LANZHOU_HOSPITAL)
    sign_in(page, ADMIN_TOKEN)
    # Decided before it occurred: the message names 决定日期 and 违规发生日期.
    _violation_form(page, code, "14.1", "1", (TODAY + timedelta(days=0)).isoformat())
    page.fill("#decided_on", (TODAY - timedelta(days=1)).isoformat())
    submit(page, "#btn-commit")
    assert page.find("#decided_on-err").text == "不得早于违规发生日期"
    assert "决定日期：不得早于违规发生日期" in page.find(".flash.err").text
    checked(page, "80-refused-decided-before-occurred", status=422)
    # lanzhou-2014 第十四条: 1-3 points, not 5 — the preview pane answers alone, in Chinese.
    _violation_form(page, code, "14.1", "5", TODAY.isoformat())
    page.find("#btn-preview").click()
    wait_for(page, "#preview .flash.err", "不能扣 5 分")
    assert page.finds("#preview header") == [] and page.finds("#preview nav") == []
    assert len(page.finds("header.top")) == 1
    # A violation dated in the future is refused (the service's rule: API and console).
    future = (TODAY + timedelta(days=3)).isoformat()
    _violation_form(page, code, "14.1", "1", future)
    submit(page, "#btn-commit")
    assert page.find("#occurred_on-err").text == f"不得晚于今天（{TODAY}）"
    body = {"physician_code": code, "region": "620100", "item": "14.1", "points": 1}
    with product.api() as api:
        r = api.post(
            "/admin/v1/violations", json={**body, "occurred_on": future, "decided_on": future}
        )
        assert r.status_code == 422
        assert {e["field"] for e in r.json()["errors"]} == {"occurred_on"}
        # The same problem in Chinese when asked: the field's path kept, its label added.
        zh = api.post(
            "/admin/v1/violations",
            json={**body, "occurred_on": future, "decided_on": future},
            headers={"Accept-Language": "zh-CN"},
        ).json()
        assert zh["errors"][0]["field"] == "occurred_on"
        assert zh["errors"][0]["label"] == "违规发生日期"
        assert zh["type"].endswith("/validation-error")
        points = api.get(f"/admin/v1/physicians/{code}").json()["points"]
        assert all(p["deducted"] == 0 for p in points)  # nothing was recorded
    # No physician: a Chinese page, not "No physician …".
    page.severe_logs()  # the refusals above were logged by the browser (as expected)
    page.go("/console/physicians/YB999999999999999999")
    assert "没有医师 YB999999999999999999" in page.text()
    checked(page, "81-no-physician", status=404)


def test_national_codes_open_the_physician_and_the_audit_log(product: Product, page: Page) -> None:
    sign_in(page, ADMIN_TOKEN)
    visit(page, f"/console/physicians/{NATIONAL}", "82-physician-by-national-code")
    assert page.driver.current_url.endswith(f"/console/physicians/{OWN_CODE}")
    assert NATIONAL in page.text()
    with product.api() as api:
        code = post_json(
            api,
            "/admin/v1/physicians",
            {
                "certificate_no": "330102199000000000000000073",
                "name": "国家代码医师",
                "national_code": "D330100999973",
            },
        )["code"]
    visit(page, "/console/audit?physician=D330100999973", "83-audit-by-national-code")
    assert code in page.text()  # the full 29-character code
    assert len(code) == 29
    assert "登记医师" in page.text()
    assert "\\u" not in page.driver.page_source


def test_queues_are_the_operators_region(product: Product, page: Page) -> None:
    """The demo week has an open objection in each region."""
    sign_in(page, token(product, "operator", "330100"))
    visit(page, "/console/objections", "84-objections-hangzhou")
    hangzhou = page.text()
    visit(page, "/console/", "85-dashboard-hangzhou")
    board = page.text()
    sign_in(page, token(product, "operator", "620100"))
    visit(page, "/console/objections", "86-objections-lanzhou")
    lanzhou = page.text()
    assert "3.1（2 分）" in hangzhou and "14.2（2 分）" not in hangzhou
    assert "14.2（2 分）" in lanzhou and "3.1（2 分）" not in lanzhou
    assert "违规 14.2" not in board
    # the physician search too: the five of 兰州's roster import are 兰州's staff only
    visit(page, "/console/physicians?q=新医师", "86b-search-lanzhou")
    assert "新医师1" in page.text()
    sign_in(page, token(product, "operator", "330100"))
    visit(page, "/console/physicians?q=新医师", "86c-search-hangzhou")
    assert "新医师1" not in page.text()


def test_an_auditor_walks_every_page_and_finds_no_form_that_writes(
    product: Product, page: Page
) -> None:
    sign_in(page, token(product, "auditor"))
    nav = [urlparse(a.get_attribute("href") or "").path for a in page.finds("nav.side a")]
    pages = [p for p in nav if p.startswith("/console/")]
    assert "/console/imports" not in pages and "/console/tokens" not in pages
    with product.api() as api:
        violation = api.get("/admin/v1/violations", params={"limit": 1}).json()["items"][0]
    pages += [
        f"/console/physicians/{OWN_CODE}",
        f"/console/physicians/{OWN_CODE}/violations/new",
        f"/console/violations/{violation['id']}",
        f"/console/institutions/{HANGZHOU_HOSPITAL}",
        f"/console/institutions/{HANGZHOU_HOSPITAL}/gateway",
        "/console/imports",
        "/console/regions/330100",
    ]
    for n, path in enumerate(pages):
        page.go(path)
        posts = [f.get_attribute("action") for f in page.finds("form[method=post]")]
        assert posts == [product.base + "/console/logout"], (path, posts)
        page.shot(f"87-auditor-{n:02d}")


def test_audit_log_filters_and_reads(product: Product, page: Page) -> None:
    code = fresh_physician(product, 71, HANGZHOU_HOSPITAL)  # written today
    sign_in(page, ADMIN_TOKEN)
    visit(page, f"/console/audit?physician={code}", "88-audit-physician")
    rows = page.finds("table.audit > tbody > tr")
    actions = {r.find_element("css selector", "td[data-action]").text for r in rows}
    assert {"登记医师", "签订协议"} <= actions
    assert code in page.text()
    # until is inclusive: today's writes are in a range ending today.
    page.go(f"/console/audit?physician={code}&since={TODAY}&until={TODAY}")
    assert len(page.finds("table.audit > tbody > tr")) == len(rows)
    # The change as a table: Chinese labels, the name as written (no \\u escapes).
    rows = page.finds("table.audit > tbody > tr")
    created = next(r for r in rows if r.text.count("登记医师"))
    created.find_element("css selector", "details summary").click()
    assert "姓名" in page.text() and "测试医师71" in page.text()
    # Bad dates: a message, status 400, never a 500 nor silently ignored.
    page.go("/console/audit?since=2026-13-45&until=2026-02-30")
    assert "审计日志的筛选条件有误" in page.find(".flash.err").text
    assert "不是有效日期" in page.find("#f-since-err").text
    assert "不是有效日期" in page.find("#f-until-err").text
    checked(page, "89-audit-bad-dates", status=400)


def test_forms_and_sessions(product: Product, page: Page) -> None:
    sign_in(page, ADMIN_TOKEN)
    # 签发 HIS 令牌 is Post/Redirect/Get: a reload mints nothing and shows the token no more.
    with product.api() as api:
        before = len(api.get("/admin/v1/tokens", params={"limit": 500}).json()["items"])
    page.go(f"/console/institutions/{HANGZHOU_HOSPITAL}")
    submit(page, f"form[action='/console/institutions/{HANGZHOU_HOSPITAL}/tokens'] button")
    assert page.find("#minted-token").text.startswith("ybh_")
    minted_id = re.search(r"[0-9a-f-]{36}", page.find(".flash.minted .small").text)
    assert minted_id is not None
    assert minted_id.group(0) in page.text()  # full ids in the list
    page.driver.refresh()
    assert page.finds("#minted-token") == []
    with product.api() as api:
        assert len(api.get("/admin/v1/tokens", params={"limit": 500}).json()["items"]) == before + 1
    # 吊销 asks first.
    page.find(f"a[href='/console/tokens/{minted_id.group(0)}/revoke']").click()
    assert page.find("#confirm").get_attribute("required") is not None
    checked(page, "90-revoke-confirm")
    # A GET on a POST-only address: a Chinese page.
    page.go("/console/logout")
    assert "不支持该请求方式" in page.text() and "只接受表单提交" in page.text()
    checked(page, "91-method-not-allowed", status=405)
    # The session cookie dies with the browser; pages are never cached.
    cookie = page.driver.get_cookie("ybgate_console")
    assert cookie is not None and "expiry" not in cookie
    jar = {"ybgate_console": cookie["value"]}
    r = httpx.get(product.base + f"/console/physicians/{OWN_CODE}", cookies=jar)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    # Sign-out ends the session on the server: the old cookie opens nothing.
    page.go("/console/")
    submit(page, "form[action='/console/logout'] button")
    r = httpx.get(product.base + f"/console/physicians/{OWN_CODE}", cookies=jar)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_superuser_issues_an_operator_token_that_signs_in(product: Product, page: Page) -> None:
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/tokens", "92-tokens")
    page.find("#role").send_keys("经办人员")
    page.find("#region").send_keys("330100")
    page.fill("#label", "杭州经办 张三")
    submit(page, "form[action='/console/tokens'] button")
    minted = page.find("#minted-token").text
    assert minted.startswith("ybo_")
    checked(page, "93-token-minted")
    sign_in(page, minted)
    assert "经办人员" in page.find(".who").text


def test_the_first_run_looks_like_a_working_week(product: Product, page: Page) -> None:
    sign_in(page, ADMIN_TOKEN)
    visit(page, "/console/", "94-first-run-dashboard")
    tiles = page.text()
    assert "没有待决事项" not in tiles and "没有待决定的异议" not in tiles
    assert page.finds("svg rect, svg path")  # the rejections chart has bars
    visit(page, "/console/imports", "95-imports")
    visit(page, "/console/audit?action=roster.import", "96-audit-import")
    assert "名册导入" in page.text()


def test_one_suspension_one_set_of_dates(product: Product, page: Page) -> None:
    """zhejiang-2014 三（二）: 9 points leave 1–3 months to the agency; approved, the
    suspension shows the same first and last day on every page and in the API."""
    code = fresh_physician(product, 72, HANGZHOU_HOSPITAL)
    occurred = (TODAY - timedelta(days=10)).isoformat()
    decided = (TODAY - timedelta(days=9)).isoformat()
    with product.api() as api:
        for item in ("2.1", "3.1", "4.1"):
            created = post_json(
                api,
                "/admin/v1/violations",
                {
                    "physician_code": code,
                    "region": "330100",
                    "item": item,
                    "occurred_on": occurred,
                    "decided_on": decided,
                },
            )
        pending = next(a for a in created["actions"] if a["status"] == "pending")
        approved_on = (TODAY - timedelta(days=8)).isoformat()
        post_json(
            api,
            f"/admin/v1/actions/{pending['id']}/decide",
            {"approve": True, "months": 3, "decided_on": approved_on},
            status=200,
        )
        standing = api.get(f"/admin/v1/physicians/{code}").json()
    susp = standing["agreements"][0]["suspensions"][0]
    first = susp["starts_on"]
    assert first == approved_on
    sign_in(page, ADMIN_TOKEN)
    visit(page, f"/console/physicians/{code}", "97-dates-physician")
    text = page.text()
    last = re.search(rf"{first} 至 (\d{{4}}-\d\d-\d\d)", text)
    assert last is not None, text
    assert f"{first} {last.group(1)}" in text.replace("（期满须经批准恢复）", "").replace("  ", " ")
    visit(page, "/console/resumptions", "98-dates-resumptions")
    assert f"{first} 至 {last.group(1)}" in page.text()
    visit(page, "/console/", "99-dates-dashboard")
    assert f"暂停 {first} 至 {last.group(1)}" in page.text()

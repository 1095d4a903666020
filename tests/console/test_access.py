"""Who may do what in the console: what a role may not do is not offered, and the server
refuses it anyway (a forged POST with a valid session and CSRF token gets 403)."""

from __future__ import annotations

from typing import Any

from tests.console.browser import ADMIN_TOKEN, Page, Product
from tests.console.support import (
    TODAY,
    checked,
    fresh_physician,
    sign_in,
    submit,
    token,
    visit,
)

FORGE = """
const [url, fields, done] = arguments;
const body = new URLSearchParams(fields);
body.set('csrf', document.querySelector('form[action="/console/logout"] input[name=csrf]').value);
fetch(url, {method: 'POST', body, credentials: 'same-origin', redirect: 'manual'})
  .then(r => done(r.status)).catch(e => done(String(e)));
"""


def forge(page: Page, url: str, fields: dict[str, str]) -> Any:
    """POST like a hand-made form would, with the session's own valid CSRF token."""
    status = page.driver.execute_async_script(FORGE, url, fields)
    logged = page.severe_logs()  # the refusal itself is logged by the browser; only that
    assert all(" 403 " in line for line in logged), logged
    return status


def _agreement_of(product: Product, code: str) -> dict[str, Any]:
    with product.api() as api:
        standing = api.get(f"/admin/v1/physicians/{code}").json()
    agreement: dict[str, Any] = standing["agreements"][0]
    return agreement


SUSPEND = {"starts_on": "2026-12-01", "ends_on": "2027-02-28", "reason": "伪造的请求"}


def test_auditor_sees_no_write_controls_and_a_forged_post_is_refused(
    product: Product, page: Page
) -> None:
    code = fresh_physician(product, 11, "H33010200002")
    agreement = _agreement_of(product, code)
    sign_in(page, token(product, "auditor"))
    visit(page, f"/console/physicians/{code}", "20-auditor-physician")
    assert page.finds("a[href$='/violations/new']") == []
    posts = [f.get_attribute("action") for f in page.finds("form[method=post]")]
    assert posts == [product.base + "/console/logout"]
    visit(page, "/console/institutions/H33010200002", "21-auditor-institution")
    assert page.finds("form[action$='/tokens']") == []

    assert forge(page, f"/console/agreements/{agreement['id']}/suspend", SUSPEND) == 403
    violation = {
        "_intent": "commit",
        "region": "330100",
        "item": "2.1",
        "occurred_on": TODAY.isoformat(),
        "decided_on": TODAY.isoformat(),
    }
    assert forge(page, f"/console/physicians/{code}/violations", violation) == 403
    assert forge(page, "/console/institutions/H33010200002/tokens", {}) == 403
    assert _agreement_of(product, code)["suspensions"] == []
    with product.api() as api:
        assert api.get("/admin/v1/violations", params={"physician": code}).json()["items"] == []


def test_operator_writes_only_in_its_region(product: Product, page: Page) -> None:
    mine = fresh_physician(product, 12, "H33010200002")
    theirs = fresh_physician(product, 13, "H62010000002")
    sign_in(page, token(product, "operator", "330100"))
    visit(page, f"/console/physicians/{theirs}", "22-operator-other-region")
    assert page.finds("a[href$='/violations/new']") == []
    assert page.finds("form[action^='/console/agreements/']") == []
    other = _agreement_of(product, theirs)
    assert forge(page, f"/console/agreements/{other['id']}/suspend", SUSPEND) == 403
    assert _agreement_of(product, theirs)["suspensions"] == []

    visit(page, f"/console/physicians/{mine}", "23-operator-own-region")
    assert page.finds("a[href$='/violations/new']") != []
    own = _agreement_of(product, mine)
    page.find(f"form[action='/console/agreements/{own['id']}/suspend']").find_element(
        "xpath", ".."
    ).click()
    prefix = f"#suspend-{own['id']}-"
    page.fill(prefix + "starts_on", "2026-12-01")
    page.fill(prefix + "ends_on", "2027-02-28")
    page.fill(prefix + "reason", "经办人员暂停")
    submit(page, f"form[action='/console/agreements/{own['id']}/suspend'] button")
    assert "已暂停 2026-12-01 至 2027-02-28" in page.find(".flash.ok").text
    checked(page, "24-operator-suspended")


def test_refused_form_shows_the_problem_next_to_its_field(product: Product, page: Page) -> None:
    code = fresh_physician(product, 14, "H33010200001")
    own = _agreement_of(product, code)
    sign_in(page, ADMIN_TOKEN)
    page.go(f"/console/physicians/{code}")
    page.find(f"form[action='/console/agreements/{own['id']}/suspend']").find_element(
        "xpath", ".."
    ).click()
    prefix = f"#suspend-{own['id']}-"
    page.fill(prefix + "starts_on", "2027-03-01")
    page.fill(prefix + "ends_on", "2027-01-31")
    page.fill(prefix + "reason", "日期颠倒")
    submit(page, f"form[action='/console/agreements/{own['id']}/suspend'] button")
    error = page.find(f"{prefix}ends_on-err")
    # In Chinese, naming the other field by its label (the catalogue's "开始日期").
    assert error.text == "不得早于开始日期（2027-03-01）"
    assert page.find(f"{prefix}ends_on").get_attribute("aria-invalid") == "true"
    assert "填写有误" in page.find(".flash.err").text
    checked(page, "25-form-error", status=422)
    assert _agreement_of(product, code)["suspensions"] == []


def test_session_cookie_csrf_and_sign_out(product: Product, page: Page) -> None:
    visit(page, "/console/login", "26-login-empty")
    page.fill("#token", "yba_not_a_token")
    submit(page, "form[action='/console/login'] button")
    assert page.find("#token-err").text == "令牌无效或已吊销"
    checked(page, "26-login-refused", status=401)

    sign_in(page, ADMIN_TOKEN)
    assert "ybgate_console" not in page.driver.execute_script("return document.cookie")
    cookie = page.driver.get_cookie("ybgate_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    status = page.driver.execute_async_script(
        "const done = arguments[0];"
        "fetch('/console/physicians/YB1/cancel', {method: 'POST', body: new URLSearchParams("
        "{effective_on: '2026-12-01', reason: 'x'})}).then(r => done(r.status));"
    )
    assert status == 403  # no CSRF token
    assert all(" 403 " in line for line in page.severe_logs())
    submit(page, "form[action='/console/logout'] button")
    page.go("/console/")
    assert "/console/login" in page.driver.current_url


def test_api_docs_render_offline(product: Product, page: Page) -> None:
    page.go("/docs")
    page.driver.implicitly_wait(10)
    assert page.find(".swagger-ui .info .title").text.startswith("ybgate")
    page.driver.implicitly_wait(0)
    checked(page, "27-api-docs", axe=False)

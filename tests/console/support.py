"""Steps the console tests share: sign in, visit-and-check, submit-and-wait, API set-up."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import httpx
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from app.core.clock import today
from tests.console.browser import Page, Product

TODAY: date = today()  # the product's "today" (Asia/Shanghai): forms default to it


def checked(page: Page, name: str, *, axe: bool = True, status: int | None = None) -> None:
    """Every page: no JavaScript error, nothing fetched off the loopback, every control
    labelled, axe-core finds nothing critical; then the screenshot. ``status``: the page
    itself was answered with this (expected) HTTP error, which the browser logs."""
    logs = page.severe_logs()
    if status is not None:
        logs = [line for line in logs if f"status of {status} " not in line]
    assert logs == [], f"{name}: browser errors"
    assert page.remote_requests() == [], f"{name}: requests left 127.0.0.1"
    assert page.unlabelled_controls() == [], f"{name}: form controls without a label"
    if axe:
        assert page.axe_critical() == [], f"{name}: axe-core critical violations"
    page.shot(name)


def visit(page: Page, path: str, name: str, *, axe: bool = True) -> None:
    page.go(path)
    checked(page, name, axe=axe)


def _gone(old: WebElement) -> Any:
    """The old page's root is detached. Chromedriver may say so with a stale reference
    or, mid-navigation, with "Node ... does not belong to the document"."""

    def predicate(_: Any) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return predicate


def submit(page: Page, css: str) -> None:
    """Click a submit button and wait for the next page."""
    old = page.find("html")
    page.find(css).click()
    WebDriverWait(page.driver, 30).until(_gone(old))


def follow(page: Page, element: WebElement) -> None:
    """Click a link (or button) and wait for the next page."""
    old = page.find("html")
    element.click()
    WebDriverWait(page.driver, 30).until(_gone(old))


def wait_for(page: Page, css: str, text: str = "", timeout: float = 20) -> None:
    def ready(_: Any) -> bool:
        els = page.finds(css)
        return bool(els) and (not text or any(text in e.text for e in els))

    # An htmx swap may replace an element between finding it and reading it: look again.
    WebDriverWait(page.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        ready
    )


def sign_in(page: Page, token: str) -> None:
    page.go("/console/login")
    page.fill("#token", token)
    submit(page, "form[action='/console/login'] button[type=submit]")
    assert "/console/login" not in page.driver.current_url


def post_json(api: httpx.Client, path: str, body: dict[str, Any], status: int = 201) -> Any:
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def token(product: Product, role: str, region: str | None = None) -> str:
    with product.api() as api:
        body: dict[str, Any] = {"role": role}
        if region:
            body["region"] = region
        return str(post_json(api, "/admin/v1/tokens", body)["token"])


def fresh_physician(product: Product, n: int, institution: str) -> str:
    """A new physician with one agreement at ``institution`` from 2025-01-01."""
    cert = f"3301021990{n:017d}"
    with product.api() as api:
        code = post_json(
            api, "/admin/v1/physicians", {"certificate_no": cert, "name": f"测试医师{n}"}
        )["code"]
        post_json(
            api,
            "/admin/v1/agreements",
            {"physician_code": code, "institution_code": institution, "starts_on": "2025-01-01"},
        )
    return str(code)


def validate(product: Product, his: str, institution: str, code: str, day: str) -> Any:
    body = {
        "settlement_id": f"S-{code[-6:]}-{day}-{time.monotonic_ns()}",
        "institution_code": institution,
        "lines": [{"line_id": "1", "physician_code": code, "service_date": day, "amount": "88.00"}],
    }
    r = httpx.post(
        product.base + "/v1/settlements/validate",
        json=body,
        headers={"Authorization": f"Bearer {his}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()

"""网关凭据 in a real headless Chromium: issue (the secret shown once, a reload mints
nothing), register a platform-issued pair, revoke all after a confirmation; the hot path
then answers (or refuses) uploads signed with those credentials, as a .NET client signs."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import httpx

from tests.console.browser import ADMIN_TOKEN, Page, Product
from tests.console.support import checked, fresh_physician, sign_in, submit, token, visit
from tests.gatekeeper.hsa_support import fee, message
from tests.gateway.clients import xtif_dotnet

HOSPITAL = "H33010200001"
PLATFORM_TOKEN = "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv"
GATEWAY = f"/console/institutions/{HOSPITAL}/gateway"


def signed_upload(product: Product, code: str, paasid: str, secret: str, msgid: str) -> int:
    """A 2204 signed as ProxyUtil.ComputeSignatureHeaders signs it: the HTTP status."""
    day = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    body = json.dumps(message("2204", HOSPITAL, fee("1", code, day), msgid=msgid))
    r = httpx.post(
        product.base + "/v1/hsa",
        content=body.encode(),
        headers={"Content-Type": "application/json", **xtif_dotnet(paasid, secret)},
        timeout=30,
    )
    if r.status_code == 200:
        assert r.json()["infcode"] == 0, r.text
    return r.status_code


def rows(page: Page) -> list[str]:
    return [row.text for row in page.finds("table.data tbody tr")]


def test_issue_register_and_revoke_gateway_credentials(product: Product, page: Page) -> None:
    code = fresh_physician(product, 61, HOSPITAL)
    sign_in(page, ADMIN_TOKEN)
    page.go(f"/console/institutions/{HOSPITAL}")
    submit(page, f"a[href='{GATEWAY}']")
    checked(page, "60-gateway-empty")

    # 签发: Post/Redirect/Get; the secret is on the page after the redirect, once
    submit(page, f"form[action='{GATEWAY}/issue'] button[type=submit]")
    assert "shown=" in page.driver.current_url
    paasid = page.find("#revealed-paasid").text
    secret = page.find("#revealed-secret").text
    assert len(secret) == 32 and "只显示这一次" in page.text()
    cookie = page.driver.get_cookie("ybgate_console")
    assert cookie is not None  # the page is not to be cached
    again = httpx.get(product.base + GATEWAY, cookies={cookie["name"]: cookie["value"]})
    assert again.status_code == 200 and again.headers["cache-control"] == "no-store"
    checked(page, "61-gateway-issued")
    assert signed_upload(product, code, paasid, secret, "CONSOLE-GW-1") == 200
    page.driver.refresh()  # a reload shows the page again: no secret, no second pair
    assert secret not in page.text() and "只能显示一次" in page.text()
    assert len(rows(page)) == 1

    # 登记: a refused form names the field in Chinese and never echoes the secret
    page.fill("#reg-paasid", "hptfyj-console")
    page.fill("#reg-secret", "short")
    submit(page, f"form[action='{GATEWAY}/register'] button[type=submit]")
    assert "8–256 位" in page.find("#reg-secret-err").text
    assert page.find("#reg-secret").get_attribute("value") == ""
    checked(page, "62-gateway-register-refused", status=422)
    page.fill("#reg-secret", PLATFORM_TOKEN)
    submit(page, f"form[action='{GATEWAY}/register'] button[type=submit]")
    assert "已登记平台签发的网关凭据 hptfyj-console" in page.find(".flash.ok").text
    listed = rows(page)
    assert any("hptfyj-console" in r and "平台签发" in r and "有效" in r for r in listed)
    assert any(paasid in r and "过渡期" in r for r in listed)  # the first one overlaps
    assert PLATFORM_TOKEN not in page.driver.page_source
    checked(page, "63-gateway-registered")
    assert (
        signed_upload(
            product, code, "hptfyj-console", "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv", "CONSOLE-GW-2"
        )
        == 200
    )

    # 吊销: a confirmation page first
    submit(page, f"a[href='{GATEWAY}/revoke']")
    checked(page, "64-gateway-confirm-revoke")
    page.find("#confirm").click()
    submit(page, f"form[action='{GATEWAY}/revoke'] button[type=submit]")
    assert "全部网关凭据" in page.find(".flash.ok").text
    assert all("已吊销" in r for r in rows(page))
    checked(page, "65-gateway-revoked")
    assert signed_upload(product, code, paasid, secret, "CONSOLE-GW-3") == 401


def test_an_auditor_sees_the_pairs_but_no_control(product: Product, page: Page) -> None:
    sign_in(page, token(product, "auditor"))
    visit(page, GATEWAY, "66-gateway-auditor")
    assert not page.finds(f"form[action='{GATEWAY}/issue']")
    assert not page.finds(f"form[action='{GATEWAY}/register']")
    assert not page.finds(f"a[href='{GATEWAY}/revoke']")

"""Helpers of the gateway tests on real servers: a fee upload, signed requests sent over
a socket with the headers as the client builds them, and the 401 field of a refusal."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.gatekeeper.hsa_support import fee, message
from tests.sync.support import INST, wait_until

_msgids = itertools.count(1)
Signer = Callable[[], dict[str, str]]


def upload(code: str, inst: str = INST) -> bytes:
    """A 2204 with one line of today's date (Asia/Shanghai), a new msgid each time."""
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    body = message("2204", inst, fee("1", code, today), msgid=f"GW-{next(_msgids):08d}")
    return json.dumps(body, ensure_ascii=False).encode()


async def post_hsa(
    http: httpx.AsyncClient, base: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    return await http.post(
        f"{base}/v1/hsa",
        content=body,
        headers={"Content-Type": "application/json;charset=utf-8", **headers},
    )


def refused(r: httpx.Response) -> str:
    """The header a 401 names."""
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    field: str = r.json()["errors"][0]["field"]
    return field


def answered(r: httpx.Response) -> dict[str, Any]:
    """A fee upload answered in the platform's wrapper, every line accepted."""
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    assert doc["infcode"] == 0, doc
    return doc


async def until_accepted(http: httpx.AsyncClient, base: str, sign: Signer, code: str) -> None:
    """Freshly signed uploads until one is answered (the pair reached this server)."""

    async def accepted() -> bool:
        try:
            r = await post_hsa(http, base, sign(), upload(code))
        except httpx.TransportError:
            return False
        return r.status_code == 200 and r.json()["infcode"] == 0

    await wait_until(accepted, 30, f"a signed upload accepted by {base}", 0.1)


async def until_refused(
    http: httpx.AsyncClient, base: str, sign: Signer, code: str, field: str
) -> None:
    async def refused_now() -> bool:
        r = await post_hsa(http, base, sign(), upload(code))
        return r.status_code == 401 and r.json()["errors"][0]["field"] == field

    await wait_until(refused_now, 30, f"{base} refusing naming {field}", 0.1)

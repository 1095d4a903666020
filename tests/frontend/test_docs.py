"""docs/his-frontend.md as written: its "Try it" block runs against ybgate in 前置 mode in
front of the stand-in platform (real servers) and does what the text says."""

from __future__ import annotations

import base64
import os
from typing import Any

from tests.docs.shell import run_block
from tests.frontend.support import upload
from tests.gateway.support import ADMIN_TOKEN
from tests.sync.support import REPO

DOC = REPO / "docs" / "his-frontend.md"


async def test_the_try_it_block_forwards_a_signed_upload(front: Any) -> None:
    server, standin, admin = await front()
    [(code, _)] = await admin.world(1)
    body = upload(code)
    (server.tmp / "2204.json").write_bytes(body)
    env = {
        **os.environ,
        "YB": server.base,
        "CTL": f"http://127.0.0.1:{standin.control}",
        "A": f"Authorization: Bearer {ADMIN_TOKEN}",
    }
    registered, answer, received, ready = await run_block(DOC, "## Try it", server.tmp, env)
    assert registered["paasid"] == "hq2frt" and registered["secret"] is None
    assert answer["infcode"] == 0 and answer["inf_refmsgid"].startswith("SI")
    [seen] = received
    assert base64.b64decode(seen["body_b64"]) == body
    assert {k.lower(): v for k, v in seen["headers"]}["x-tif-paasid"] == "hq2frt"
    assert ready["upstream"]["reachable"] is True

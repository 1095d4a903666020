"""docs/his-frontend.md as written: its "Try it" block runs against ybgate in 前置 mode in
front of the stand-in platform (real servers) and does what the text says."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
from typing import Any

from tests.frontend.support import upload
from tests.gateway.support import ADMIN_TOKEN
from tests.sync.support import REPO

DOC = REPO / "docs" / "his-frontend.md"


def shell_block(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    found = re.search(r"```sh run=[^\n]*\n(.*?)```", section, re.S)
    assert found, f"no shell block under {heading}"
    return found.group(1)


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
    script = "set -euo pipefail\n" + shell_block("## Try it").replace("\ncurl", "\necho; curl")
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=server.tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    registered, answer, received, ready = (
        json.loads(line) for line in done.stdout.splitlines() if line.strip()
    )
    assert registered["paasid"] == "hq2frt" and registered["secret"] is None
    assert answer["infcode"] == 0 and answer["inf_refmsgid"].startswith("SI")
    [seen] = received
    assert base64.b64decode(seen["body_b64"]) == body
    assert {k.lower(): v for k, v in seen["headers"]}["x-tif-paasid"] == "hq2frt"
    assert ready["upstream"]["reachable"] is True

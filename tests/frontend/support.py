"""The 前置 tests' world: a stand-in platform (``ybgate standin``) and ybgate in front of
it (``ybgate serve all`` or ``serve gatekeeper``, SQLite, no Redis), over real sockets."""

from __future__ import annotations

import base64
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.gatekeeper.hsa_support import fee, message
from tests.sync.support import INST, Proc, free_port, wait_until

PLATFORM_PATH = "/fsi/api/rsfComIfsService/callService"
DAY = "2026-06-15"  # inside tests.sync.support.SUSPEND's window
_msgids = itertools.count(1)


@dataclass
class Standin:
    port: int
    control: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def received(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        r = await http.get(f"http://127.0.0.1:{self.control}/received")
        assert r.status_code == 200
        got: list[dict[str, Any]] = r.json()
        return got

    async def bodies(self, http: httpx.AsyncClient) -> list[bytes]:
        return [base64.b64decode(r["body_b64"]) for r in await self.received(http)]

    async def mode(self, http: httpx.AsyncClient, **mode: Any) -> None:
        r = await http.post(f"http://127.0.0.1:{self.control}/mode", json=mode)
        assert r.status_code == 200, r.text


async def start_standin(tmp: Path, http: httpx.AsyncClient, *args: str) -> Standin:
    port, control = free_port(), free_port()
    cmd = [sys.executable, "-m", "app.cli", "standin", "--port", str(port)]
    cmd += ["--control-port", str(control), "--quiet", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    proc = Proc(cmd, env, tmp / f"standin-{port}.log")
    standin = Standin(port, control, proc)

    async def up() -> bool:
        try:
            await standin.received(http)
        except httpx.TransportError:
            return False
        return True

    await wait_until(up, 30, "the stand-in platform", 0.1)
    return standin


def upload(code: str, *, mdtrt_id: str = "M1", msgid: str | None = None) -> bytes:
    """A 2204 of one line on DAY, as an HIS sends it (no wrapper med_type)."""
    line = fee("1", code, DAY)
    line["mdtrt_id"] = mdtrt_id
    body = message("2204", INST, line, msgid=msgid or f"FW-{next(_msgids):08d}", med_type=None)
    return json.dumps(body, ensure_ascii=False).encode()


def plain(code: str) -> dict[str, Any]:
    """A /v1/settlements/validate request of one line on DAY."""
    return {
        "settlement_id": f"S-{next(_msgids)}",
        "institution_code": INST,
        "lines": [{"line_id": "1", "physician_code": code, "service_date": DAY, "amount": "1.00"}],
    }


def other(infno: str, **extra: Any) -> bytes:
    body = {"infno": infno, "msgid": f"FW-{next(_msgids):08d}", "fixmedins_code": INST}
    body.update(extra)
    return json.dumps(body, ensure_ascii=False).encode()


async def metric(http: httpx.AsyncClient, base: str, line: str) -> float:
    """The value of one exposition line (name and labels) of /metrics."""
    text = (await http.get(f"{base}/metrics")).text
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    raise AssertionError(f"{line} not in /metrics")

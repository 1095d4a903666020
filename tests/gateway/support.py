"""Helpers of the gateway tests on real servers: a fee upload, signed requests sent over
a socket with the headers as the client builds them, and the 401 field of a refusal."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.gatekeeper.hsa_support import fee, message
from tests.sync.support import INST, Admin, Proc, free_port, wait_until

ADMIN_TOKEN = "embedded-gateway-superuser-token-01"


@dataclass
class Embedded:
    tmp: Path
    env: dict[str, str]
    http: httpx.AsyncClient
    procs: list[Proc] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.tmp / "var" / "secrets.key"

    def spawn(self, which: str, port: int) -> Proc:
        args = [sys.executable, "-m", "app.cli", "serve", which, "--port", str(port)]
        proc = Proc(args, self.env, self.tmp / f"{which}-{port}.log")
        self.procs.append(proc)
        return proc

    async def ready(self, port: int) -> None:
        async def up() -> bool:
            try:
                r = await self.http.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.TransportError:
                return False
            return r.status_code == 200

        await wait_until(up, 60, f"a server on :{port}", 0.1)

    async def start(self) -> Admin:
        self.port = free_port()
        self.spawn("all", self.port)
        await self.ready(self.port)
        client = httpx.AsyncClient(base_url=self.base, timeout=10)
        self.clients.append(client)
        return Admin(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()


def embedded_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        YBGATE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'ybgate.db'}",
        YBGATE_BOOTSTRAP_ADMIN_TOKEN=ADMIN_TOKEN,
        YBGATE_DECISION_LOG_DIR=str(tmp / "var" / "decisions"),
        YBGATE_IDEMPOTENCY_DIR=str(tmp / "var" / "idempotency"),
        YBGATE_SECRETS_KEY_FILE=str(tmp / "var" / "secrets.key"),
        YBGATE_GATEWAY_ROTATION_OVERLAP_S="4",
    )
    env.update(extra)
    return env


async def issue(
    admin: Admin, body: dict[str, str] | None = None, inst: str = INST
) -> dict[str, str]:
    path = f"/admin/v1/institutions/{inst}/gateway-credentials"
    r = await admin.c.post(path, json=body, headers=admin.su)
    assert r.status_code == 201, r.text
    doc: dict[str, str] = r.json()
    return doc


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

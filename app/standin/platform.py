"""The stand-in platform: an aiohttp server answering like the platform's gateway.

Every ``POST`` (on whichever path: the platform's is ``/fsi/api/rsfComIfsService/callService``)
is answered HTTP 200 ``application/json;charset=UTF-8`` with the platform's wrapper
(``infcode``, ``inf_refmsgid``, ``refmsg_time``, ``respond_time``, ``err_msg``,
``warn_msg``, ``cainfo``, ``signtype``, ``output``), the ``output`` shaped by ``infno``
(``answers.py``): 2201 assigns a ``mdtrt_id``, 2401 too, 2204/2301 echo each line, every
other message gets ``{}``. A body that is not JSON naming an ``infno`` gets ``infcode`` -1.

The control port (``--control-port``) says what it received and changes how it behaves:

* ``GET /received``: every request so far, oldest first, as
  ``{"path", "query", "headers": [[name, value], ...], "body_b64"}`` (``DELETE``: forget);
* ``POST /mode`` ``{"delay_ms": N, "refuse": true|false, "infcode": N}``: delay every
  answer, stop listening (connections refused; open ones closed), answer every message
  with this ``infcode`` (with ``err_msg``). Fields left out keep their value.

With ``--record FILE`` each request is also appended to FILE as a JSON line; with
``--cert`` and ``--key`` (PEM files) it serves HTTPS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.standin.answers import answer

log = logging.getLogger("ybgate.standin")
MAX_RECORDED = 100_000  # requests kept for GET /received (the oldest go first)


@dataclass
class Mode:
    delay_ms: float = 0.0
    refuse: bool = False
    infcode: int = 0


@dataclass
class Standin:
    host: str
    port: int
    record: str | None = None
    keep: int = MAX_RECORDED  # requests kept for GET /received (0: none)
    tls: ssl.SSLContext | None = None  # HTTPS (--cert, --key)
    mode: Mode = field(default_factory=Mode)
    received: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    site: web.TCPSite | None = None

    async def platform(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.keep or self.record:
            self._seen(request, body)
        if self.mode.refuse and request.transport is not None:
            request.transport.close()
            return web.Response(status=503)
        if self.mode.delay_ms:
            await asyncio.sleep(self.mode.delay_ms / 1000)
        out = answer(body, self.mode.infcode)
        return web.Response(body=out, content_type="application/json", charset="UTF-8")

    def _seen(self, request: web.Request, body: bytes) -> None:
        seen = {
            "path": request.path,
            "query": request.query_string,
            "headers": [[k, v] for k, v in _raw_headers_text(request)],
            "body_b64": base64.b64encode(body).decode(),
        }
        if self.keep:
            if len(self.received) >= self.keep:
                del self.received[: max(1, self.keep // 10)]
            self.received.append(seen)
        if self.record:
            _append(self.record, json.dumps(seen, ensure_ascii=False) + "\n")

    async def listen(self) -> None:
        assert self.runner is not None
        self.site = web.TCPSite(
            self.runner, self.host, self.port, reuse_address=True, ssl_context=self.tls
        )
        await self.site.start()

    async def stop_listening(self) -> None:
        if self.site is not None:
            await self.site.stop()
            self.site = None
        if self.runner is not None and self.runner.server is not None:
            for conn in list(self.runner.server.connections):
                conn.force_close()

    async def set_mode(self, request: web.Request) -> web.Response:
        doc = await request.json()
        mode = self.mode
        mode.delay_ms = float(doc.get("delay_ms", mode.delay_ms))
        mode.infcode = int(doc.get("infcode", mode.infcode))
        refuse = bool(doc.get("refuse", mode.refuse))
        if refuse and not mode.refuse:
            await self.stop_listening()
        elif mode.refuse and not refuse:
            await self.listen()
        mode.refuse = refuse
        return web.json_response(vars(mode))

    async def list_received(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.received.clear()
        return web.json_response(self.received)


def _raw_headers_text(request: web.Request) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)


async def serve(standin: Standin, control_port: int | None) -> None:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", standin.platform)
    standin.runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await standin.runner.setup()
    if not standin.mode.refuse:
        await standin.listen()
    control_runner = None
    if control_port:
        control = web.Application()
        control.router.add_route("POST", "/mode", standin.set_mode)
        control.router.add_route("*", "/received", standin.list_received)
        control_runner = web.AppRunner(control, access_log=None)
        await control_runner.setup()
        await web.TCPSite(control_runner, standin.host, control_port).start()
    log.info("stand-in platform on %s:%d (control: %s)", standin.host, standin.port, control_port)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await standin.runner.cleanup()
            if control_runner is not None:
                await control_runner.cleanup()

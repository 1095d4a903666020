"""The coalescing httptools protocol: one write per response, and uvicorn's HTTP
behaviour intact (keep-alive, pipelining, Expect: 100-continue, streaming, errors)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl

from app.gatekeeper.server.coalescing import CoalescingCycle, CoalescingHttpToolsProtocol


async def demo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("before the response")
    body = b""
    more = True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    headers = [(b"content-type", b"text/plain")]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if path == "/half":
        raise RuntimeError("after the start, before the body")
    reply = b"got %d bytes for %s" % (len(body), path.encode())
    await send({"type": "http.response.body", "body": reply})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        demo, http=CoalescingHttpToolsProtocol, loop="asyncio", log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = b""
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    return status, headers, body


def request(path: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


@pytest.fixture
async def conn(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        await writer.wait_closed()


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def test_keep_alive_and_pipelining(conn: Conn) -> None:
    reader, writer = conn
    for i in range(3):
        writer.write(request(f"/k{i}", b"x" * i))
        status, headers, body = await read_response(reader)
        assert (status, body) == (200, f"got {i} bytes for /k{i}".encode())
        assert headers["content-type"] == "text/plain"
    writer.write(b"".join(request(f"/p{i}", b"yy") for i in range(3)))
    for i in range(3):
        assert (await read_response(reader))[2] == f"got 2 bytes for /p{i}".encode()


async def test_expect_100_continue_and_streaming(conn: Conn) -> None:
    reader, writer = conn
    head = b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    writer.write(head)
    assert (await reader.readline()).startswith(b"HTTP/1.1 100")
    await reader.readline()
    writer.write(b"hello")
    assert (await read_response(reader))[2] == b"got 5 bytes for /e"
    writer.write(request("/stream"))
    status, headers, body = await read_response(reader)
    assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"one,two,three")


@pytest.mark.parametrize("path", ["/boom", "/half"])
async def test_app_errors_become_500(conn: Conn, path: str) -> None:
    reader, writer = conn
    writer.write(request(path))
    status, headers, _ = await read_response(reader)
    assert status == 500
    assert headers.get("connection") == "close"


async def test_one_write_per_response() -> None:
    class Transport:
        def __init__(self) -> None:
            self.writes: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

        def pause_reading(self) -> None:
            pass

        def resume_reading(self) -> None:
            pass

    transport = Transport()
    cycle = CoalescingCycle(
        scope={"method": "POST", "path": "/", "http_version": "1.1", "type": "http"},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("t"),
        access_logger=logging.getLogger("t"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    await cycle.send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    assert transport.writes == []
    await cycle.send({"type": "http.response.body", "body": b"ok"})
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\nok")

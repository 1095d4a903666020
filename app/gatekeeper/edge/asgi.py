"""Raw ASGI helpers: responses, problem bodies, bounded body reading, field paths (a
msgspec error as a 422 naming the field; JSON nested too deeply as a 422, not a 500)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from app.core.errors import (
    PROBLEM_CT,
    DomainError,
    InternalError,
    MethodNotAllowed,
    PayloadTooLarge,
    RequestTimeout,
    ValidationFailed,
    field_error,
)

__all__ = ["InternalError", "MethodNotAllowed", "RequestTimeout"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_CT = b"application/json"


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_CT,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def problem_response(
    err: DomainError, instance: str | None = None
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A problem's body and the headers it needs besides the content type and length."""
    extra = []
    if err.status == 401:
        extra.append((b"www-authenticate", b'Bearer realm="ybgate"'))
    elif err.status in (408, 413):
        extra.append((b"connection", b"close"))  # the rest of the body is not read
    allow = err.extra.get("allow") if isinstance(err, MethodNotAllowed) else None
    if allow:
        extra.append((b"allow", str(allow).encode()))
    return msgspec.json.encode(err.to_problem(instance)), extra


async def send_problem(send: Send, err: DomainError, instance: str | None = None) -> None:
    body, extra = problem_response(err, instance)
    await send_bytes(send, err.status, body, PROBLEM_CT.encode(), extra)


async def read_body(
    scope: Scope, first: Message, receive: Receive, limit: int, *, body_timeout: float = 30.0
) -> bytes:
    """A body that did not come in one message: 413 at once when Content-Length says it
    is too large, else read on, stopping as soon as it passes ``limit``; 408 when the
    client is too slow."""
    length = dict(scope["headers"]).get(b"content-length", b"")
    if length and (not length.isdigit() or int(length) > limit):
        raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
    chunks = [first.get("body", b"")]
    size = len(chunks[0])
    try:
        async with asyncio.timeout(body_timeout):
            more = first.get("more_body", False)
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    raise ClientGone
                chunk = msg.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
                chunks.append(chunk)
                more = msg.get("more_body", False)
    except TimeoutError:
        raise RequestTimeout(f"The body did not arrive within {body_timeout:g} s.") from None
    return b"".join(chunks)


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def decode_error(exc: msgspec.MsgspecError) -> ValidationFailed:
    """A msgspec error as a 422 naming the field by its JSON path (``lines[3].amount``)."""
    if isinstance(exc, msgspec.ValidationError):
        m = _AT.match(str(exc))
        msg, path = (m["msg"], m["path"] or "") if m else (str(exc), "")
        path = path.lstrip(".")
        missing = _MISSING.match(msg)
        if missing:
            path = f"{path}.{missing['field']}" if path else missing["field"]
            msg = "field required"
        return ValidationFailed([field_error(path or "body", msg)])
    return ValidationFailed([field_error("body", f"invalid JSON: {exc}")])


def too_deep() -> ValidationFailed:
    """JSON nested deeper than msgspec's recursion limit."""
    return ValidationFailed([field_error("body", "JSON nested too deeply")])

"""The one ASGI lifespan driver: start-up and shutdown, each reported, failures included."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def drive_lifespan(
    receive: Receive,
    send: Send,
    running: Callable[[], AbstractAsyncContextManager[object]],
    log: logging.Logger,
) -> None:
    """Enter ``running()`` on ``lifespan.startup`` and leave it on ``lifespan.shutdown``,
    answering ``*.complete`` or ``*.failed`` (with the error) for each."""
    await receive()  # lifespan.startup
    ctx = running()
    try:
        await ctx.__aenter__()
    except Exception as exc:
        log.exception("start-up failed")
        await send({"type": "lifespan.startup.failed", "message": repr(exc)})
        return
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    try:
        await ctx.__aexit__(None, None, None)
    except Exception as exc:
        log.exception("shutdown failed")
        await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
        return
    await send({"type": "lifespan.shutdown.complete"})

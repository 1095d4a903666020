"""The platform's answers to forwarded fee uploads, kept for msgid idempotency (24 h).

A fee upload forwarded and answered is claimed on its ``msgid`` like any
(``decisions.idempotency``); its record cannot hold the platform's answer, so the answer
is kept here under the same key: a resend of the same body gets it back and is not
forwarded twice. :class:`LocalAnswers`: in memory, at most ``max_bytes`` (the oldest go
first); without Redis the gatekeeper keeps them in files too
(``upstream.answer_files.FileAnswers``: they outlive the process, as the msgid records
do); :class:`RedisAnswers`: ``SET … EX 86400``, shared by every instance.
"""

from __future__ import annotations

import struct
import time
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.errors import NotReady
from app.gatekeeper.upstream.client import Answer

WINDOW_S = 24 * 3600
PREFIX = "ybgate:hsa:upstream:"
ENTRY_COST = 300
_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(tuple[int, list[tuple[str, str]], str])


def key_of(inst: str, msgid: str) -> str:
    return f"{inst}\x00{msgid}"


def pack(answer: Answer) -> bytes:
    heads = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers]
    return _encode((answer.status, heads, answer.body.decode("latin-1")))


def unpack(raw: bytes) -> Answer:
    status, heads, body = _decode.decode(raw)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in heads]
    return Answer(status, headers, body.encode("latin-1"))


class AnswerStore(Protocol):
    async def start(self) -> None: ...

    async def put(self, inst: str, msgid: str, answer: Answer) -> None: ...

    async def get(self, inst: str, msgid: str) -> Answer | None: ...

    async def stop(self) -> None: ...


_HEAD = struct.Struct("<dq")  # a held answer's expiry and number, before its packed bytes


class LocalAnswers:
    """In this process's memory, at most ``max_bytes`` (the oldest go first). Held as
    bytes in dicts the cyclic garbage collector never tracks, and the oldest found in
    O(1) by number (the first key of a dict is found by walking the keys deleted before
    it)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.held: dict[str, bytes] = {}  # key -> _HEAD + the packed answer
        self.order: dict[int, str] = {}  # number -> key, oldest first
        self._oldest = self._next = 0

    async def start(self) -> None:
        return None

    async def put(self, inst: str, msgid: str, answer: Answer) -> None:
        self.hold(key_of(inst, msgid), time.time() + WINDOW_S, pack(answer))

    def hold(self, key: str, expires: float, raw: bytes) -> None:
        self._forget(key)
        number, self._next = self._next, self._next + 1
        self.held[key] = _HEAD.pack(expires, number) + raw
        self.order[number] = key
        self.bytes += _HEAD.size + len(raw) + len(key) + ENTRY_COST
        now = time.time()
        while (oldest := self._first()) is not None:
            if self.bytes <= self.max_bytes and _HEAD.unpack_from(self.held[oldest])[0] >= now:
                break
            self._forget(oldest)

    def _forget(self, key: str) -> None:
        old = self.held.pop(key, None)
        if old is not None:
            self.bytes -= len(old) + len(key) + ENTRY_COST

    def _first(self) -> str | None:
        """The oldest key held (order entries of forgotten ones discarded on the way)."""
        while self._oldest < self._next:
            key = self.order[self._oldest]
            value = self.held.get(key)
            if value is not None and _HEAD.unpack_from(value)[1] == self._oldest:
                return key
            del self.order[self._oldest]
            self._oldest += 1
        return None

    async def get(self, inst: str, msgid: str) -> Answer | None:
        found = self.held.get(key_of(inst, msgid))
        if found is None or _HEAD.unpack_from(found)[0] < time.time():
            return None
        return unpack(found[_HEAD.size :])

    async def stop(self) -> None:
        self.held.clear()
        self.order.clear()
        self._oldest = self._next
        self.bytes = 0


class RedisAnswers:
    def __init__(self, url: str, timeout: float = 1.0) -> None:
        self.redis: Redis = Redis.from_url(url, socket_timeout=timeout)

    async def start(self) -> None:
        return None

    async def put(self, inst: str, msgid: str, answer: Answer) -> None:
        try:
            await self.redis.set(f"{PREFIX}{inst}:{msgid}", pack(answer), ex=WINDOW_S)
        except RedisError:
            raise NotReady("The platform's answer cannot be kept; retry shortly.") from None

    async def get(self, inst: str, msgid: str) -> Answer | None:
        try:
            raw = await self.redis.get(f"{PREFIX}{inst}:{msgid}")
        except RedisError:
            raise NotReady("Redis does not answer; retry shortly.") from None
        if raw is None:
            return None
        return unpack(raw if isinstance(raw, bytes) else raw.encode())

    async def stop(self) -> None:
        await self.redis.aclose()

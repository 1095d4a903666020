"""Gateway nonces, remembered for :data:`NONCE_TTL_S` so a signed request is answered once.

* :class:`RedisNonces` (production profile, ``YBGATE_REDIS_URL``): one ``SET key 1 NX EX
  600`` per replay key (a key per paasid and nonce), shared by every gatekeeper: a
  request replayed on another instance is refused too. If Redis does not answer, the
  request gets a 503 problem (retry): a signed request is never taken on trust.
* :class:`LocalNonces` (embedded default, one process): a set and a queue in memory,
  bounded in bytes (``YBGATE_GATEWAY_NONCE_MEMORY_BYTES``, 64 MiB ≈ 300,000 nonces);
  entries leave it as they expire. While it is full a signed request gets a 503: it never
  forgets a nonce early. Forgotten on a restart.

A used nonce is a 401 problem naming the header it came in (``x-tif-nonce``;
``_api_nonce``, or ``_api_signature`` for a CSB request without a nonce).
"""

from __future__ import annotations

import sys
import time
from typing import NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.core.errors import NotReady, Unauthenticated, field_error
from app.sync.redis_keys import connect

NONCE_TTL_S = 600  # a nonce is remembered this long
MAX_NONCE = 128  # characters of a nonce
REDIS_PREFIX = "ybgate:gateway:nonce:"
_ENTRY = 150  # bytes a remembered key costs besides its string (two dict slots, a float)


class Claim(NamedTuple):
    """A replay key to remember for :data:`NONCE_TTL_S`, and the header it came from."""

    field: str
    key: str


def used(field: str) -> Unauthenticated:
    message = f"already used within the last {NONCE_TTL_S} s"
    return Unauthenticated(f"{field}: {message}", errors=[field_error(field, message)])


class NonceStore(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def claim(self, claims: list[Claim]) -> None:
        """Remember every key, or raise (401 naming the first key already used)."""
        ...


class LocalNonces:
    """Nonces in this process's memory. Held in dicts of strings, floats and ints only,
    which the cyclic garbage collector never tracks (a set and a deque of tuples here
    made every full collection walk each nonce of the window)."""

    def __init__(self, max_bytes: int, ttl: float = NONCE_TTL_S) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.seen: dict[str, float] = {}  # key -> monotonic expiry
        self.order: dict[int, str] = {}  # number -> key, oldest first (by number)
        self._next = 0
        self._oldest = 0
        self.bytes = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.seen.clear()
        self.order.clear()
        self._next = self._oldest = self.bytes = 0

    async def claim(self, claims: list[Claim]) -> None:
        self.claim_now(claims)

    def claim_now(self, claims: list[Claim], now: float | None = None) -> None:
        """:meth:`claim` without a round trip (the inline protocol calls it)."""
        now = time.monotonic() if now is None else now
        seen = self.seen
        self._expire(now)
        for c in claims:
            if c.key in seen:
                raise used(c.field)
        keys = list(dict.fromkeys(c.key for c in claims))
        cost = sum(sys.getsizeof(k) + _ENTRY for k in keys)
        if self.bytes + cost > self.max_bytes:
            raise NotReady("Too many signed requests to remember their nonces; retry shortly.")
        expires = now + self.ttl
        for key in keys:
            seen[key] = expires
            self.order[self._next] = key
            self._next += 1
        self.bytes += cost

    def _expire(self, now: float) -> None:
        order, seen = self.order, self.seen
        while self._oldest < self._next:
            key = order[self._oldest]
            if seen[key] > now:
                return
            del order[self._oldest], seen[key]
            self._oldest += 1
            self.bytes -= sys.getsizeof(key) + _ENTRY


def redis_client(url: str) -> aioredis.Redis:
    """The nonce store's Redis client (its only constructor)."""
    return connect(url, timeout=2.0)


class RedisNonces:
    def __init__(self, url: str, ttl: int = NONCE_TTL_S) -> None:
        self.redis = redis_client(url)
        self.ttl = ttl

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.redis.aclose()

    async def claim(self, claims: list[Claim]) -> None:
        for c in claims:
            try:
                fresh = await self.redis.set(REDIS_PREFIX + c.key, b"1", nx=True, ex=self.ttl)
            except (RedisError, OSError):
                raise NotReady("The nonce store (Redis) is unavailable; retry shortly.") from None
            if not fresh:
                raise used(c.field)

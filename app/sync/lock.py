"""The relay's lease in Redis: ``SET NX PX`` plus renewal, released on a clean stop.

It keeps a second relay idle while the first one works, nothing more: publishing is
correct without it (explicit stream IDs), so a lease lost to a long pause is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

import redis.asyncio as aioredis

log = logging.getLogger("ybgate.sync.relay")

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LockLost(Exception):
    """Another relay holds the lease now (or Redis lost it): stop and re-acquire."""


class Lease:
    def __init__(self, redis: aioredis.Redis, key: str, ttl_ms: int) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def acquire(self) -> None:
        """Wait until this relay holds the lease (or still holds it)."""
        waiting = False
        while True:
            got = await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms)
            if got or await self._renew():
                log.info("relay %s holds the lock", self.token)
                return
            if not waiting:
                log.info("relay %s: another relay holds the lock; standing by", self.token)
                waiting = True
            await asyncio.sleep(self.ttl_ms / 5000)

    async def keep(self) -> None:
        """Renew every third of the TTL; raise LockLost when the lease is gone."""
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            if not await self._renew():
                raise LockLost("the lock key is gone or held by another relay")

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.eval(_RELEASE, 1, self.key, self.token), 1.0)

    async def _renew(self) -> bool:
        return bool(await self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

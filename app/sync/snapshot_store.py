"""The registry snapshot kept in Redis, and building one from PostgreSQL.

The value is ``snapshot_header(version) + dump_snapshot(registry)`` under one key, so
the version and the bytes are always written (and read) together. Writers go through
:func:`put_snapshot`, a Lua compare-and-set that only ever replaces an older version:
two relays, or a relay and a follower filling an empty Redis, cannot move it backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.compact import Registry
from app.registry.snapshot import DumpCache, dump_snapshot, loads_snapshot
from app.registry.source import load_snapshot
from app.sync.redis_keys import SNAP_HEADER_LEN, Keys, header_version, snapshot_header

# KEYS[1] snapshot key; ARGV[1] the full value, ARGV[2] its version.
# Returns the version stored after the call (the caller's, or a newer one already there).
_SET_IF_NEWER = f"""
local cur = redis.call('GETRANGE', KEYS[1], 0, {SNAP_HEADER_LEN - 1})
if string.sub(cur, 1, 6) == 'YBGRS1' then
  local v = tonumber(string.sub(cur, 7, 26))
  if v ~= nil and v >= tonumber(ARGV[2]) then return v end
end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[2])
"""


def trim_heap() -> None:
    """Hand the pages freed by a big load back to the OS (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def encode_snapshot(registry: Registry, cache: DumpCache | None = None) -> bytes:
    """The Redis value for ``registry`` (run it off the event loop for a big registry;
    nobody may mutate the registry meanwhile). ``cache``: see ``DumpCache``."""
    return snapshot_header(registry.version) + dump_snapshot(registry, cache)


def decode_snapshot(value: bytes) -> Registry:
    version = header_version(value[:SNAP_HEADER_LEN])
    if version is None:
        raise ValueError("not a ybgate registry snapshot value")
    registry = loads_snapshot(memoryview(value)[SNAP_HEADER_LEN:], "the Redis snapshot")
    if registry.version != version:
        raise ValueError(f"snapshot header says {version}, body says {registry.version}")
    trim_heap()
    return registry


async def put_snapshot(r: aioredis.Redis, keys: Keys, version: int, value: bytes) -> int:
    """Store ``value`` unless Redis already holds this version or a newer one; the
    version stored afterwards."""
    stored: Any = await r.eval(_SET_IF_NEWER, 1, keys.snapshot, value, str(version))
    return int(stored)


async def fetch_registry(r: aioredis.Redis, keys: Keys) -> Registry | None:
    """The registry of the snapshot in Redis (decoded in a thread), None when absent."""
    value = await r.get(keys.snapshot)
    if not isinstance(value, bytes) or not value:
        return None
    return await asyncio.to_thread(decode_snapshot, value)


async def build_from_database(sessions: async_sessionmaker[AsyncSession]) -> Registry:
    """Every entity's facts from PostgreSQL, read in one REPEATABLE READ transaction so
    that the facts are exactly those of the version read with them."""
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            await session.connection(execution_options=options)
        patch = await load_snapshot(session)
    registry = await asyncio.to_thread(Registry.from_patch, patch)
    trim_heap()
    return registry

"""The registry snapshot kept in Redis, and building one from PostgreSQL.

The snapshot key holds ``snapshot_header(version)`` and then either the dump itself
(``dump_snapshot(registry)``, up to ``PART_BYTES``) or, for a bigger registry, a
manifest ``PARTS <generation> <parts> <bytes>`` naming the dump's parts: strings of
``PART_BYTES`` each under ``<snapshot key>:<generation>:<i>``. Redis runs one command at
a time: a national registry's dump (hundreds of MB) as one value blocked it for seconds
per refresh (every follower's stream read waited behind it); written in 4 MB parts each
command holds it for milliseconds.

Writers go through :func:`put_snapshot`: the parts of a new generation first, then a Lua
compare-and-set of the key that only ever replaces an older version (two relays, or a
relay and a follower filling an empty Redis, cannot move it backwards), then the parts of
the generation it replaced (or its own, having lost) are unlinked. Readers
(:func:`fetch_registry`) read the key, then the parts one command each; a part gone
meanwhile (a newer snapshot replaced that generation) makes them start again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import secrets
from collections.abc import Iterator, Sequence

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.compact import Registry
from app.registry.snapshot import DumpCache, dump_pieces, loads_snapshot
from app.registry.source import load_snapshot
from app.sync.redis_keys import SNAP_HEADER_LEN, Keys, header_version, snapshot_header

PART_BYTES = 4 << 20
_PARTS = b"PARTS "
_MANIFEST_MAX = 128

# KEYS[1] snapshot key; ARGV[1] the full value, ARGV[2] its version.
# Returns {the version stored after the call (the caller's, or a newer one already
# there), the first bytes of the value it replaced (its manifest, if any)}.
_SET_IF_NEWER = f"""
local cur = redis.call('GETRANGE', KEYS[1], 0, {SNAP_HEADER_LEN + _MANIFEST_MAX})
if string.sub(cur, 1, 6) == 'YBGRS1' then
  local v = tonumber(string.sub(cur, 7, 26))
  if v ~= nil and v >= tonumber(ARGV[2]) then return {{v, ''}} end
end
redis.call('SET', KEYS[1], ARGV[1])
return {{tonumber(ARGV[2]), cur}}
"""


def trim_heap() -> None:
    """Hand the pages freed by a big load back to the OS (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def encode_snapshot_pieces(registry: Registry, cache: DumpCache | None = None) -> list[bytes]:
    """The Redis value for ``registry`` as pieces (header first), never joined: see
    ``app.registry.snapshot.dump_pieces``. Run it off the event loop for a big registry;
    nobody may mutate the registry meanwhile. ``cache``: see ``DumpCache``."""
    return [snapshot_header(registry.version), *dump_pieces(registry, cache)]


def encode_snapshot(registry: Registry, cache: DumpCache | None = None) -> bytes:
    """:func:`encode_snapshot_pieces` joined."""
    return b"".join(encode_snapshot_pieces(registry, cache))


def _chunks(pieces: Sequence[bytes | memoryview], size: int) -> Iterator[bytes]:
    """The pieces' bytes in chunks of ``size`` (the last one shorter), each joined on
    its own: no buffer the size of the whole ever exists."""
    buf: list[memoryview] = []
    n = 0
    for piece in pieces:
        view = memoryview(piece)
        while view:
            take = view[: size - n]
            buf.append(take)
            n += len(take)
            view = view[len(take) :]
            if n == size:
                yield b"".join(buf)
                buf, n = [], 0
    if buf:
        yield b"".join(buf)


def decode_snapshot(value: bytes) -> Registry:
    version = header_version(value[:SNAP_HEADER_LEN])
    if version is None:
        raise ValueError("not a ybgate registry snapshot value")
    registry = loads_snapshot(memoryview(value)[SNAP_HEADER_LEN:], "the Redis snapshot")
    if registry.version != version:
        raise ValueError(f"snapshot header says {version}, body says {registry.version}")
    trim_heap()
    return registry


def _part_key(keys: Keys, generation: str, i: int) -> str:
    return f"{keys.snapshot}:{generation}:{i}"


def _manifest(body: bytes) -> tuple[str, int, int] | None:
    """(generation, parts, bytes) of a manifest body; None: the body is the dump."""
    if not body.startswith(_PARTS) or len(body) > _MANIFEST_MAX:
        return None
    gen, n, size = body[len(_PARTS) :].decode().split()
    return gen, int(n), int(size)


async def _unlink_parts(r: aioredis.Redis, keys: Keys, body: bytes) -> None:
    parts = _manifest(body)
    if parts is not None:
        gen, n, _ = parts
        await r.unlink(*(_part_key(keys, gen, i) for i in range(n)))


async def put_snapshot(
    r: aioredis.Redis, keys: Keys, version: int, value: bytes | Sequence[bytes]
) -> int:
    """Store ``value`` (``encode_snapshot``, or its pieces) unless Redis already holds
    this version or a newer one; the version stored afterwards."""
    dump: list[bytes | memoryview]
    if isinstance(value, bytes):
        header, dump = value[:SNAP_HEADER_LEN], [memoryview(value)[SNAP_HEADER_LEN:]]
    else:
        header, dump = bytes(value[0]), [*value[1:]]
    size = sum(map(len, dump))
    mine = b""
    if size > PART_BYTES:
        gen = f"{version}-{secrets.token_hex(4)}"
        n = 0
        for n, part in enumerate(_chunks(dump, PART_BYTES), 1):
            # one command per part: Redis serves others in between
            await r.set(_part_key(keys, gen, n - 1), part)
        mine = _PARTS + f"{gen} {n} {size}".encode()
        value = header + mine
    elif not isinstance(value, bytes):
        value = b"".join(value)
    stored, replaced = await r.eval(_SET_IF_NEWER, 1, keys.snapshot, value, str(version))
    # The parts no longer named by the key: those it replaced, or ours if we lost.
    await _unlink_parts(r, keys, mine if int(stored) != version else replaced[SNAP_HEADER_LEN:])
    return int(stored)


async def fetch_snapshot(r: aioredis.Redis, keys: Keys, attempts: int = 5) -> bytes | None:
    """The snapshot value (header + dump) in Redis, its parts joined; None when absent."""
    for _ in range(attempts):
        value = await r.get(keys.snapshot)
        if not isinstance(value, bytes) or not value:
            return None
        parts = _manifest(value[SNAP_HEADER_LEN:])
        if parts is None:
            return value
        gen, n, size = parts
        chunks = [value[:SNAP_HEADER_LEN]]
        for i in range(n):
            chunk = await r.get(_part_key(keys, gen, i))
            if not isinstance(chunk, bytes):
                break  # replaced meanwhile: read the newer one
            chunks.append(chunk)
        else:
            joined = b"".join(chunks)
            if len(joined) != SNAP_HEADER_LEN + size:
                raise ValueError(f"snapshot parts of {gen} hold {len(joined)} bytes")
            return joined
    raise ValueError(f"the snapshot in Redis changed {attempts} times while it was read")


async def fetch_registry(r: aioredis.Redis, keys: Keys) -> Registry | None:
    """The registry of the snapshot in Redis (decoded in a thread), None when absent."""
    value = await fetch_snapshot(r, keys)
    if value is None:
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

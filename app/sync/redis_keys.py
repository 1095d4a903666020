"""What the relay and the followers share in Redis: key names, the stream entry format,
the relay's heartbeat, client construction and a retry backoff.

Keys (``prefix`` defaults to ``ybgate``)::

    {prefix}:registry:stream    Stream. One entry per registry version, explicit ID
                                "<version>-0", one field "p": the Patch as JSON. Redis
                                itself refuses an ID that is not above the stream's top,
                                so a duplicate or out-of-order publish cannot land.
    {prefix}:registry:snapshot  String. SNAP_MAGIC + 20-digit version + "\\n" + the compact
                                snapshot (app.registry.snapshot.dump_snapshot) of exactly
                                that version. Replaced only by a newer version (Lua CAS).
    {prefix}:registry:head      String, short TTL. The version up to which the relay has
                                published everything committed, refreshed while it polls
                                the outbox. Present and <= a follower's version: that
                                follower is confirmed fresh. Absent: nobody vouches for
                                freshness (relay or PostgreSQL down), the registry ages.
    {prefix}:relay:lock         String, SET NX PX + renewal: normally one relay works.

Invariant kept by the relay: the stream holds every entry above the snapshot's version
(it trims only below ``snapshot version - keep``), so snapshot + stream = the registry.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from app.registry.facts import Patch

PATCH_FIELD = b"p"
SNAP_MAGIC = b"YBGRS1"
SNAP_HEADER_LEN = len(SNAP_MAGIC) + 20 + 1  # magic, zero-padded version, newline


@dataclass(frozen=True)
class Keys:
    prefix: str = "ybgate"

    @property
    def stream(self) -> str:
        return f"{self.prefix}:registry:stream"

    @property
    def snapshot(self) -> str:
        return f"{self.prefix}:registry:snapshot"

    @property
    def head(self) -> str:
        return f"{self.prefix}:registry:head"

    @property
    def lock(self) -> str:
        return f"{self.prefix}:relay:lock"


def entry_id(version: int) -> str:
    return f"{version}-0"


def id_version(entry: bytes | str) -> int:
    raw = entry.decode() if isinstance(entry, bytes) else entry
    return int(raw.partition("-")[0])


def encode_patch(patch: Patch | dict[str, Any]) -> bytes:
    return orjson.dumps(patch)


def decode_patch(raw: bytes) -> Patch:
    doc = orjson.loads(raw)
    return Patch(
        version=int(doc["version"]),
        physicians=doc.get("physicians", {}),
        institutions=doc.get("institutions", {}),
        regions=doc.get("regions", {}),
        his_tokens=doc.get("his_tokens", {}),
        gateway_credentials=doc.get("gateway_credentials", {}),
    )


def snapshot_header(version: int) -> bytes:
    return SNAP_MAGIC + b"%020d\n" % version


def header_version(header: bytes | None) -> int | None:
    """The version in a snapshot value's header (None: no snapshot or not ours)."""
    if not header or len(header) < SNAP_HEADER_LEN or not header.startswith(SNAP_MAGIC):
        return None
    return int(header[len(SNAP_MAGIC) : SNAP_HEADER_LEN - 1])


SENTINEL_SCHEME = "redis+sentinel://"


@dataclass(frozen=True)
class SentinelUrl:
    """``redis+sentinel://[:password@]host:port[,host:port...]/master[/db]``: the master
    named ``master`` as the Sentinels at those addresses know it now."""

    sentinels: list[tuple[str, int]]
    master: str
    db: int
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SentinelUrl:
        rest = url[len(SENTINEL_SCHEME) :]
        auth, _, rest = rest.rpartition("@")
        hosts, _, path = rest.partition("/")
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise ValueError(f"{url!r}: the master's name is missing (…/mymaster)")
        sentinels = []
        for h in hosts.split(","):
            host, colon, port = h.rpartition(":")
            if not colon:
                host, port = h, ""
            sentinels.append((host or "127.0.0.1", int(port or 26379)))
        password = unquote(auth.partition(":")[2]) if auth else None
        return cls(sentinels, parts[0], int(parts[1]) if len(parts) > 1 else 0, password or None)


class _SentinelRedis(aioredis.Redis):
    """A client of the master the Sentinels name; closing it closes its Sentinel clients."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool: Any = self.connection_pool  # a SentinelConnectionPool
        for s in pool.sentinel_manager.sentinels:
            await s.aclose()


def connect(url: str, *, timeout: float = 5.0) -> aioredis.Redis:
    """The one Redis client factory (change feed, relay, msgid and nonce stores, visit
    memory): a client whose every command fails fast (no hidden retries: callers back
    off). A ``redis+sentinel://`` URL gives a client of the current master: after a
    failover its next connection asks the Sentinels again, so callers that back off
    and retry reach the new master."""
    options: dict[str, Any] = {
        "protocol": 2,
        "socket_timeout": timeout,
        "socket_connect_timeout": min(timeout, 2.0),
        "retry": Retry(NoBackoff(), 0),
    }
    if not url.startswith(SENTINEL_SCHEME):
        return aioredis.Redis.from_url(url, **options)
    s = SentinelUrl.parse(url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        s.sentinels,
        sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        socket_timeout=timeout,
    )
    client: aioredis.Redis = sentinel.master_for(
        s.master, redis_class=_SentinelRedis, db=s.db, password=s.password, **options
    )
    return client


async def stream_top(r: aioredis.Redis, keys: Keys) -> int | None:
    """The version of the highest ID the stream ever took (kept by Redis even when
    trimming emptied the stream); None when there is no stream."""
    try:
        info = await r.xinfo_stream(keys.stream)
    except aioredis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return None
        raise
    top = id_version(info["last-generated-id"])
    return top if top > 0 else None


async def snapshot_version(r: aioredis.Redis, keys: Keys) -> int | None:
    header = await r.getrange(keys.snapshot, 0, SNAP_HEADER_LEN - 1)
    return header_version(header if isinstance(header, bytes) else None)


def _entries(raw: Any) -> list[tuple[int, bytes]]:
    """(version, patch JSON) of XRANGE-style entries ``[(id, {field: value}), ...]``."""
    return [(id_version(entry), fields[PATCH_FIELD]) for entry, fields in raw or ()]


async def read_after(
    r: aioredis.Redis, keys: Keys, version: int, *, count: int, block_ms: int | None = None
) -> list[tuple[int, bytes]]:
    """Stream entries above ``version`` (XREAD, blocking up to ``block_ms`` when given)."""
    reply: Any = await r.xread({keys.stream: entry_id(version)}, count=count, block=block_ms)
    return _entries(reply[0][1]) if reply else []


async def last_entry(r: aioredis.Redis, keys: Keys) -> tuple[int, bytes] | None:
    """The stream's last entry (version, patch JSON), None when it has none."""
    reply: Any = await r.xrevrange(keys.stream, count=1)
    found = _entries(reply)
    return found[0] if found else None


async def first_after(r: aioredis.Redis, keys: Keys, version: int) -> int | None:
    """The version of the first stream entry above ``version`` (None: there is none)."""
    reply: Any = await r.xrange(keys.stream, min="(" + entry_id(version), count=1)
    found = _entries(reply)
    return found[0][0] if found else None


async def publish_patches(
    r: aioredis.Redis, keys: Keys, patches: list[Patch]
) -> list[int | Exception]:
    """XADD each patch with its explicit ID, pipelined; per patch its version, or the
    error Redis answered (a refused ID included)."""
    pipe = r.pipeline(transaction=False)
    for patch in patches:
        fields: dict[Any, Any] = {PATCH_FIELD: encode_patch(patch)}
        pipe.xadd(keys.stream, fields, id=entry_id(patch["version"]))
    results: list[Any] = await pipe.execute(raise_on_error=False)
    return [
        res if isinstance(res, Exception) else p["version"]
        for p, res in zip(patches, results, strict=True)
    ]


def cancelling() -> bool:
    """True when the current task is being cancelled. A retry loop's ``except
    Exception`` checks it: a library may turn a cancellation into an ordinary error
    (Python 3.11's timeouts can), and a loop that retries it would never stop."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def cancel_and_wait(*tasks: asyncio.Task[Any], give_up_s: float = 10.0) -> None:
    """Cancel ``tasks`` and wait until all are done: all are cancelled before the first
    wait (none is left running if this wait is itself cancelled), a task that swallowed
    its cancellation is cancelled again, and a cancellation of the caller is re-raised
    only once they are all done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_s
    interrupted = False
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        try:
            _, pending = await asyncio.wait(pending, timeout=1.0)
        except asyncio.CancelledError:
            interrupted = True
        if pending and loop.time() > deadline:
            raise TimeoutError(f"tasks do not stop: {sorted(t.get_name() for t in pending)}")
    for task in tasks:
        if not task.cancelled():
            task.exception()  # an error it died of before the cancel is not worth a warning
    if interrupted:
        raise asyncio.CancelledError


class Backoff:
    """Exponential backoff with jitter: 0.1 s doubling up to ``cap``; reset on success."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def sleep(self) -> None:
        await asyncio.sleep(self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.cap, self.delay * 2)

"""Redis that survives its master: with a ``redis+sentinel://`` URL the one client
factory (``app.sync.redis_keys.connect``: change feed, relay, msgid and nonce stores,
visit memory) follows a failover. A master, its replica and a Sentinel are started
here; the master is killed (SIGKILL) while entries are being appended to a stream (the
change feed's shape); the same client goes on against the promoted replica, and every
entry acknowledged by the replica before the kill is still there."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.exceptions

from app.sync.redis_keys import SentinelUrl, connect

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")
MASTER = "ybgate"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server(tmp: Path, name: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    d = tmp / name
    d.mkdir()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d)]
    args += ["--save", "", "--appendonly", "no", *extra]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """(sentinel URL, master port, master process): master, replica, one Sentinel."""
    mport, rport, sport = free_port(), free_port(), free_port()
    master = server(tmp_path, "master", mport)
    replica = server(tmp_path, "replica", rport, "--replicaof", "127.0.0.1", str(mport))
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sport}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {mport} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 5000\n"
    )
    sentinel = subprocess.Popen(
        ["redis-server", str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_replica_known(sport, rport)
        yield f"redis+sentinel://127.0.0.1:{sport}/{MASTER}", mport, master
    finally:
        for p in (sentinel, replica, master):
            p.kill()
            p.wait()


def wait_for_replica_known(sentinel_port: int, replica_port: int, seconds: float = 60.0) -> None:
    """Until the Sentinel has found the replica (it learns of it from the master's INFO,
    every 10 s at first) and the replica is in sync: a master killed before that has no
    replica to promote, and no failover ever comes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with redis.Redis(port=sentinel_port, socket_timeout=1) as s:
                replicas = s.execute_command("SENTINEL", "REPLICAS", MASTER)
            with redis.Redis(port=replica_port, socket_timeout=1) as r:
                linked = r.info("replication").get("master_link_status") == "up"
            if replicas and linked:
                return
        except (redis.exceptions.RedisError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the Sentinel did not learn of the replica in {seconds} s")


def test_sentinel_url() -> None:
    s = SentinelUrl.parse("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/feed/2")
    assert s == SentinelUrl([("10.0.0.1", 26379), ("10.0.0.2", 26379)], "feed", 2, "s3cret")
    with pytest.raises(ValueError, match="master"):
        SentinelUrl.parse("redis+sentinel://10.0.0.1:26379")


async def until(fn: Callable[[], Awaitable[Any]], seconds: float = 60.0) -> Any:
    """Call ``fn`` until it stops raising a connection error (a failover in progress)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await fn()
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.ReadOnlyError,
            redis.exceptions.ResponseError,
        ):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_master_killed_under_writes_the_client_follows_the_new_master(
    topology: tuple[str, int, subprocess.Popen[bytes]],
) -> None:
    url, old_port, master = topology
    r = connect(url, timeout=1.0)
    acked: list[bytes] = []

    def append(i: int) -> Callable[[], Awaitable[Any]]:
        return lambda: r.xadd("feed", {"v": str(i)})

    for i in range(200):
        acked.append(await until(append(i)))
    assert await until(lambda: r.wait(1, 2000)) == 1  # the replica has all of them
    master.kill()  # SIGKILL, while the writer goes on
    master.wait()
    for i in range(200, 300):
        acked.append(await until(append(i)))
    entries = await until(lambda: r.xrange("feed"))
    info = await until(lambda: r.info("server"))
    await r.aclose()
    assert int(info["tcp_port"]) != old_port  # the promoted replica answers now
    assert [e[0] for e in entries] == acked
    assert [e[1][b"v"] for e in entries] == [str(i).encode() for i in range(300)]

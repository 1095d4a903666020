"""The production profile as processes, for the sync tests: the admin API, the relay and
gatekeepers (``python -m app.cli serve ...``) checked from outside through
``GET /v1/physicians/{code}/eligibility`` with an HIS token; and a Redis of a master, a
replica and three Sentinels (``make run-prod``'s topology) on free loopback ports."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from tests.sync.support import DAY, INST, Admin, Proc, Procs, RedisServer, free_port, wait_until


@dataclass
class Cluster:
    procs: Procs
    http: httpx.AsyncClient
    admin: Admin
    his: dict[str, str] = field(default_factory=dict)
    gatekeepers: dict[int, Proc] = field(default_factory=dict)

    def start_gatekeeper(self, port: int) -> Proc:
        proc = self.procs.spawn(
            f"gatekeeper-{port}", "-m", "app.cli", "serve", "gatekeeper", "--port", str(port)
        )
        self.gatekeepers[port] = proc
        return proc

    async def ready(self, port: int, within: float = 30) -> dict[str, object]:
        async def check() -> dict[str, object] | None:
            try:
                r = await self.http.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.TransportError:
                return None
            return dict(r.json()) if r.status_code == 200 else None

        return dict(await wait_until(check, within, f"gatekeeper :{port} ready", 0.05))

    async def eligibility(self, port: int, code: str) -> dict[str, object]:
        r = await self.http.get(
            f"http://127.0.0.1:{port}/v1/physicians/{code}/eligibility",
            params={"institution": INST, "date": DAY.isoformat()},
            headers=self.his,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


@asynccontextmanager
async def start_cluster(procs: Procs) -> AsyncIterator[Cluster]:
    """The admin API (as a process, bootstrap token) and the relay; gatekeepers are
    started by the test (``Cluster.start_gatekeeper``)."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    procs.spawn(
        "admin",
        "-m",
        "app.cli",
        "serve",
        "admin",
        "--port",
        str(port),
        YBGATE_BOOTSTRAP_ADMIN_TOKEN=token,
    )
    procs.relay()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

        async def admin_up() -> bool:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(admin_up, 30, "the admin API", 0.05)
        yield Cluster(procs, http, Admin(http, {"Authorization": f"Bearer {token}"}))


async def hammer(
    cluster: Cluster, ports: list[int], codes: list[str], stats: dict[str, int]
) -> None:
    """HIS requests to every gatekeeper, in turn, for ever: ``stats`` counts the answered
    ("ok") and the failed (an error status or no answer)."""
    while True:
        for port in ports:
            for code in codes:
                try:
                    await cluster.eligibility(port, code)
                    stats["ok"] += 1
                except (AssertionError, httpx.TransportError):
                    stats["failed"] += 1


class SentinelTopology:
    """A master, its replica and three Sentinels (quorum 2), each a redis-server of the
    test's own on a free loopback port; ``url`` is what every component is given."""

    NAME = "ybgate"

    def __init__(self, tmp: Path) -> None:
        self.master = RedisServer(tmp / "master")
        self.master.start()
        self.replica = RedisServer(
            tmp / "replica", "--replicaof", "127.0.0.1", str(self.master.port)
        )
        self.replica.start()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        for i, port in enumerate(self.sentinel_ports):
            d = tmp / f"sentinel{i}"
            d.mkdir()
            conf = d / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                f"sentinel monitor {self.NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.NAME} 1000\n"
                f"sentinel failover-timeout {self.NAME} 5000\n"
            )
            with open(d / "sentinel.log", "ab") as log:
                self.sentinels.append(
                    subprocess.Popen(
                        ["redis-server", str(conf), "--sentinel"], stdout=log, stderr=log
                    )
                )
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        self.url = f"redis+sentinel://{hosts}/{self.NAME}"

    def _ask(self, port: int, *command: str) -> object:
        with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as r:
            return r.execute_command(*command)

    def settled(self) -> bool:
        """Every Sentinel knows the replica and the two other Sentinels, and the replica
        is in sync: a failover can be agreed on."""
        try:
            for port in self.sentinel_ports:
                if not self._ask(port, "SENTINEL", "REPLICAS", self.NAME):
                    return False
                if len(self._ask(port, "SENTINEL", "SENTINELS", self.NAME)) != 2:  # type: ignore[arg-type]
                    return False
            with redis.Redis(port=self.replica.port, socket_timeout=1) as r:
                info = r.info("replication")
        except (redis.exceptions.RedisError, OSError):
            return False
        return bool(info.get("master_link_status") == "up")

    def master_port(self) -> int | None:
        """The master's port as a majority of the Sentinels name it now."""
        named: list[int] = []
        for port in self.sentinel_ports:
            try:
                addr = self._ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.NAME)
            except (redis.exceptions.RedisError, OSError):
                continue
            if isinstance(addr, list):
                named.append(int(addr[1]))
        for p in set(named):
            if named.count(p) >= 2:
                return p
        return None

    def stop(self) -> None:
        for p in self.sentinels:
            p.kill()
            p.wait(10)
        self.replica.kill()
        self.master.kill()

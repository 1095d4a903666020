"""The record under concurrency and its hygiene, against the real server
(parallel deductions for one physician on both databases, RFC 3339
timestamps from SQLite, the bootstrap token, demo tokens, the SQLite file's mode)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.hardening.conftest import ADMIN, CLI, ServeFn, base_env

CODE = "YB330102198001011234000000001"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _world(base: str) -> None:
    with httpx.Client(base_url=base, headers=ADMIN, timeout=10) as c:
        for path, body in (
            ("/admin/v1/regions", {"code": "330100", "name": "杭州市", "policy": "zhejiang-2014"}),
            (
                "/admin/v1/institutions",
                {
                    "code": "H33010200001",
                    "name": "医院",
                    "region": "330100",
                    "agreement_starts_on": "2024-01-01",
                },
            ),
            ("/admin/v1/physicians", {"certificate_no": CODE[2:], "name": "张医生"}),
            (
                "/admin/v1/agreements",
                {
                    "physician_code": CODE,
                    "institution_code": "H33010200001",
                    "starts_on": "2024-01-01",
                },
            ),
        ):
            r = c.post(path, json=body)
            assert r.status_code == 201, r.text


async def _parallel_deductions(base: str, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=60, limits=limits) as c:

        async def one(i: int) -> httpx.Response:
            day = f"2026-03-{i + 1:02d}"
            body = {
                "physician_code": CODE,
                "region": "330100",
                "item": "3.1",
                "occurred_on": day,
                "decided_on": day,
            }
            return await c.post("/admin/v1/violations", json=body)

        return list(await asyncio.gather(*(one(i) for i in range(n))))


def _deduct_in_parallel(serve: ServeFn, url: str) -> None:
    """10 parallel violations for one physician (zhejiang-2014 三（一）: 3.1 = 2 points
    each): every answer is a 201 (was 1 x 201 and 9 x 500 on SQLite), and the ledger holds
    each of them exactly once."""
    server = serve("all", url, ready_path="/readyz")
    _world(server.base)
    answers = asyncio.run(_parallel_deductions(server.base, 10))
    assert [r.status_code for r in answers] == [201] * 10, [r.text for r in answers]
    ids = sorted(r.json()["id"] for r in answers)
    with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as c:
        listed = c.get("/admin/v1/violations", params={"physician": CODE}).json()["items"]
        assert sorted(v["id"] for v in listed) == ids
        standing = c.get(f"/admin/v1/physicians/{CODE}", params={"as_of": "2026-03-31"}).json()
    (period,) = [p for p in standing["points"] if p["period"].startswith("2026")]
    assert period["deducted"] == 20


def test_parallel_deductions_for_one_physician_on_sqlite(serve: ServeFn, sqlite_url: str) -> None:
    _deduct_in_parallel(serve, sqlite_url)


def test_parallel_deductions_for_one_physician_on_postgresql(serve: ServeFn, fresh_pg: str) -> None:
    _deduct_in_parallel(serve, fresh_pg)


def test_sqlite_timestamps_are_rfc3339_with_offset(serve: ServeFn, sqlite_url: str) -> None:
    server = serve("all", sqlite_url, ready_path="/readyz")
    _world(server.base)
    with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as c:
        stamps: list[Any] = [c.get(f"/admin/v1/physicians/{CODE}").json().get("created_at")]
        stamps += [e["at"] for e in c.get("/admin/v1/audit").json()["items"]]
        stamps += [t["created_at"] for t in c.get("/admin/v1/tokens").json()["items"]]
    stamps = [s for s in stamps if s is not None]
    assert len(stamps) >= 5
    for s in stamps:
        assert RFC3339.match(s), s


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_a_short_bootstrap_token_refuses_to_start(tmp_path: Path, sqlite_url: str) -> None:
    env = base_env(sqlite_url, tmp_path, YBGATE_BOOTSTRAP_ADMIN_TOKEN="x")
    for args in (["migrate"], ["serve", "all", "--port", "1"]):
        done = _cli(env, tmp_path, *args)
        assert done.returncode != 0
        assert "at least 24 characters" in done.stderr


def test_changing_the_bootstrap_token_revokes_the_previous_one(
    serve: ServeFn, sqlite_url: str
) -> None:
    first = serve("all", sqlite_url)
    with httpx.Client(base_url=first.base, timeout=10) as c:
        assert c.get("/admin/v1/regions", headers=ADMIN).status_code == 200
    first.stop()
    new_token = "another-bootstrap-token-9876543210"
    second = serve("all", sqlite_url, YBGATE_BOOTSTRAP_ADMIN_TOKEN=new_token)
    with httpx.Client(base_url=second.base, timeout=10) as c:
        assert c.get("/admin/v1/regions", headers=ADMIN).status_code == 401
        fresh = {"Authorization": f"Bearer {new_token}"}
        assert c.get("/admin/v1/regions", headers=fresh).status_code == 200
        tokens = c.get("/admin/v1/tokens", headers=fresh, params={"limit": 500}).json()["items"]
    boot = [t for t in tokens if t.get("label") == "bootstrap"]
    assert sum(t["revoked_at"] is None for t in boot) == 1


def test_seed_keeps_one_demo_superuser_token(tmp_path: Path, sqlite_url: str) -> None:
    env = base_env(sqlite_url, tmp_path)
    env.pop("YBGATE_BOOTSTRAP_ADMIN_TOKEN")
    printed = []
    for _ in range(3):
        done = _cli(env, tmp_path, "seed")
        assert done.returncode == 0, done.stderr
        (admin,) = re.findall(r"admin \(superuser\): (\S+)", done.stdout)
        printed.append(admin)
    assert len(set(printed)) == 3
    db = sqlite3.connect(sqlite_url.split("///", 1)[1])
    rows = db.execute(
        "SELECT role, label, revoked_at FROM api_tokens WHERE label = 'demo'"
    ).fetchall()
    db.close()
    valid = [r for r in rows if r[2] is None]
    assert sorted(r[0] for r in valid) == ["his", "superuser"], rows


def test_the_sqlite_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "ybgate.db"
    env = base_env(f"sqlite+aiosqlite:///{path}", tmp_path)
    old = os.umask(0o022)
    try:
        assert _cli(env, tmp_path, "migrate").returncode == 0
    finally:
        os.umask(old)
    for p in path.parent.iterdir():
        if p.name.startswith("ybgate.db"):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_a_command_beside_the_running_server_leaves_its_sqlite_connections_whole(
    serve: ServeFn, sqlite_url: str, tmp_path: Path
) -> None:
    """`ybgate token …` (or `import roster`, `calendar load`) while `make run` serves: the
    server's connections keep their locks, so the command does not take itself for the
    last user and remove the WAL under them ("disk I/O error" on the next write)."""
    server = serve("all", sqlite_url)
    env = base_env(sqlite_url, tmp_path)
    for region in ("330100", "330200", "330300"):
        with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as c:
            body = {"code": region, "name": f"R{region}", "policy": "zhejiang-2014"}
            r = c.post("/admin/v1/regions", json=body)
        assert r.status_code == 201, r.text
        done = _cli(env, tmp_path, "token", "operator", "--region", region)
        assert done.returncode == 0, done.stderr
    assert "disk I/O error" not in server.log_path.read_text()

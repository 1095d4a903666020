"""``ybgate import roster FILE [--commit]`` as an operator runs it: a subprocess on a
committed database, with a progress line for a large file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.admin import flows
from tests.conftest import LIVE_TOKEN
from tests.imports.test_roster import H1, LZ, cert, csv

SU = {"Authorization": f"Bearer {LIVE_TOKEN}"}


def ybgate(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YBGATE_DATABASE_URL": db}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_cli_dry_run_commit_repeat_and_errors(
    live: httpx.AsyncClient, fresh_db: str, tmp_path: Path
) -> None:
    await flows.region(live, SU, LZ, "lanzhou-2014")
    await flows.institution(live, SU, H1, region=LZ)
    n = 6000
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv(*[f"{cert(i)},医师{i},,{H1},2026-01-01," for i in range(n)]))

    dry = await asyncio.to_thread(ybgate, fresh_db, "import", "roster", str(roster))
    assert dry.returncode == 0, dry.stderr
    assert f"试运行（未写入）：共 {n} 行，有效 {n} 行，错误 0 处；新建医师 {n} 名" in dry.stdout
    assert "检查" in dry.stderr  # the progress line of a large file
    r = await live.get(f"/admin/v1/physicians/YB{cert(0)}", headers=SU)
    assert r.status_code == 404

    done = await asyncio.to_thread(ybgate, fresh_db, "import", "roster", str(roster), "--commit")
    assert done.returncode == 0, done.stderr
    assert f"已导入：共 {n} 行" in done.stdout and "写入" in done.stderr
    for i in (0, n - 1):
        r = await live.get(f"/admin/v1/physicians/YB{cert(i)}", headers=SU)
        assert r.status_code == 200

    again = await asyncio.to_thread(ybgate, fresh_db, "import", "roster", str(roster), "--commit")
    assert again.returncode == 0 and "新建医师 0 名、协议 0 份" in again.stdout

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv(f"{cert(n + 1)},新医师,,{H1},2026-01-01,", f"{cert(n + 2)},,,{H1},x,"))
    out = await asyncio.to_thread(ybgate, fresh_db, "import", "roster", str(bad), "--commit")
    assert out.returncode == 1
    assert "第 2 行 name（姓名）：不能为空" in out.stdout and "未写入" in out.stdout
    r = await live.get(f"/admin/v1/physicians/YB{cert(n + 1)}", headers=SU)
    assert r.status_code == 404, "all or nothing"


async def test_concurrent_imports_of_one_file_create_each_record_once(
    live: httpx.AsyncClient,
) -> None:
    """Two commits of the same roster at once (PostgreSQL, committed data): one creates
    everything; the other creates nothing, or is refused with 409 and writes nothing."""
    await flows.region(live, SU, LZ, "lanzhou-2014")
    await flows.institution(live, SU, H1, region=LZ)
    n = 300
    data = csv(*[f"{cert(i)},医师{i},,{H1},2026-01-01," for i in range(n)])

    async def commit() -> httpx.Response:
        files = {"file": ("roster.csv", data)}
        params = {"dry_run": "false"}
        return await live.post("/admin/v1/imports/roster", params=params, files=files, headers=SU)

    first, second = await asyncio.gather(commit(), commit())
    statuses = sorted((first.status_code, second.status_code))
    assert statuses in ([200, 200], [200, 409]), (first.text, second.text)
    created = sorted(
        r.json()["creates"]["physicians"] for r in (first, second) if r.status_code == 200
    )
    assert created[-1] == n and sum(created) == n
    if statuses == [200, 409]:
        loser = first if first.status_code == 409 else second
        assert loser.json()["type"].endswith("/import-raced")
    page = (await live.get("/admin/v1/physicians", params={"limit": 500}, headers=SU)).json()
    assert len(page["items"]) == n

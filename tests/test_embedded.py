"""Smoke test of the embedded default (`make run`): SQLite, no Redis, one process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TOKEN = "smoke-admin-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "YBGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ybgate.db'}",
        "YBGATE_BOOTSTRAP_ADMIN_TOKEN": TOKEN,
        "YBGATE_DECISION_LOG_DIR": str(tmp_path / "decisions"),
    }
    env.pop("YBGATE_REDIS_URL", None)
    cli = [sys.executable, "-m", "app.cli"]
    for step in (["migrate"], ["seed"], ["seed"]):  # seeding twice must be harmless
        subprocess.run(
            [*cli, *step], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120
        )
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [*cli, "serve", "all", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the embedded app did not become ready")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_embedded_profile_serves_admin_and_hot_path_from_one_registry(embedded: str) -> None:
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=embedded, timeout=10) as c:
        page = c.get("/admin/v1/physicians", params={"limit": 500}, headers=admin).json()
        assert len(page["items"]) == 500 and page["next_offset"] == 500
        assert len(c.get("/admin/v1/regions", headers=admin).json()["items"]) == 2
        his = {
            "Authorization": "Bearer "
            + c.post("/admin/v1/institutions/H33010200001/tokens", headers=admin).json()["token"]
        }
        agreements = c.get(
            "/admin/v1/agreements", params={"institution": "H33010200001"}, headers=admin
        ).json()["items"]
        active = next(a for a in agreements if a["terminated_on"] is None and not a["suspensions"])
        code = active["physician_code"]

        def decide(day: str) -> dict[str, Any]:
            body = {
                "settlement_id": "S1",
                "institution_code": "H33010200001",
                "lines": [
                    {"line_id": "1", "physician_code": code, "service_date": day, "amount": "12.50"}
                ],
            }
            r = c.post("/v1/settlements/validate", json=body, headers=his)
            assert r.status_code == 200, r.text
            decision: dict[str, Any] = r.json()
            return decision

        assert decide("2026-06-15")["outcome"] == "accept"
        r = c.get(
            f"/v1/physicians/{code}/eligibility",
            params={"institution": "H33010200001"},
            headers=admin,
        )
        assert r.status_code == 403, "an admin token is valid, but not for the HIS API"
        r = c.post(
            f"/admin/v1/agreements/{active['id']}/suspend",
            headers=admin,
            json={"starts_on": "2026-06-01", "ends_on": "2026-06-30", "reason": "smoke"},
        )
        assert r.status_code == 200
        inside = decide("2026-06-15")
        assert inside["lines"][0]["reason"] == "AGREEMENT_SUSPENDED"
        assert inside["rejected_amount"] == "12.50"
        assert decide("2026-07-01")["outcome"] == "accept"
        assert "/v1/settlements/validate" in c.get("/openapi.json").json()["paths"]

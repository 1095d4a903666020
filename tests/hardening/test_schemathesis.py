"""A bounded schemathesis run over both OpenAPI documents: the admin API's
(``ybgate serve all``, with a superuser token; the hot-path operations it also lists are
left to the second run) and the gatekeeper's (``ybgate serve gatekeeper``, with an HIS
token), both on the demo data. Checks: no 5xx, no response that violates the documented
schema. The figures are printed (run with ``-s``).

Token revocation is left out of the admin run: the fuzzer would revoke its own token.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.hardening.conftest import ADMIN, CLI, ServeFn, base_env

ST = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
CHECKS = "not_a_server_error,response_schema_conformance"


def _run(
    tmp: Path, name: str, schema_url: str, token: str, examples: int, *extra: str
) -> dict[str, Any]:
    report = tmp / f"schemathesis-{name}.json"
    done = subprocess.run(
        [
            *ST,
            "run",
            schema_url,
            "--checks",
            CHECKS,
            "--max-examples",
            str(examples),
            "--seed",
            "20261130",
            "--no-shrink",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "30",
            "--header",
            f"Authorization: {token}",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp,  # schemathesis writes its .schemathesis/ cache into the working directory
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    doc: dict[str, Any] = json.loads(report.read_text())
    doc["output"] = done.stdout[-6000:]
    return doc


def _figures(name: str, doc: dict[str, Any]) -> tuple[int, int, int]:
    failures = doc["failures"]
    server_errors = sum(f["count"] for f in failures if f["type"] == "ServerError")
    violations = sum(f["count"] for f in failures if f["type"] != "ServerError")
    cases = doc["test_cases"]["generated"]
    print(
        f"\nschemathesis {name}: {doc['operations']['tested']} operations, {cases} requests, "
        f"{server_errors} 5xx, {violations} schema violations"
    )
    return cases, server_errors, violations


def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    serve: ServeFn, sqlite_url: str, tmp_path: Path
) -> None:
    env = base_env(sqlite_url, tmp_path)
    seeded = subprocess.run(
        [*CLI, "seed"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert seeded.returncode == 0, seeded.stderr
    admin = serve("all", sqlite_url, ready_path="/readyz")
    r = httpx.post(admin.base + "/admin/v1/institutions/H33010200001/tokens", headers=ADMIN)
    assert r.status_code == 201, r.text
    his = f"Bearer {r.json()['token']}"
    gatekeeper = serve("gatekeeper", sqlite_url, ready_path="/readyz")

    runs = {
        "admin": _run(
            tmp_path,
            "admin",
            admin.base + "/openapi.json",
            ADMIN["Authorization"],
            8,
            "--exclude-path-regex",
            r"^/v1/|/revoke$",
        ),
        "gatekeeper": _run(tmp_path, "gatekeeper", gatekeeper.base + "/openapi.json", his, 40),
    }
    for name, doc in runs.items():
        cases, server_errors, violations = _figures(name, doc)
        assert cases > 100
        assert (server_errors, violations) == (0, 0), doc["output"]
        assert doc["errors"] == [], doc["output"]
    assert admin.proc.poll() is None and gatekeeper.proc.poll() is None

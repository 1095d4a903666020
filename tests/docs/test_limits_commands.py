"""The shell blocks of docs/limits.md marked ``run=tests/docs/test_limits_commands.py``,
run: the fuzz target as written, and the queries against a pre-forked gatekeeper on a
port of the test's own (the other blocks run in tests/docs/test_commands.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from app.core.migrate import upgrade
from tests.hardening.conftest import Server, base_env

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "limits.md"


def commands() -> list[str]:
    marker = "run=tests/docs/test_limits_commands.py"
    blocks = re.findall(r"```sh " + re.escape(marker) + r"\n(.*?)```", DOC.read_text(), re.S)
    out = []
    for block in blocks:
        for line in block.splitlines():
            cmd = line.split("  #")[0].strip()
            if cmd:
                out.append(cmd)
    return out


def test_the_doc_has_commands() -> None:
    assert any(c.startswith("make fuzz") for c in commands())
    assert any(c.startswith("curl") for c in commands())


def test_every_command_in_docs_limits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ybgate.db'}"
    upgrade(url)
    server = Server("gatekeeper", base_env(url, tmp_path), tmp_path, ("--workers", "2"))
    try:
        server.wait_ready("/readyz")
        for cmd in commands():
            if cmd.startswith("make fuzz"):
                run = subprocess.run(
                    cmd, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=900
                )
                assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
                assert "agreed on every one" in run.stdout, run.stdout[-2000:]
            elif cmd.startswith("curl "):
                local = cmd.replace("localhost:8000", f"localhost:{server.port}")
                run = subprocess.run(local, shell=True, capture_output=True, text=True, timeout=30)
                assert run.returncode == 0 and '"workers":2' in run.stdout, run
                assert '"worker_restarts":0' in run.stdout, run.stdout
            else:
                pytest.fail(f"a command in docs/limits.md that no test runs: {cmd}")
    finally:
        server.stop()

"""Running a page's shell block as its reader would: the block under a heading, run by
bash with ``set -euo pipefail``, each ``curl`` answer on a line of its own."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any


def shell_block(doc: Path, heading: str) -> str:
    """The first ```sh block after ``heading`` in ``doc`` that names its runner
    (```sh run=FILE)."""
    text = doc.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    found = re.search(r"```sh run=[^\n]*\n(.*?)```", section, re.S)
    assert found, f"no shell block under {heading}"
    return found.group(1)


async def run_block(doc: Path, heading: str, cwd: Path, env: dict[str, str]) -> list[Any]:
    """Run the block; the JSON documents it printed, in order (it must succeed)."""
    script = "set -euo pipefail\n" + shell_block(doc, heading).replace("\ncurl", "\necho; curl")
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

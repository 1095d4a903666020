"""Every shell command in the docs runs, so the docs cannot drift from the product.

The commands are the lines of the ```` ```sh ```` blocks of README.md and docs/*.md
(a line ending in ``\\`` continues on the next), and the ``$ `` lines of any other block.
Each is either

- run here (``RUN_HERE``): ``curl`` and ``ybgate`` lines and shell assignments, in one
  bash per block, against a live embedded server (``ybgate serve all``) seeded with the
  demo data, with ``$ADMIN`` and ``$HIS`` set as ``make run`` prints them; ``curl`` fails
  on an HTTP error, ``127.0.0.1:8000`` is the live server, ``ybgate serve …`` is started,
  awaited until ready and stopped; a block marked ```` ```json file=NAME ```` (any
  language) is written to NAME in the page's working directory first; or
- run by a test of its own: a block marked ```` ```sh run=tests/….py ```` (a set-up this
  server does not have, e.g. a signed request); that test file must name the page; or
- run elsewhere (``ELSEWHERE``): make targets and scripts, each naming the CI step or
  test that runs it; that file must contain the command, and be ``.ci/run``, the
  ``Makefile`` or a script ``.ci/run`` calls.

A command that is neither fails the test. A new page in docs/ is picked up as it is; a
new kind of command gets a line in ``ELSEWHERE`` (or a way to run it here).
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN_HERE = ("", "curl", "ybgate")  # "": a line of shell assignments only
ELSEWHERE: dict[str, str] = {
    # command (its first words) -> the file that runs it (and contains it)
    "make test": ".ci/run",
    "make lint": ".ci/run",
    "make run": "scripts/smoke-run.sh",
    "make venv": "scripts/ci-no-compiler.sh",
    "make run-prod": "scripts/ci-make-targets.sh",
    "make bench": "scripts/ci-make-targets.sh",
    "make bench-serve": "scripts/ci-make-targets.sh",
    "make loadtest": "scripts/ci-make-targets.sh",
    "make bench-sync": "scripts/ci-make-targets.sh",
    "make bench-import": "scripts/ci-make-targets.sh",
    "make bench-console": "scripts/ci-make-targets.sh",
    "make bench-decisions": "scripts/ci-make-targets.sh",
    "make bench-scale": "scripts/ci-make-targets.sh",
    "make bench-frontend": "scripts/ci-make-targets.sh",
    "make schemas": "scripts/ci-make-targets.sh",
    "make migrate": "scripts/ci-make-targets.sh",
    "make format": "scripts/ci-make-targets.sh",
    "make lock": "scripts/ci-make-targets.sh",
    "make clean": "scripts/ci-make-targets.sh",
    "scripts/run-tests.sh": "Makefile",
    "make fuzz": ".ci/run",
    "scripts/fuzz-feefast.sh": "Makefile",
}
FENCE = re.compile(r"^```(\S*)(.*)$")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    info: str
    text: str

    @property
    def file(self) -> str | None:
        m = re.search(r"\bfile=(\S+)", self.info)
        return m.group(1) if m else None

    @property
    def runner(self) -> str | None:
        """The test that runs this block itself (``run=tests/….py``), if any."""
        m = re.search(r"\brun=(\S+)", self.info)
        return m.group(1) if m else None


def blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        yield Block(page, start + 1, m.group(1), m.group(2), "\n".join(body))
        i += 1


def commands(block: Block) -> list[str]:
    """The block's commands: sh lines (continuations joined), or ``$ `` lines."""
    raw = block.text.splitlines()
    if block.lang != "sh":
        raw = [ln[2:] for ln in raw if ln.startswith("$ ")]
    out: list[str] = []
    pending = ""
    for ln in raw:
        if ln.rstrip().endswith("\\"):
            pending += ln.rstrip()[:-1] + " "
            continue
        cmd = (pending + ln).strip()
        pending = ""
        if cmd and not cmd.startswith("#"):
            out.append(cmd)
    return out


def command_word(cmd: str) -> list[str]:
    """The words from the command's name on (leading assignments skipped; for ``X=$(cmd``
    the command substituted). Empty: assignments only."""
    words = shlex.split(cmd, comments=True)
    for i, word in enumerate(words):
        if not ASSIGN.match(word):
            return words[i:]
        value = word.split("=", 1)[1]
        if value.startswith("$("):
            return [value[2:], *words[i + 1 :]]
    return []


def where(cmd: str) -> str | None:
    """The file that runs ``cmd`` elsewhere (the longest matching ``ELSEWHERE`` key)."""
    words = command_word(cmd)
    found = None
    for key in ELSEWHERE:
        key_words = key.split()
        if words[: len(key_words)] == key_words and (
            found is None or len(key_words) > len(found.split())
        ):
            found = key
    return None if found is None else ELSEWHERE[found]


ALL = [(b, c) for page in PAGES for b in blocks(page) for c in commands(b)]


def _label(b: Block) -> str:
    return f"{b.page.relative_to(REPO)}:{b.line}"


def test_the_docs_have_commands_and_each_is_run_here_or_elsewhere() -> None:
    assert len(ALL) > 20
    orphans = [
        f"{_label(b)}: {c}"
        for b, c in ALL
        if b.runner is None
        and (command_word(c)[:1] or [""])[0] not in RUN_HERE
        and where(c) is None
    ]
    assert orphans == [], "run these here or list them in ELSEWHERE"


def test_a_block_run_by_its_own_test_is_named_there() -> None:
    for page in PAGES:
        for b in blocks(page):
            if b.runner is None:
                continue
            runner = REPO / b.runner
            assert runner.is_file(), f"{_label(b)}: no {b.runner}"
            assert page.name in runner.read_text(encoding="utf-8"), f"{b.runner}: {page.name}?"


def _runs(text: str, key: str) -> bool:
    """Whether a script's text runs ``key`` (``make X``; or ``starts X`` / ``completes X``
    in scripts/ci-make-targets.sh)."""
    if re.search(re.escape(key) + r"(?![\w-])", text):
        return True
    target = key.removeprefix("make ")
    return bool(re.search(rf"(?m)^\s*(starts|completes) {re.escape(target)}(\s|$)", text))


def test_every_command_run_elsewhere_is_in_the_file_named_and_that_file_runs_in_ci() -> None:
    ci = (REPO / ".ci/run").read_text(encoding="utf-8")
    for key, runner in ELSEWHERE.items():
        assert _runs((REPO / runner).read_text(encoding="utf-8"), key), f"{runner}: no `{key}`"
        assert runner in (".ci/run", "Makefile") or runner in ci, f".ci/run does not call {runner}"


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_between_pages_lead_somewhere() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            assert dest.exists(), f"{page.name}: link to missing {target}"
            if anchor and dest.suffix == ".md":
                heads = re.findall(r"^#+ (.+)$", dest.read_text(encoding="utf-8"), re.M)
                assert anchor in {_slug(h) for h in heads}, f"{page.name}: no #{anchor}"


# -- running them -------------------------------------------------------------------------
PRELUDE = r"""
set -euo pipefail
curl() { command curl --silent --show-error --fail-with-body "$@"; }
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
ybgate() {  # the CLI of this checkout; `serve` is started, awaited until ready, stopped
  if [ "$1" != serve ]; then "$PY" -m app.cli "$@"; return; fi
  local args=() skip=0 a port pid
  for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case $a in --port|--host) skip=1 ;; *) args+=("$a") ;; esac
  done
  port=$(free_port)
  YBGATE_DECISION_LOG_DIR=$PWD/serve-$port/decisions YBGATE_IDEMPOTENCY_DIR=$PWD/serve-$port/ids \
    "$PY" -m app.cli "${args[@]}" --host 127.0.0.1 --port "$port" >"serve-$port.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    if command curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; then
      kill "$pid"; wait "$pid" || true; return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "serve-$port.log" >&2; return 1; }
    sleep 0.2
  done
  kill "$pid"; cat "serve-$port.log" >&2; return 1
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    base: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`make run`'s embedded server on a free port, its own SQLite file, the demo data."""
    work = tmp_path_factory.mktemp("docs")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YBGATE_")}
    env.update(
        PY=sys.executable,
        YBGATE_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'ybgate.db'}",
        YBGATE_DECISION_LOG_DIR=str(work / "decisions"),
        YBGATE_IDEMPOTENCY_DIR=str(work / "msgids"),
    )
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=work, check=True, capture_output=True)
    seeded = subprocess.run(
        [*cli, "seed", "--port", str(port)], env=env, cwd=work, check=True, capture_output=True
    ).stdout.decode()
    tokens = re.search(r"export ADMIN=(\S+) HIS=(\S+)", seeded)
    assert tokens, seeded
    env.update(ADMIN=tokens.group(1), HIS=tokens.group(2))
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen(
        [*cli, "serve", "all", "--port", str(port)], env=env, cwd=work, stderr=log, stdout=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (work / "serve.log").read_text()
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield Live(base, env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_commands_of_a_page_run(live: Live, page: Path, tmp_path: Path) -> None:
    """Every ``curl`` and ``ybgate`` line of the page, block by block, in order."""
    page_blocks = list(blocks(page))
    for b in page_blocks:
        if b.file:
            (tmp_path / b.file).write_text(b.text + "\n", encoding="utf-8")
    host = live.base.removeprefix("http://")
    for b in page_blocks:
        if b.runner is not None:
            continue
        here = [c for c in commands(b) if (command_word(c)[:1] or [""])[0] in RUN_HERE]
        if not here:
            continue
        script = "\n".join(here).replace("127.0.0.1:8000", host).replace("localhost:8000", host)
        done = subprocess.run(
            ["bash", "-c", PRELUDE + script],
            env=live.env,
            cwd=tmp_path,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"{_label(b)} failed:\n{script}\n--- stdout\n{done.stdout.decode()[-3000:]}"
            f"\n--- stderr\n{done.stderr.decode()[-3000:]}"
        )

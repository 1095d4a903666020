"""Loading and validating policy files, and the registry of the shipped ones.

Policy files are TOML (stdlib ``tomllib``), one per policy, named ``<policy id>.toml``.
Every problem is reported as ``"<file>: <key path>: <message>"``, e.g.
``zhejiang-2014.toml: thresholds[2].action: Input should be 'interview', ...``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.rules.errors import PolicyFileError, UnknownPolicy
from app.rules.model import Policy

_PACKAGE_DIR = "policies"


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("thresholds", 2, "action")`` -> ``"thresholds[2].action"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _problems(exc: ValidationError) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    for err in exc.errors(include_url=False):
        if err["type"] == "policy":  # Policy._coherent: one "path: message" per line
            for line in err["msg"].splitlines():
                path, _, msg = line.partition(": ")
                problems.append((path, msg))
            continue
        problems.append((key_path(err["loc"]) or None, err["msg"]))
    return problems


def parse_policy(text: str, filename: str) -> Policy:
    """Parse and validate one policy file's text; ``filename`` names it in errors."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(filename, [(None, f"not valid TOML: {exc}")]) from exc
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyFileError(filename, _problems(exc)) from exc
    stem = filename.rsplit("/", 1)[-1].removesuffix(".toml")
    if filename.endswith(".toml") and stem != policy.id:
        raise PolicyFileError(filename, [("id", f"{policy.id!r} differs from the file name")])
    return policy


def load_policy_file(path: Path) -> Policy:
    """Read and validate a policy file (a fourth region's variant, a test's file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(path.name, [(None, f"cannot be read: {exc}")]) from exc
    return parse_policy(text, path.name)


@cache
def _shipped() -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    folder = resources.files("app.rules").joinpath(_PACKAGE_DIR)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            policy = parse_policy(entry.read_text(encoding="utf-8"), entry.name)
            found[policy.id] = policy
    return found


def list_policies() -> list[Policy]:
    """The shipped policies, by id."""
    return [policy for _, policy in sorted(_shipped().items())]


def get_policy(policy_id: str) -> Policy:
    """A shipped policy by id (cached); :class:`UnknownPolicy` when there is none."""
    try:
        return _shipped()[policy_id]
    except KeyError:
        known = ", ".join(sorted(_shipped()))
        raise UnknownPolicy(f"no policy {policy_id!r}; shipped: {known}", field="policy") from None

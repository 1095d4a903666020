"""The language-neutral contracts in ``schemas/``, generated from the code
(``ybgate schemas``); the tests of each part fail when a committed file is stale."""

from __future__ import annotations

from pathlib import Path


def write_schemas(directory: Path) -> list[Path]:
    from app.gatekeeper.plain.schemas import write_schemas as write_his
    from app.rules.schema import render_policy_json_schema

    directory.mkdir(parents=True, exist_ok=True)
    policy = directory / "policy.schema.json"
    policy.write_text(render_policy_json_schema(), encoding="utf-8")
    return [policy, *write_his(directory)]

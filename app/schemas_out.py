"""The language-neutral contracts in ``schemas/``, generated from the code
(``ybgate schemas``); tests fail when the committed files are stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def all_schemas() -> dict[str, dict[str, Any]]:
    from app.gatekeeper.schemas import his_json_schemas
    from app.rules.schema import policy_json_schema

    return {"policy.schema.json": policy_json_schema(), **his_json_schemas()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in sorted(all_schemas().items()):
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written

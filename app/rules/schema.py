"""The JSON Schema of policy files, generated from :class:`app.rules.model.Policy`.

``python -m app.rules.schema [PATH]`` rewrites ``schemas/policy.schema.json`` (or PATH);
a test fails when the committed file differs from :func:`render_policy_json_schema`.
A TOML policy file read as JSON (dates as ``YYYY-MM-DD`` strings) validates against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.rules.model import Policy

SCHEMA_ID = "https://ybgate.example/schemas/policy.schema.json"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schemas" / "policy.schema.json"


def policy_json_schema() -> dict[str, Any]:
    body = Policy.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **body,
        "title": "ybgate policy file",
        "description": "One region's points policy (app/rules/policies/<id>.toml), as data.",
    }


def render_policy_json_schema() -> str:
    return json.dumps(policy_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_policy_json_schema(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

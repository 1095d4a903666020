"""schemas/policy.schema.json is generated from the policy model and kept in step."""

from __future__ import annotations

import json
from pathlib import Path

from app.rules.schema import DEFAULT_PATH, main, policy_json_schema, render_policy_json_schema

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "policy.schema.json"


def test_committed_schema_matches_the_model() -> None:
    assert DEFAULT_PATH == COMMITTED
    assert COMMITTED.read_text(encoding="utf-8") == render_policy_json_schema(), (
        "schemas/policy.schema.json is stale: run `python -m app.rules.schema`"
    )


def test_schema_describes_the_policy_file() -> None:
    schema = policy_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert {"id", "code", "scoring", "items", "deadlines", "emergency"} <= set(schema["required"])
    threshold = schema["$defs"]["Threshold"]["properties"]
    assert set(threshold["action"]["enum"]) == {
        "interview",
        "suspend",
        "terminate",
        "cancel_code",
        "institution_flag",
        "institution_terminate",
    }
    assert set(threshold["status"]["enum"]) == {"applied", "pending"}


def test_module_entry_point_writes_the_schema(tmp_path: Path) -> None:
    target = tmp_path / "out" / "policy.schema.json"
    assert main([str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == policy_json_schema()

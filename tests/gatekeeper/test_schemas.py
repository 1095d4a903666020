"""schemas/his-*.schema.json are generated from the msgspec Structs and kept in step."""

from __future__ import annotations

from pathlib import Path

import msgspec

from app.gatekeeper.plain.schemas import (
    SCHEMA_DIR,
    SettlementDecision,
    SettlementRequest,
    his_json_schemas,
    render,
)


def test_committed_schemas_are_current() -> None:
    for name, schema in his_json_schemas().items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"{path} is missing: run `python -m app.gatekeeper.plain.schemas`"
        assert path.read_bytes() == render(schema), (
            f"{path} is stale: run `python -m app.gatekeeper.plain.schemas`"
        )


def test_the_contract_examples_fit_the_structs() -> None:
    request = {
        "settlement_id": "S20261124-0001",
        "institution_code": "H33010200001",
        "lines": [
            {
                "line_id": "1",
                "physician_code": "YB123",
                "service_date": "2026-11-20",
                "emergency": False,
                "item_code": "250101001",
                "amount": "12.50",
            }
        ],
    }
    msgspec.json.decode(msgspec.json.encode(request), type=SettlementRequest)
    response = {
        "settlement_id": "S20261124-0001",
        "decision_id": "0193",
        "registry_version": 1234,
        "outcome": "partial",
        "accepted_amount": "12.50",
        "rejected_amount": "30.00",
        "lines": [
            {"line_id": "1", "decision": "accept", "reason": None},
            {"line_id": "2", "decision": "reject", "reason": "AGREEMENT_SUSPENDED"},
            {
                "line_id": "3",
                "decision": "accept",
                "reason": "EMERGENCY_OVERRIDE",
                "overridden": "PHYSICIAN_UNREGISTERED",
            },
        ],
    }
    msgspec.json.decode(msgspec.json.encode(response), type=SettlementDecision)


def test_schema_dir_is_the_repository_s() -> None:
    assert Path(__file__).resolve().parents[2] / "schemas" == SCHEMA_DIR

"""The HIS wire format as msgspec Structs, and the JSON Schemas generated from them.

The request Structs are what the hot path decodes into (C-level validation: types,
lengths, ``date``). Amount *format* (at most 2 decimals) is checked after decoding over
all lines at once (see ``app.gatekeeper.plain.decide``); its pattern is documented here for the
schema. The response Structs describe what the hot path writes from pre-encoded fragments.

``python -m app.gatekeeper.plain.schemas`` writes ``schemas/his-*.schema.json``;
``tests/gatekeeper/test_schemas.py`` fails when the committed files are stale.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from app.rules.model import Reason  # the contract's reasons, in judgement order

AMOUNT_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"
Id64 = Annotated[str, Meta(min_length=1, max_length=64)]
# The length bound is checked while decoding; the pattern after (one pass over all lines).
Amount = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=18,
        description='Decimal string with at most 2 decimals, e.g. "12.50".',
        extra_json_schema={"pattern": AMOUNT_PATTERN},
    ),
]
LineReason = Literal[Reason, "EMERGENCY_OVERRIDE"]


class SettlementLine(msgspec.Struct, gc=False, forbid_unknown_fields=False):
    line_id: Id64
    physician_code: str
    service_date: dt.date
    emergency: bool = False
    item_code: str | None = None
    amount: Amount | None = None
    # The person who carried out the order (nhsa-2024 相关人员); judged like
    # physician_code when present and not empty.
    performer_code: str | None = None


class SettlementRequest(msgspec.Struct, gc=False):
    settlement_id: Id64
    institution_code: str
    lines: list[SettlementLine]


class LineDecision(msgspec.Struct, omit_defaults=True):
    line_id: Id64
    decision: Literal["accept", "reject"]
    reason: LineReason | None
    overridden: Reason | msgspec.UnsetType = msgspec.UNSET
    field: Literal["physician_code", "performer_code"] | msgspec.UnsetType = msgspec.UNSET


class SettlementDecision(msgspec.Struct):
    settlement_id: Id64
    decision_id: Annotated[str, Meta(description="UUIDv7: time-ordered, unique.")]
    registry_version: int
    outcome: Literal["accept", "reject", "partial"]
    accepted_amount: Annotated[str, Meta(pattern=r"^[0-9]+\.[0-9]{2}$")]
    rejected_amount: Annotated[str, Meta(pattern=r"^[0-9]+\.[0-9]{2}$")]
    lines: list[LineDecision]


class Eligibility(msgspec.Struct):
    physician_code: str
    institution_code: str
    date: dt.date
    eligible: bool
    reason: Reason | None
    registry_version: int


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | msgspec.UnsetType = msgspec.UNSET
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET


# Decoders reused by every request (msgspec caches nothing per call).
request_decoder = msgspec.json.Decoder(SettlementRequest)

SCHEMA_FILES: dict[str, type[msgspec.Struct]] = {
    "his-validate-request.schema.json": SettlementRequest,
    "his-validate-response.schema.json": SettlementDecision,
    "his-eligibility-response.schema.json": Eligibility,
}
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"


def his_json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (2020-12) of the HIS request and responses."""
    out: dict[str, dict[str, Any]] = {}
    for name, struct in SCHEMA_FILES.items():
        schema = msgspec.json.schema(struct)
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://ybgate.example/schemas/{name}",
            **schema,
        }
    return out


def render(schema: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(schema), indent=2) + b"\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in his_json_schemas().items():
        path = directory / name
        path.write_bytes(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(p)

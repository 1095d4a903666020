"""The field types and the base model of the policy file format (``app.rules.model``,
``app.rules.staff``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError


def _fixed_or_range(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, list | tuple):
        return tuple(value)
    raise PydanticCustomError(
        "fixed_or_range", "expected an integer or a [min, max] pair of integers"
    )


def _decimal(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:  # pragma: no cover - str(float) always parses
            pass
    raise PydanticCustomError("percent", "expected a number")


_RANGE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "integer", "minimum": 1},
        {
            "type": "array",
            "prefixItems": [{"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 1}],
            "minItems": 2,
            "maxItems": 2,
        },
    ],
    "description": "a fixed number, or [min, max] for a range the operator chooses from",
}

# (min, max); a fixed value n is (n, n).
FixedOrRange = Annotated[
    tuple[int, int], BeforeValidator(_fixed_or_range), WithJsonSchema(_RANGE_SCHEMA)
]
Percent = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 100}),
]
Clause = Annotated[str, Field(min_length=1, description="where the rule is in the document")]


class PolicyModel(BaseModel):
    """Strict (TOML types as they are), closed (unknown keys refused), immutable.
    Sequences are tuples, validated leniently only so that TOML arrays are accepted."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

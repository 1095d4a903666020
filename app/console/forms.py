"""Forms in, the admin API's own request models out; its errors back next to each field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.errors import ValidationFailed
from app.core.problems import json_path

M = TypeVar("M", bound=BaseModel)

CHECKBOX_TRUE = {"on", "true", "1", "yes"}


def parse(model: type[M], fields: dict[str, str], *, drop: tuple[str, ...] = ("csrf",)) -> M:
    """Validate form fields with the API's request model; empty fields are omitted. Raises
    the same ``ValidationFailed`` (422, one entry per field) the API would answer."""
    data: dict[str, Any] = {
        k: v.strip() for k, v in fields.items() if k not in drop and not k.startswith("_")
    }
    data = {k: v for k, v in data.items() if v != ""}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": json_path(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        raise ValidationFailed(errors) from exc


def flag(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "").strip().lower() in CHECKBOX_TRUE

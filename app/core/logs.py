"""Logging of the processes ``ybgate serve`` starts: uvicorn's own configuration, plus the
product's loggers (``ybgate.*``) at INFO on the same handler, so start-up facts (which
registry feed, which path serves POST /v1/hsa, spill replays) reach the log.

``YBGATE_LOG_FORMAT=json`` writes one JSON object a line instead (for a log pipeline):
``ts``, ``level``, ``logger``, ``msg``, the exception if any, and the ids a record
carries: those bound for the current task (:func:`bind`: ``request_id``,
``decision_id``, ``msgid``, ``institution``…) and those passed as ``extra``.
"""

from __future__ import annotations

import contextvars
import copy
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from uvicorn.config import LOGGING_CONFIG

IDS = ("request_id", "decision_id", "msgid", "institution", "infno", "settlement_id", "path")
_bound: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "ybgate_log_ids", default=None
)


def bind(**ids: str | None) -> contextvars.Token[dict[str, str] | None]:
    """Ids every record of the current task carries from now on (reset with the token)."""
    merged = dict(_bound.get() or {})
    merged.update({k: v for k, v in ids.items() if v is not None})
    return _bound.set(merged)


def unbind(token: contextvars.Token[dict[str, str] | None]) -> None:
    _bound.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(_bound.get() or {})
        for key in IDS:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(out).decode()


def log_config(fmt: str = "text") -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ybgate"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if fmt == "json":
        json_formatter = {"()": f"{__name__}.JsonFormatter"}
        config["formatters"] = {"default": json_formatter, "access": json_formatter}
    return config

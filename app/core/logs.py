"""Logging of the processes ``ybgate serve`` starts: uvicorn's own configuration, plus the
product's loggers (``ybgate.*``) at INFO on the same handler, so start-up facts (which
registry feed, which path serves POST /v1/hsa, spill replays) reach the log."""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG


def log_config() -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ybgate"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config

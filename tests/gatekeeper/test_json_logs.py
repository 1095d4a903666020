"""Operators can read the logs: with ``YBGATE_LOG_FORMAT=json`` a record is one JSON
object with its level, logger, message and the ids it concerns (bound for the task,
or passed with the record), and a failure's traceback."""

from __future__ import annotations

import json
import logging

from app.core.logs import JsonFormatter, bind, log_config, unbind


def record(msg: str, **extra: object) -> logging.LogRecord:
    r = logging.LogRecord("ybgate.decisions", logging.WARNING, __file__, 1, msg, (), None)
    r.__dict__.update(extra)
    return r


def test_a_record_carries_its_ids() -> None:
    token = bind(request_id="r-1", msgid="H1-0001")
    try:
        line = JsonFormatter().format(record("spilled", decision_id="0190-…"))
    finally:
        unbind(token)
    got = json.loads(line)
    assert got["level"] == "warning" and got["logger"] == "ybgate.decisions"
    assert (got["msg"], got["request_id"], got["msgid"]) == ("spilled", "r-1", "H1-0001")
    assert got["decision_id"] == "0190-…"
    assert "request_id" not in json.loads(JsonFormatter().format(record("later")))


def test_failures_keep_their_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        r = record("failed")
        r.exc_info = sys.exc_info()
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(r))["exc"]


def test_json_config_formats_uvicorn_and_product_logs() -> None:
    config = log_config("json")
    assert config["formatters"]["default"]["()"].endswith("JsonFormatter")
    assert config["loggers"]["ybgate"]["handlers"] == ["default"]
    assert "()" not in str(log_config("text")["formatters"]["default"].get("()", ""))

"""``GET /v1/physicians/{code}/eligibility``: the line judgement for one physician at the
token's institution on one date (default: today in Asia/Shanghai)."""

from __future__ import annotations

import time
from datetime import date, datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import msgspec

from app.core.errors import DomainError, Forbidden, ValidationFailed, field_error
from app.core.types import parse_day
from app.gatekeeper.edge.asgi import Scope, Send, send_bytes
from app.gatekeeper.host.runtime import Host
from app.gatekeeper.plain.schemas import Eligibility
from app.gatekeeper.readside.caller import caller
from app.registry.memo import STATS as MEMO

SHANGHAI = ZoneInfo("Asia/Shanghai")
ELIGIBILITY_PREFIX, ELIGIBILITY_SUFFIX = "/v1/physicians/", "/eligibility"


def _query_date(query: dict[str, list[str]], errors: list[dict[str, str]]) -> date:
    day = (query.get("date") or [""])[0]
    if not day:
        return datetime.now(SHANGHAI).date()
    try:
        parsed = parse_day(day)
    except ValueError as exc:
        errors.append(field_error("date", str(exc)))
        return date.min
    assert isinstance(parsed, date)
    return parsed


async def eligibility(app: Host, scope: Scope, send: Send, code: str) -> None:
    """The line judgement for one physician at the token's institution on one date."""
    t0 = time.perf_counter()
    try:
        reg, _, inst = caller(app, scope)
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
        institution = (query.get("institution") or [""])[0]
        errors: list[dict[str, str]] = []
        if not institution:
            errors.append(field_error("institution", "required"))
        when = _query_date(query, errors)
        if errors:
            raise ValidationFailed(errors)
        if institution != inst:
            raise Forbidden("This token may query its own institution only.")
        store = app.store
        with store.lock:
            reg = store.registry
            result = reg.context(inst).judge_code(code, when)[0]
            MEMO.lookups += 1
            version = reg.version
        reason = result.reason
        answer = Eligibility(code, inst, when, result.ok, reason, version)  # type: ignore[arg-type]
    except DomainError as err:
        app.metrics.observe_eligibility(str(err.status), time.perf_counter() - t0)
        raise
    await send_bytes(send, 200, msgspec.json.encode(answer))
    outcome = "eligible" if result.ok else "ineligible"
    app.metrics.observe_eligibility(outcome, time.perf_counter() - t0)

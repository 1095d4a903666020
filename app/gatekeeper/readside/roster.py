"""``GET /v1/roster``: the token's institution's physicians with their dated windows there,
from the gatekeeper's memory (no database).

Each physician: the agreements here (term, termination, suspensions), the visiting
registrations here, the code's cancellations and, for a physician present by a visit,
the agreements elsewhere (they decide rules 6/7 for the visit's lines). The institution's
own terms and suspensions come once, on top. ``since_version=N`` lists only what changed
after N (plus ``removed``: codes no longer at the institution); ``registry_version`` is
the N for the next call. Paged by code (``after``, ``limit``). Weak ``ETag`` from the
version at which this institution's roster last changed; ``If-None-Match`` → 304.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import msgspec

from app.core.errors import NotReady, ValidationFailed, field_error
from app.gatekeeper.edge.asgi import Scope, Send, send_bytes
from app.gatekeeper.edge.auth import institution_of
from app.gatekeeper.host.runtime import Host
from app.registry.compact import Registry
from app.registry.judge import Entry, Interval
from app.registry.roster import build_index

ROSTER_PATH = "/v1/roster"
DEFAULT_LIMIT, MAX_LIMIT = 1000, 5000
_INT_MAX = 2**63 - 1


def _span(s: Interval) -> dict[str, str | None]:
    return {"starts_on": s[0].isoformat(), "ends_on": _iso(s[1])}


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def physician_row(reg: Registry, code: str, entry: Entry, inst: str) -> dict[str, Any]:
    visits = [v for v in entry.visits if v.institution == inst]
    agreements = [a for a in entry.agreements if visits or a.institution == inst]
    return {
        "physician_code": code,
        "national_code": reg.aliases.get(code),
        "agreements": [
            {
                "institution_code": a.institution,
                "starts_on": a.starts_on.isoformat(),
                "ends_on": _iso(a.ends_on),
                "terminated_on": _iso(a.terminated_on),
                "suspensions": [_span(s) for s in a.suspensions],
            }
            for a in agreements
        ],
        "visits": [
            {"starts_on": v.starts_on.isoformat(), "ends_on": v.ends_on.isoformat()} for v in visits
        ],
        "cancellations": [_span(s) for s in entry.cancellations],
    }


_CURSOR = re.compile(r"[0-9A-Za-z]{0,64}")


def _int_param(query: dict[str, list[str]], name: str, low: int, high: int) -> int | None:
    raw = (query.get(name) or [""])[0]
    if raw == "":
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationFailed([field_error(name, f"must be an integer {low} to {high}")])
    return int(raw)


def _matches(header: bytes | None, etag: str) -> bool:
    if header is None:
        return False
    tags = [t.strip() for t in header.decode("latin-1").split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)


async def roster(app: Host, scope: Scope, send: Send) -> None:
    t0 = time.perf_counter()
    store = app.store
    reg = store.current
    if app.rt is None or reg is None:
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    inst = institution_of(reg, scope["headers"])
    headers = dict(scope["headers"])
    query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
    since = _int_param(query, "since_version", 0, _INT_MAX)
    limit = _int_param(query, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    after = (query.get("after") or [""])[0]
    if not _CURSOR.fullmatch(after):  # it goes into the ETag header: printable ASCII only
        raise ValidationFailed([field_error("after", "must be a physician code (A-Z, 0-9)")])
    await _ensure_index(app)
    with store.lock:
        reg = store.registry
        log = store.roster
        full = since is None or since < log.base
        mode = "full" if full else f"since-{since}"
        etag = f'W/"{inst}-{log.version_of(inst)}-{mode}-{after}-{limit}"'
        if _matches(headers.get(b"if-none-match"), etag):
            await send_bytes(send, 304, b"", extra=[(b"etag", etag.encode())])
            app.metrics.observe_op("roster", "304", time.perf_counter() - t0)
            return
        removed: list[str] = []
        if full:
            codes = sorted(log.codes_at(reg, inst))
        else:
            codes, removed = log.changed_since(reg, inst, since)  # type: ignore[arg-type]
        page = [c for c in codes if c > after][:limit] if after else codes[:limit]
        body = _render(reg, inst, since, full, page, removed if not after else [], limit)
    extra = [(b"etag", etag.encode()), (b"cache-control", b"private, no-cache")]
    await send_bytes(send, 200, body, extra=extra)
    app.metrics.observe_op("roster", "full" if full else "delta", time.perf_counter() - t0)


async def _ensure_index(app: Host) -> None:
    """Build the roster index off the store's lock (see app/registry/roster.py). Two
    first requests at once may both build; the first to finish installs its index."""
    store = app.store
    while store.roster.index is None:
        with store.lock:
            log = store.roster
            reg = store.registry
            copy, aliases, seen = reg.physicians.copy(), set(reg.alias_owner), len(log.codes)
        index = await asyncio.to_thread(build_index, copy, aliases)
        with store.lock:
            if store.roster is log:  # else a new registry was loaded meanwhile: again
                log.install(store.registry, index, seen, copy)


def _render(
    reg: Registry,
    inst: str,
    since: int | None,
    full: bool,
    page: list[str],
    removed: list[str],
    limit: int,
) -> bytes:
    state = reg.institutions.get(inst)
    phys = reg.physicians
    doc = {
        "institution_code": inst,
        "registry_version": reg.version,
        "since_version": since,
        "full": full,
        "institution": {
            "terms": [_span(t) for t in state.terms] if state else [],
            "suspensions": [_span(s) for s in state.suspensions] if state else [],
        },
        "physicians": [physician_row(reg, c, phys[c], inst) for c in page if c in phys],
        "removed": removed,
        "next_after": page[-1] if len(page) == limit else None,
    }
    return msgspec.json.encode(doc)

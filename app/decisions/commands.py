"""``ybgate decisions archive|restore|query``: the decision log's retention, by hand or
from a daily timer (``archive`` is idempotent: run it once a day)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from app.core.db import create_engine
from app.core.settings import Settings
from app.decisions import archive
from app.registry import decision_archive
from app.registry import decision_codec as codec


async def run_archive(settings: Settings, today: date | None = None) -> int:
    engine = create_engine(settings.database_url)
    try:
        if engine.dialect.name != "postgresql":
            print("decisions archive: PostgreSQL only (SQLite keeps one table)", file=sys.stderr)
            return 2
        day = today or datetime.now(UTC).date()
        done = await archive.archive(
            engine, Path(settings.decision_archive_dir), settings.decision_hot_days, day
        )
    finally:
        await engine.dispose()
    for a in done:
        size = a.path.stat().st_size
        per = size / a.rows if a.rows else 0.0
        print(f"{a.day} {a.rows} decisions -> {a.path} ({size} B, {per:.1f} B/decision)")
    if not done:
        print(f"nothing to archive (hot window {settings.decision_hot_days} days)")
    return 0


async def run_restore(settings: Settings, day: date) -> int:
    engine = create_engine(settings.database_url)
    try:
        n = await archive.restore(engine, Path(settings.decision_archive_dir), day)
    finally:
        await engine.dispose()
    print(f"{day}: {n} decisions restored")
    return 0


def run_query(settings: Settings, filters: decision_archive.Filters, limit: int) -> int:
    """Archived decisions as JSON lines (as answered; the explanation is the admin API's)."""
    rows = decision_archive.query(Path(settings.decision_archive_dir), filters, limit)
    for r in rows:
        lines, inputs = codec.decode_lines(r.encoded_lines, r.physicians)
        out = {
            "decision_id": str(r.decision_id),
            "settlement_id": r.settlement_id,
            "institution_code": r.institution_code,
            "decided_at": codec.decided_at(r.decision_id).isoformat(),
            "registry_version": r.registry_version,
            "outcome": codec.OUTCOMES[r.outcome_code],
            "accepted_amount": codec.money(r.accepted_cents),
            "rejected_amount": codec.money(r.rejected_cents),
            "upstream_infcode": r.upstream_infcode,
            "upstream_error": r.upstream_error,
            "lines": [
                {**ln, "inputs": inputs[i] if inputs else None} for i, ln in enumerate(lines)
            ],
        }
        sys.stdout.write(msgspec.json.encode(out).decode() + "\n")
    return 0


def main(settings: Settings, action: str, **kw: str | None) -> int:
    if action == "archive":
        when = kw.get("today")
        return asyncio.run(run_archive(settings, date.fromisoformat(when) if when else None))
    if action == "restore":
        return asyncio.run(run_restore(settings, date.fromisoformat(str(kw["day"]))))
    since, until = kw.get("since"), kw.get("until")
    filters = decision_archive.Filters(
        settlement_id=kw.get("settlement_id"),
        institution_codes=[str(kw["institution_code"])] if kw.get("institution_code") else None,
        physician_codes=[str(kw["physician_code"])] if kw.get("physician_code") else (),
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
    )
    return run_query(settings, filters, int(kw.get("limit") or 20))

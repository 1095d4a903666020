"""``ybgate calendar load FILE``: load one year's holiday schedule from a TOML file,
audited as the ``cli`` superuser, recomputing every provisional deadline."""

from __future__ import annotations

from app.auth.principal import Principal, Role
from app.calendar.service import load_year, parse_schedule_file
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import DomainError
from app.uow import unit_of_work

CLI = Principal(token_id="cli", role=Role.SUPERUSER)


async def load_file(database_url: str, text: str) -> str:
    """Load a schedule file's ``text``; the summary to print. Raises ``DomainError`` on a
    bad file."""
    year, data = parse_schedule_file(text)
    engine = create_engine(database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as uow:
            loaded = await load_year(uow.session, CLI, year, data)
    finally:
        await engine.dispose()
    lines = [
        f"{loaded.year}: {len(loaded.holidays)} holidays, {len(loaded.workdays)} adjusted "
        f"working days ({loaded.source})"
    ]
    lines += [
        f"  recomputed {r.kind} {r.id}: deadline {r.deadline}"
        + (" (still provisional)" if r.provisional else "")
        + (" LATE" if r.late else "")
        for r in loaded.recomputed
    ]
    return "\n".join(lines)


def problems(exc: DomainError) -> str:
    errors = exc.extra.get("errors") or []
    body = "\n".join(f"  {e['field']}: {e['message']}" for e in errors)
    return f"{exc}\n{body}".rstrip()

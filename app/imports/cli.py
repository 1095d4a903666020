"""``ybgate import roster FILE [--commit]``: the roster import from the command line, on
the configured database (audited as the superuser ``cli``)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from app.auth.principal import Principal, Role
from app.core.db import create_engine, create_sessionmaker
from app.core.settings import Settings
from app.imports.schemas import RosterReport
from app.imports.service import ImportRejected, import_roster
from app.uow import unit_of_work

CLI = Principal(token_id="cli", role=Role.SUPERUSER)
PROGRESS_FROM = 5000  # rows: a progress line on stderr for files at least this long


class _Progress:
    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.t0 = time.monotonic()

    def __call__(self, phase: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.t0
        self.err.write(f"\r{phase} {done}/{total} 行，{elapsed:.1f} 秒")
        self.err.flush()


def render(report: RosterReport, committed: bool, out: TextIO) -> None:
    verb = "已导入" if committed else "试运行（未写入）"
    out.write(
        f"{verb}：共 {report.rows} 行，有效 {report.valid} 行，错误 {len(report.errors)} 处；"
        f"新建医师 {report.creates.physicians} 名、协议 {report.creates.agreements} 份\n"
    )
    for e in report.errors:
        where = "表头" if e.row == 0 else f"第 {e.row} 行"
        out.write(f"  {where} {e.message}\n")


async def run(
    settings: Settings,
    data: bytes,
    *,
    commit: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Exit status: 0 imported (or a clean dry run), 1 errors (nothing written)."""
    progress = _Progress(err) if data.count(b"\n") >= PROGRESS_FROM else None
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as uow:
            report = await import_roster(uow.session, CLI, data, commit=commit, progress=progress)
    except ImportRejected as rejected:
        report = RosterReport.model_validate(rejected.extra)
        if progress is not None:
            err.write("\n")
        render(report, False, out)
        out.write("有错误，未写入任何记录。\n")
        return 1
    finally:
        await engine.dispose()
    if progress is not None:
        err.write(f"\n完成，用时 {time.monotonic() - progress.t0:.1f} 秒\n")
    render(report, commit, out)
    return 1 if report.errors else 0

"""make bench-import: the roster import (一次性集体准入) of ROWS rows on PostgreSQL.

    python bench/import_bench.py [--rows 100000] [--institutions 50]

A throwaway PostgreSQL (scripts/testenv.sh), migrated; one lanzhou-2014 region with
``--institutions`` institutions; a CSV of ``--rows`` new physicians, one agreement each
(spread over the institutions, every tenth with a national code). Timed, in this
process, exactly what ``ybgate import roster FILE`` runs: the dry run, the commit (every
check, the bulk inserts, one audit entry per record, the registry outbox row of every
physician, in one transaction) and the same file again (creates nothing). Target: the
commit of 100,000 rows in <= 60 s. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from app.core.db import create_engine, create_sessionmaker  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.imports.cli import CLI, run  # noqa: E402
from app.institutions import service as institutions  # noqa: E402
from app.institutions.schemas import InstitutionCreate  # noqa: E402
from app.models import Agreement, AuditEntry, Physician, RegistryChange  # noqa: E402
from app.regions import service as regions  # noqa: E402
from app.regions.schemas import RegionCreate  # noqa: E402
from app.uow import unit_of_work  # noqa: E402

REGION = "620100"
HEADER = "certificate_no,name,national_code,institution_code,starts_on,ends_on\n"


def roster(rows: int, insts: list[str]) -> bytes:
    out = io.StringIO()
    out.write(HEADER)
    for i in range(rows):
        national = f"D62{i:010d}" if i % 10 == 0 else ""
        out.write(
            f"62010219900101{i:013d},医师{i},{national},{insts[i % len(insts)]},2026-01-01,\n"
        )
    return out.getvalue().encode()


async def setup(url: str, n_insts: int) -> list[str]:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    codes = [f"H620100{i:05d}" for i in range(n_insts)]
    async with unit_of_work(sessions) as uow:
        session = uow.session
        await regions.create_region(
            session, CLI, RegionCreate(code=REGION, name="兰州市", policy="lanzhou-2014")
        )
        for code in codes:
            data = InstitutionCreate.model_validate(
                {
                    "code": code,
                    "name": f"医院{code}",
                    "region": REGION,
                    "agreement_starts_on": "2024-01-01",
                    "agreement_ends_on": "2027-12-31",
                }
            )
            await institutions.create_institution(session, CLI, data)
    await engine.dispose()
    return codes


async def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    out = {}
    async with engine.connect() as conn:
        for name, model in (
            ("physicians", Physician),
            ("agreements", Agreement),
            ("audit entries", AuditEntry),
            ("outbox rows", RegistryChange),
        ):
            out[name] = int(
                (await conn.execute(select(func.count()).select_from(model))).scalar_one()
            )
    await engine.dispose()
    return out


async def timed(settings: Settings, data: bytes, commit: bool) -> float:
    sink = io.StringIO()
    t0 = time.perf_counter()
    status = await run(settings, data, commit=commit, out=sink, err=sys.stderr)
    took = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"import failed:\n{sink.getvalue()[:2000]}")
    print(f"  {sink.getvalue().splitlines()[0]}")
    return took


async def amain(url: str, rows: int, n_insts: int) -> int:
    await asyncio.to_thread(upgrade, url)
    insts = await setup(url, n_insts)
    data = roster(rows, insts)
    settings = Settings(database_url=url)
    print(
        f"roster import: {rows} rows, {n_insts} institutions, {len(data) / 1e6:.1f} MB, PostgreSQL"
    )
    dry = await timed(settings, data, commit=False)
    print(f"dry run: {dry:6.1f} s  {rows / dry:9.0f} rows/s")
    commit = await timed(settings, data, commit=True)
    print(f"commit:  {commit:6.1f} s  {rows / commit:9.0f} rows/s  (target <= 60 s at 100,000)")
    again = await timed(settings, data, commit=True)
    print(f"repeat:  {again:6.1f} s  {rows / again:9.0f} rows/s  (creates nothing)")
    print("record: " + ", ".join(f"{v} {k}" for k, v in (await counts(url)).items()))
    return 0 if rows < 100_000 or commit <= 60 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("IMPORT_ROWS", 100_000)))
    parser.add_argument("--institutions", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ybgate-bench-import-"))
    os.chmod(work, 0o755)
    testenv = str(REPO / "scripts/testenv.sh")
    subprocess.run([testenv, "start", str(work / "env")], check=True)
    try:
        env = (work / "env" / "env").read_text()
        url = next(
            line.split("=", 1)[1]
            for line in env.splitlines()
            if line.startswith("export YBGATE_TEST_PG_URL=")
        )
        status = asyncio.run(amain(url, args.rows, args.institutions))
    finally:
        subprocess.run([testenv, "stop", str(work / "env")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()

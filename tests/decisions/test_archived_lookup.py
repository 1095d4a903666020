"""An archived day is still read back by the HIS: once ``ybgate decisions archive`` has
moved a day of the decision log to its Parquet file and dropped it from PostgreSQL,
``GET /v1/decisions/{id}`` answers the same explained body as before (withdrawals and the
record as it stood included), to the decision's own institution only; an unknown id of
that day stays 404. Run on the embedded app over PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.db import create_engine
from app.core.settings import get_settings
from app.decisions.commands import run_archive
from app.registry import decision_codec as codec
from tests.decisions.test_explained import H1, H2, lines, token, town
from tests.decisions.test_withdrawals import _admin_shows, send, upload

pytestmark = pytest.mark.pg


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The archive's directory, set before the app starts (the gatekeeper reads it then)."""
    path = tmp_path / "decision-archive"
    monkeypatch.setenv("YBGATE_DECISION_ARCHIVE_DIR", str(path))
    monkeypatch.setenv("YBGATE_DECISION_HOT_DAYS", "1")
    return path


async def _in_table(decision_id: str) -> bool:
    engine = create_engine(get_settings().database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM settlement_decisions WHERE decision_id = :d"),
                {"d": uuid.UUID(decision_id)},
            )
    finally:
        await engine.dispose()
    return bool(found)


async def _read(c: httpx.AsyncClient, did: str, his: dict[str, str]) -> Any:
    r = await c.get(f"/v1/decisions/{did}", headers=his)
    assert r.status_code == 200, r.text
    return r.json()


async def test_his_reads_an_archived_decision_as_before(
    archive_dir: Path, live: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    c = live
    w = await town(c)
    his1 = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    his2 = await token(c, f"/admin/v1/institutions/{H2}/tokens")
    body = {"settlement_id": "S-OLD-1", "institution_code": H1, "lines": lines(w["doc"])}
    mine = (await c.post("/v1/settlements/validate", json=body, headers=his1)).json()
    body = {"settlement_id": "S-OLD-2", "institution_code": H2, "lines": lines(w["doc"])[8:]}
    theirs = (await c.post("/v1/settlements/validate", json=body, headers=his2)).json()
    uploaded = (await send(c, upload(w["doc"], "UP-OLD"), his1))["inf_refmsgid"]
    withdraw = {
        "infno": "2205",
        "msgid": "WD-OLD",
        "fixmedins_code": H1,
        "input": {"data": {"mdtrt_id": "MZ-1", "chrg_bchno": "B1", "psn_no": "P1"}},
    }
    assert (await send(c, withdraw, his1))["infcode"] == 0
    await _admin_shows(c, "UP-OLD", {"1": "WD-OLD", "2": "WD-OLD", "3": None})  # written
    await _admin_shows(c, "S-OLD-1", {str(n): None for n in range(1, 10)})
    await _admin_shows(c, "S-OLD-2", {"9": None})
    ids = (mine["decision_id"], theirs["decision_id"], uploaded)
    before = [await _read(c, did, h) for did, h in zip(ids, (his1, his2, his1), strict=True)]
    assert before[0]["lines"][0]["basis"]["facts"][0]["kind"] == "agreement_suspension"

    # The decisions' day leaves the table for its Parquet file (the command, as documented).
    day = codec.day_of(uuid.UUID(ids[0]))
    assert await run_archive(get_settings(), today=day + timedelta(days=2)) == 0
    assert f"{day} 3 decisions" in capsys.readouterr().out
    assert (archive_dir / f"decisions-{day:%Y%m%d}.parquet").is_file()
    assert not any([await _in_table(did) for did in ids])

    after = [await _read(c, did, h) for did, h in zip(ids, (his1, his2, his1), strict=True)]
    assert after == before
    assert after[2]["lines"][0]["withdrawn"]["msgid"] == "WD-OLD"

    # Another institution's archived decision stays 404, like an unknown id of that day.
    r = await c.get(f"/v1/decisions/{ids[0]}", headers=his2)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await c.get(f"/v1/decisions/{ids[1]}", headers=his1)).status_code == 404
    unknown = ids[0][:-4] + ("0000" if ids[0][-4:] != "0000" else "1111")
    assert (await c.get(f"/v1/decisions/{unknown}", headers=his1)).status_code == 404
    # ids of a day with no file, of a time past any calendar, or no UUIDv7 at all: 404 too
    ms = (uuid.UUID(ids[0]).int >> 80) - 40 * 86_400_000  # 40 days before: no file
    no_file = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0x8 << 60) | 1))
    for other in (no_file, "ffffffff-ffff-7fff-bfff-ffffffffffff", "not-an-id"):
        r = await c.get(f"/v1/decisions/{other}", headers=his1)
        assert r.status_code == 404 and r.json()["status"] == 404, other

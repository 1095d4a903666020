"""Roster import (一次性集体准入, lanzhou-2014 第六条（四）) through the admin API: dry run
with errors by row and column, commit, repeat, all-or-nothing, the agreement rules,
operator scope."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.store import RegistryStore
from tests.admin import flows
from tests.conftest import make_token

LZ, ZJ = "620100", "330100"
H1, H2, HZ = "H62010000001", "H62010000002", "H33010000001"
HEADER = "certificate_no,name,national_code,institution_code,starts_on,ends_on"
URL = "/admin/v1/imports/roster"


def cert(n: int) -> str:
    return f"62010219800101{n:013d}"


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def upload(
    c: httpx.AsyncClient, h: dict[str, str], data: bytes, *, commit: bool = False
) -> httpx.Response:
    params = {"dry_run": "false"} if commit else {}
    return await c.post(URL, params=params, files={"file": ("roster.csv", data)}, headers=h)


async def setup(c: httpx.AsyncClient, su: dict[str, str]) -> None:
    await flows.region(c, su, LZ, "lanzhou-2014")
    await flows.region(c, su, ZJ, "zhejiang-2014")
    await flows.institution(c, su, H1, region=LZ)
    await flows.institution(c, su, H2, region=LZ)
    await flows.institution(c, su, HZ, region=ZJ)


GOOD = csv(
    f"{cert(1)},张一,D620100000001,{H1},2026-01-01,",
    f"{cert(1)},张一,D620100000001,{H2},2026-01-01,2026-06-30",  # multi-site: 2 agreements
    f"{cert(2)},李二,,{H1},2025-07-01,",
)


async def test_dry_run_reports_each_error_by_row_and_column(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await setup(client, su)
    data = csv(
        f"{cert(1)},张一,,{H1},2026-01-01,",  # 1: good
        f"12345,王三,,{H1},2026-01-01,",  # 2: certificate too short
        f"{cert(3)},,,{H1},2026-01-01,",  # 3: no name
        f"{cert(4)},赵四,X1,{H1},2026-13-01,",  # 4: national code and date
        f"{cert(5)},钱五,,{H1},2026-03-01,2026-02-01",  # 5: ends before it starts
        f"{cert(6)},孙六,,H99999999999,2026-01-01,",  # 6: no such institution
        f"{cert(1)},张一,,{H1},2026-02-01,",  # 7: repeats row 1's pair
    )
    r = await upload(client, su, data)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["rows"] == 7 and report["valid"] == 1
    got = [(e["row"], e["column"]) for e in report["errors"]]
    assert got == [
        (2, "certificate_no"),
        (3, "name"),
        (4, "national_code"),
        (4, "starts_on"),
        (5, "ends_on"),
        (6, "institution_code"),
        (7, "certificate_no"),
    ]
    for e in report["errors"]:  # Chinese, naming the column
        assert e["message"].startswith(e["column"] + "（")
    assert "第 1 行" in report["errors"][-1]["message"]
    assert report["creates"] == {"physicians": 1, "agreements": 1}
    r = await client.get(f"/admin/v1/physicians/YB{cert(1)}", headers=su)
    assert r.status_code == 404, "a dry run writes nothing"


async def test_commit_applies_every_row_and_a_repeat_creates_nothing(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    await setup(client, su)
    dry = (await upload(client, su, GOOD)).json()
    assert dry["errors"] == [] and dry["creates"] == {"physicians": 2, "agreements": 3}
    r = await upload(client, su, GOOD, commit=True)
    assert r.status_code == 200, r.text
    assert r.json()["creates"] == dry["creates"] and r.json()["committed"] is True
    doc = (await client.get(f"/admin/v1/physicians/YB{cert(1)}", headers=su)).json()
    assert doc["national_code"] == "D620100000001" if "national_code" in doc else True
    ags = (
        await client.get("/admin/v1/agreements", params={"physician": f"YB{cert(2)}"}, headers=su)
    ).json()
    # lanzhou-2014 第六条（三）: an agreement without an end runs the two-year term.
    assert [(a["starts_on"], a["ends_on"]) for a in ags["items"]] == [("2025-07-01", "2027-06-30")]
    # The in-process registry has them before the response returned (outbox in the same
    # transaction), national alias included.
    reg = store.registry
    assert f"YB{cert(1)}" in reg.physicians and "D620100000001" in reg.physicians
    audit = (
        await client.get("/admin/v1/audit", params={"action": "agreement.create"}, headers=su)
    ).json()
    assert len(audit["items"]) == 3
    audit = (
        await client.get("/admin/v1/audit", params={"action": "roster.import"}, headers=su)
    ).json()
    assert audit["items"][0]["after"]["creates"] == {"physicians": 2, "agreements": 3}
    version = reg.version
    again = await upload(client, su, GOOD, commit=True)
    assert again.status_code == 200, again.text
    assert again.json()["creates"] == {"physicians": 0, "agreements": 0}
    assert again.json()["errors"] == [] and again.json()["valid"] == 3
    assert store.registry.version == version, "nothing touched: no registry change"


async def test_one_bad_row_and_nothing_is_written(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await setup(client, su)
    data = GOOD + f"{cert(9)},周九,,{H1},2026-01-01,2030-12-31\n".encode()
    r = await upload(client, su, data, commit=True)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["rows"], body["valid"]) == (4, 3)
    (err,) = body["errors"]
    assert (err["row"], err["column"]) == (4, "ends_on")  # lanzhou-2014 第六条（三）: 2 years
    assert body["creates"] == {"physicians": 2, "agreements": 3}  # what the good rows make
    for n in (1, 2, 9):
        r = await client.get(f"/admin/v1/physicians/YB{cert(n)}", headers=su)
        assert r.status_code == 404


async def test_the_rules_of_an_agreement_create_apply(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await setup(client, su)
    cancelled = (await flows.physician(client, su, cert(20)))["code"]
    await flows.agreement(client, su, cancelled, inst=H1, starts="2025-01-01")
    await flows.post(
        client,
        f"/admin/v1/physicians/{cancelled}/cancel",
        {"effective_on": "2026-03-01", "reason": "注销"},
        su,
    )
    busy = (await flows.physician(client, su, cert(21)))["code"]
    await flows.agreement(client, su, busy, inst=H1, starts="2025-01-01")
    data = csv(
        f"{cert(20)},张医生,,{H2},2026-04-01,",  # 1: cancelled code
        f"{cert(21)},张医生,,{H1},2026-01-01,",  # 2: overlaps its agreement at H1
        f"{cert(22)},吴二二,,{H1},2023-01-01,",  # 3: before the institution's term
        f"{cert(23)},郑二三,,{H1},2026-01-01,2028-12-31",  # 4: over the 2-year term
        f"{cert(21)},另一个名字,,{H2},2026-01-01,",  # 5: name differs from the record
        f"{cert(24)},王二四,D620100000001,{H1},2026-01-01,",  # 6: fine
        f"{cert(25)},王二五,D620100000001,{H1},2026-01-01,",  # 7: alias on two certificates
    )
    report = (await upload(client, su, data)).json()
    got = {(e["row"], e["column"]) for e in report["errors"]}
    assert got == {
        (1, "certificate_no"),
        (2, "starts_on"),
        (3, "institution_code"),
        (4, "ends_on"),
        (5, "name"),
        (7, "national_code"),
    }
    by_row = {e["row"]: e["message"] for e in report["errors"]}
    assert "2026-03-01" in by_row[1] and "注销" in by_row[1]
    assert "重叠" in by_row[2]


async def test_operator_imports_its_own_region_only(
    client: httpx.AsyncClient,
    su: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup(client, su)
    zj = await make_token(sessions, "operator", region=ZJ)
    lz = await make_token(sessions, "operator", region=LZ)
    data = csv(f"{cert(30)},冯三十,,{HZ},2026-01-01,", f"{cert(31)},陈三一,,{H1},2026-01-01,")
    report = (await upload(client, zj, data)).json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "institution_code")]
    assert LZ in report["errors"][0]["message"]
    assert (await upload(client, zj, data, commit=True)).status_code == 422
    ok = csv(f"{cert(31)},陈三一,,{H1},2026-01-01,")
    assert (await upload(client, lz, ok, commit=True)).status_code == 200
    auditor = await make_token(sessions, "auditor")
    assert (await upload(client, auditor, ok)).status_code == 403
    his = await make_token(sessions, "his", institution=H1)
    assert (await upload(client, his, ok)).status_code == 403
    assert (await client.post(URL, files={"file": ("r.csv", ok)})).status_code == 401


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (b"certificate_no,name\n1,2\n", "national_code"),
        (b"\xff\xfe", "file"),
        (b"", "file"),
    ],
)
async def test_a_bad_file_is_reported_not_crashed(
    client: httpx.AsyncClient, su: dict[str, str], data: bytes, column: str
) -> None:
    await setup(client, su)
    report = (await upload(client, su, data)).json()
    assert report["rows"] == 0 and report["valid"] == 0
    assert column in {e["column"] for e in report["errors"]}
    assert (await upload(client, su, data, commit=True)).status_code == 422


async def test_the_upload_is_bounded_and_needs_the_file_field(
    client: httpx.AsyncClient, su: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await client.post(URL, files={"other": ("r.csv", GOOD)}, headers=su)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = await client.post(URL, content=GOOD, headers={**su, "content-type": "text/csv"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    monkeypatch.setenv("YBGATE_ROSTER_IMPORT_MAX_BYTES", "2048")
    big = csv(*[f"{cert(i)},名{i},,{H1},2026-01-01," for i in range(100)])
    assert (await upload(client, su, big)).status_code == 413

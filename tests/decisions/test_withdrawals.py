"""2205/2302 withdrawals (CONTRACT.md "National interface as HIS clients send it",
Withdrawals): answered infcode 0; decision lookup (GET /v1/decisions/{id}, GET
/admin/v1/decisions) then shows those lines withdrawn with the withdrawing msgid. Run on
the embedded app over PostgreSQL: the withdrawal goes journal -> queue -> its own table,
joined to the decision log at lookup."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec
import pytest

from app.gatekeeper.decisions.withdrawals import Withdrawn
from tests.decisions.conftest import SU
from tests.decisions.test_explained import H1, admin_find, token, town
from tests.gatekeeper.hsa_support import fee, message


def upload(doc: dict[str, str], msgid: str, infno: str = "2204") -> dict[str, Any]:
    items = []
    for sn, batch in (("1", "B1"), ("2", "B1"), ("3", "B2")):
        item = fee(sn, doc["E"], "2026-02-01")
        item.update(mdtrt_id="MZ-1", chrg_bchno=batch)
        items.append(item)
    return message(infno, H1, *items, msgid=msgid)


async def send(c: httpx.AsyncClient, body: Any, his: dict[str, str]) -> Any:
    r = await c.post("/v1/hsa", json=body, headers=his)
    assert r.status_code == 200, r.text
    return r.json()


def withdrawn(decision: Any) -> dict[str, str | None]:
    return {ln["line_id"]: ln["withdrawn"] and ln["withdrawn"]["msgid"] for ln in decision["lines"]}


async def _admin_shows(c: httpx.AsyncClient, msgid: str, want: dict[str, str | None]) -> None:
    """The admin side reads the table: the withdrawal reaches it within a second (waited
    for here with a generous deadline; not a speed check)."""
    deadline = time.monotonic() + 10
    while True:
        page = await admin_find(c, {"settlement_id": msgid}, SU)
        if page["items"] and withdrawn(page["items"][0]) == want:
            return
        assert time.monotonic() < deadline, page
        await asyncio.sleep(0.05)


async def test_2205_withdraws_a_charge_batch(live: httpx.AsyncClient) -> None:
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    answer = await send(c, upload(w["doc"], "UP-1"), his)
    assert answer["infcode"] == 0
    did = answer["inf_refmsgid"]
    body = {
        "infno": "2205",
        "msgid": "WD-1",
        "fixmedins_code": H1,
        "input": {"data": {"mdtrt_id": "MZ-1", "chrg_bchno": "B1", "psn_no": "P1"}},
    }
    got = await send(c, body, his)
    assert got["infcode"] == 0 and got["err_msg"] is None
    assert [(x["decision_id"], x["feedetl_sn"]) for x in got["output"]["ybgate"]["withdrawn"]] == [
        (did, "1"),
        (did, "2"),
    ]
    read = await c.get(f"/v1/decisions/{did}", headers=his)
    assert read.status_code == 200
    want = {"1": "WD-1", "2": "WD-1", "3": None}
    assert withdrawn(read.json()) == want
    line = read.json()["lines"][0]["withdrawn"]
    assert line["infno"] == "2205" and line["withdrawn_at"]
    await _admin_shows(c, "UP-1", want)


async def test_2302_withdraws_lines_by_id_or_every_line_of_the_visit(
    live: httpx.AsyncClient,
) -> None:
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    first = (await send(c, upload(w["doc"], "IP-1", "2301"), his))["inf_refmsgid"]
    one = {"feedetl_sn": "2", "mdtrt_id": "MZ-1", "psn_no": "P1"}
    body = {"infno": "2302", "msgid": "WD-2", "fixmedins_code": H1, "input": {"data": one}}
    assert (await send(c, body, his))["infcode"] == 0
    everything = [{"feedetl_sn": "0000", "mdtrt_id": "MZ-1"}]
    body = {"infno": "2302", "msgid": "WD-3", "fixmedins_code": H1, "input": {"data": everything}}
    got = await send(c, body, his)
    assert got["output"]["ybgate"]["lines"] == 3
    read = (await c.get(f"/v1/decisions/{first}", headers=his)).json()
    # the first withdrawal of each line is the one shown
    assert withdrawn(read) == {"1": "WD-3", "2": "WD-2", "3": "WD-3"}
    await _admin_shows(c, "IP-1", {"1": "WD-3", "2": "WD-2", "3": "WD-3"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mdtrt_id": "MZ-1"}, "input.data.chrg_bchno"),
        ({"chrg_bchno": "B1", "mdtrt_id": ""}, "input.data.mdtrt_id"),
        (None, "input.data"),
    ],
)
async def test_a_malformed_withdrawal_names_its_field(
    live: httpx.AsyncClient, data: Any, field: str
) -> None:
    c = live
    await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    body = {"infno": "2205", "msgid": "WD-X", "fixmedins_code": H1, "input": {"data": data}}
    got = await send(c, body, his)
    assert got["infcode"] == -1 and got["err_msg"].startswith(f"报文格式错误: {field}: ")


async def test_a_withdrawal_of_unknown_lines_is_recorded_without_a_decision(
    live: httpx.AsyncClient,
) -> None:
    c = live
    await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    data = {"mdtrt_id": "MZ-NONE", "chrg_bchno": "0000"}
    body = {"infno": "2205", "msgid": "WD-N", "fixmedins_code": H1, "input": {"data": data}}
    got = await send(c, body, his)
    assert got["infcode"] == 0 and got["output"]["ybgate"]["withdrawn"] == []


def test_a_withdrawal_record_round_trips_through_its_journal_line() -> None:
    rec = Withdrawn("id-1", H1, "did", "7", "MZ-1", None, "WD", "2302", 1_790_000_000_000)
    line = msgspec.json.encode(rec)
    assert msgspec.json.decode(line, type=Withdrawn) == rec
    assert rec.row()["withdrawn_at"].year == 2026

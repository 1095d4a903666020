"""Decisions you can look up and explain: every reason's basis through both endpoints
(HIS ``GET /v1/decisions/{id}`` and admin ``GET /admin/v1/decisions``), read back at once,
scoped to the HIS's institution and the operator's region, and explained on the record as
it stood when decided even after the record changed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.admin import flows
from tests.decisions.conftest import SU
from tests.gatekeeper.hsa_support import fee, message

LZ, ZJ = "620100", "330100"
H1, H2, HZ = "H62010000001", "H62010000002", "H33010000001"


def cert(n: int) -> str:
    return f"62010219800101{n:013d}"


async def token(
    c: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None
) -> dict[str, str]:
    r = await c.post(path, json=body, headers=SU)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def violation(
    c: httpx.AsyncClient, code: str, item: str, day: str, points: int | None = None
) -> Any:
    body: dict[str, Any] = {
        "physician_code": code,
        "region": LZ,
        "item": item,
        "occurred_on": day,
        "decided_on": day,
    }
    if points is not None:
        body["points"] = points
    return await flows.post(c, "/admin/v1/violations", body, SU)


async def town(c: httpx.AsyncClient) -> dict[str, Any]:
    """兰州: H1 (suspended in September 2026), H2; 杭州: HZ. Physicians A-E at H1."""
    await flows.region(c, SU, LZ, "lanzhou-2014")
    await flows.region(c, SU, ZJ, "zhejiang-2014")
    await flows.institution(c, SU, H1, region=LZ)
    await flows.institution(c, SU, H2, region=LZ)
    await flows.institution(c, SU, HZ, region=ZJ)
    doc = {k: (await flows.physician(c, SU, cert(i)))["code"] for i, k in enumerate("ABCDE")}
    ag = {k: await flows.agreement(c, SU, doc[k], inst=H1, starts="2025-01-01") for k in "ABCE"}
    await flows.agreement(c, SU, doc["D"], inst=H1, starts="2024-01-01", ends="2024-12-31")
    # lanzhou-2014 第十七条: 5 + 1 points reach 6 → 3 months' suspension from 2026-01-06.
    v1 = await violation(c, doc["A"], "13.1", "2026-01-05")
    v2 = await violation(c, doc["A"], "14.2", "2026-01-06", points=1)
    (action,) = v2["actions"]
    await flows.post(
        c,
        f"/admin/v1/agreements/{ag['B']['id']}/terminate",
        {"effective_on": "2026-06-01", "reason": "违反协议"},
        SU,
    )
    await flows.post(
        c,
        f"/admin/v1/physicians/{doc['C']}/cancel",
        {"effective_on": "2026-03-01", "reason": "注销"},
        SU,
    )
    await flows.post(
        c,
        f"/admin/v1/institutions/{H1}/suspend",
        {"starts_on": "2026-09-01", "ends_on": "2026-09-30", "reason": "整改"},
        SU,
    )
    return {"doc": doc, "ag": ag, "action": action, "violations": {v1["id"], v2["id"]}}


def lines(doc: dict[str, str]) -> list[dict[str, Any]]:
    spec = [
        ("A", "2026-02-01", False),  # AGREEMENT_SUSPENDED
        ("B", "2026-07-01", False),  # AGREEMENT_TERMINATED
        ("B", "2026-07-01", True),  # EMERGENCY_OVERRIDE of AGREEMENT_TERMINATED
        ("C", "2026-05-01", False),  # CODE_CANCELLED
        ("D", "2026-05-01", False),  # NOT_AT_INSTITUTION
        ("E", "2026-09-10", False),  # INSTITUTION_SUSPENDED
        ("YB" + "9" * 24, "2026-05-01", False),  # PHYSICIAN_UNREGISTERED
        ("YB12", "2026-05-01", False),  # CODE_MALFORMED
        ("E", "2026-05-01", False),  # accept
    ]
    return [
        {
            "line_id": str(i + 1),
            "physician_code": doc.get(who, who),
            "service_date": day,
            "emergency": em,
            "amount": "10.00",
        }
        for i, (who, day, em) in enumerate(spec)
    ]


def check_bases(got: dict[str, Any], w: dict[str, Any], version: int) -> None:
    assert got["registry_version"] == version and got["institution_code"] == H1
    assert (got["outcome"], got["accepted_amount"], got["rejected_amount"]) == (
        "partial",
        "20.00",
        "70.00",
    )
    by_id = {ln["line_id"]: ln for ln in got["lines"]}
    doc = w["doc"]

    def only(line_id: str, kind: str) -> dict[str, Any]:
        (fact,) = [f for f in by_id[line_id]["basis"]["facts"] if f["kind"] == kind]
        found: dict[str, Any] = fact
        return found

    s = only("1", "agreement_suspension")
    assert by_id["1"]["reason"] == "AGREEMENT_SUSPENDED"
    assert (s["starts_on"], s["ends_on"], s["institution_code"]) == ("2026-01-06", "2026-04-05", H1)
    assert s["cause"]["action_id"] == w["action"]["id"]
    assert s["cause"]["clause"] == "lanzhou-2014 第十七条"
    assert s["cause"]["violation_id"] in w["violations"]
    assert s["agreement"]["starts_on"] == "2025-01-01"
    t = only("2", "agreement_termination")
    assert by_id["2"]["reason"] == "AGREEMENT_TERMINATED"
    assert (t["starts_on"], t["note"], t["cause"]) == ("2026-06-01", "违反协议", None)
    assert t["record_id"] == w["ag"]["B"]["id"]
    em = by_id["3"]
    assert (em["decision"], em["reason"], em["overridden"]) == (
        "accept",
        "EMERGENCY_OVERRIDE",
        "AGREEMENT_TERMINATED",
    )
    assert em["emergency"] is True and em["basis"]["rule"] == "AGREEMENT_TERMINATED"
    assert only("3", "agreement_termination")["starts_on"] == "2026-06-01"
    c = only("4", "code_cancellation")
    assert by_id["4"]["reason"] == "CODE_CANCELLED"
    assert (c["starts_on"], c["ends_on"], c["note"]) == ("2026-03-01", None, "注销")
    n = only("5", "no_agreement")
    assert by_id["5"]["reason"] == "NOT_AT_INSTITUTION" and n["institution_code"] == H1
    assert [(x["kind"], x["starts_on"], x["ends_on"]) for x in n["nearby"]] == [
        ("agreement", "2024-01-01", "2024-12-31")
    ]
    i = only("6", "institution_suspension")
    assert by_id["6"]["reason"] == "INSTITUTION_SUSPENDED"
    assert (i["starts_on"], i["ends_on"], i["note"]) == ("2026-09-01", "2026-09-30", "整改")
    assert by_id["7"]["reason"] == "PHYSICIAN_UNREGISTERED"
    assert only("7", "no_physician")
    assert by_id["8"]["reason"] == "CODE_MALFORMED"
    assert only("8", "code_format")["pattern"]
    ok = by_id["9"]
    assert (ok["decision"], ok["reason"], ok["basis"]["rule"]) == ("accept", None, None)
    a = only("9", "agreement")
    assert (a["starts_on"], a["record_id"]) == ("2025-01-01", w["ag"]["E"]["id"])
    assert by_id["9"]["physician_code"] == doc["E"] and by_id["9"]["service_date"] == "2026-05-01"


async def admin_find(c: httpx.AsyncClient, params: dict[str, str], h: dict[str, str]) -> Any:
    r = await c.get("/admin/v1/decisions", params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_reason_is_explained_by_both_endpoints(live: httpx.AsyncClient) -> None:
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    body = {"settlement_id": "S-EXPLAIN", "institution_code": H1, "lines": lines(w["doc"])}
    r = await c.post("/v1/settlements/validate", json=body, headers=his)
    assert r.status_code == 200, r.text
    answer = r.json()
    answered = time.monotonic()
    # Read back at once from the gatekeeper (queued or written, whichever it is).
    r = await c.get(f"/v1/decisions/{answer['decision_id']}", headers=his)
    assert r.status_code == 200, r.text
    from_his = r.json()
    assert [(ln["decision"], ln["reason"]) for ln in from_his["lines"]] == [
        (ln["decision"], ln["reason"]) for ln in answer["lines"]
    ]
    check_bases(from_his, w, answer["registry_version"])
    # ... and from the admin side within a second of the answer (decision log flush).
    while True:
        page = await admin_find(c, {"settlement_id": "S-EXPLAIN"}, SU)
        if page["items"] or time.monotonic() - answered > 1.0:
            break
        await asyncio.sleep(0.02)
    assert len(page["items"]) == 1, "not readable within a second of the answer"
    from_admin = page["items"][0]
    check_bases(from_admin, w, answer["registry_version"])
    assert from_admin["lines"] == from_his["lines"]
    assert all(ln["changed_since"] is None for ln in from_admin["lines"])


async def test_a_changed_record_is_flagged_and_the_basis_is_as_decided(
    live: httpx.AsyncClient,
) -> None:
    """After the decision A's suspension is cut short (resumption from 2026-01-20): the
    line is still explained by the suspension in force on its registry version, and
    ``changed_since`` names the version that changed A's record."""
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    body = {"settlement_id": "S-CHG", "institution_code": H1, "lines": lines(w["doc"])}
    answer = (await c.post("/v1/settlements/validate", json=body, headers=his)).json()
    await flows.post(
        c, f"/admin/v1/agreements/{w['ag']['A']['id']}/resume", {"effective_on": "2026-01-20"}, SU
    )
    again = (await c.post("/v1/settlements/validate", json=body, headers=his)).json()
    assert again["lines"][0]["decision"] == "accept"  # the current record accepts it
    got = (await c.get(f"/v1/decisions/{answer['decision_id']}", headers=his)).json()
    assert got["current_version"] == again["registry_version"] > answer["registry_version"]
    first = got["lines"][0]
    assert first["changed_since"] == again["registry_version"]
    assert first["basis"]["rule"] == "AGREEMENT_SUSPENDED"
    (s,) = first["basis"]["facts"]
    assert (s["starts_on"], s["ends_on"]) == ("2026-01-06", "2026-04-05")
    assert s["cause"]["action_id"] == w["action"]["id"]
    assert all(ln["changed_since"] is None for ln in got["lines"][1:] if ln["line_id"] != "1")
    await asyncio.sleep(0.2)  # both decisions written
    page = await admin_find(c, {"physician_code": w["doc"]["A"]}, SU)
    assert [d["decision_id"] for d in page["items"]] == [
        again["decision_id"],
        answer["decision_id"],
    ]
    assert page["items"][1]["lines"][0] == first


async def test_his_reads_its_own_institution_only(live: httpx.AsyncClient) -> None:
    c = live
    w = await town(c)
    his1 = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    his2 = await token(c, f"/admin/v1/institutions/{H2}/tokens")
    body = {"settlement_id": "S-OWN", "institution_code": H1, "lines": lines(w["doc"])[:1]}
    did = (await c.post("/v1/settlements/validate", json=body, headers=his1)).json()["decision_id"]
    await asyncio.sleep(0.2)
    r = await c.get(f"/v1/decisions/{did}", headers=his2)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    unknown = did[:-4] + ("0000" if did[-4:] != "0000" else "1111")
    assert (await c.get(f"/v1/decisions/{unknown}", headers=his1)).status_code == 404
    assert (await c.get("/v1/decisions/not-an-id", headers=his1)).status_code == 404
    assert (await c.get(f"/v1/decisions/{did}")).status_code == 401
    assert (await c.get(f"/v1/decisions/{did}", headers=SU)).status_code == 403
    assert (await c.get(f"/v1/decisions/{did}", headers=his1)).status_code == 200
    assert (await c.get("/admin/v1/decisions", headers=his1)).status_code == 403


async def test_admin_list_filters_and_scopes(live: httpx.AsyncClient) -> None:
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    for sid in ("S-1", "S-2", "S-3"):
        body = {"settlement_id": sid, "institution_code": H1, "lines": lines(w["doc"])[8:]}
        assert (await c.post("/v1/settlements/validate", json=body, headers=his)).status_code == 200
    await asyncio.sleep(0.2)
    page = await admin_find(c, {"limit": "2"}, SU)
    assert [d["settlement_id"] for d in page["items"]] == ["S-3", "S-2"]
    assert page["next_offset"] == 2
    page = await admin_find(c, {"limit": "2", "offset": "2"}, SU)
    assert [d["settlement_id"] for d in page["items"]] == ["S-1"] and page["next_offset"] is None
    assert len((await admin_find(c, {"physician_code": w["doc"]["E"]}, SU))["items"]) == 3
    assert (await admin_find(c, {"physician_code": w["doc"]["A"]}, SU))["items"] == []
    assert len((await admin_find(c, {"institution_code": H1}, SU))["items"]) == 3
    assert (await admin_find(c, {"institution_code": H2}, SU))["items"] == []
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(hours=1)).isoformat()
    assert (await admin_find(c, {"since": later}, SU))["items"] == []
    assert len((await admin_find(c, {"since": earlier, "until": later}, SU))["items"]) == 3
    assert (await admin_find(c, {"until": earlier}, SU))["items"] == []
    auditor = await token(c, "/admin/v1/tokens", {"role": "auditor"})
    assert len((await admin_find(c, {}, auditor))["items"]) == 3
    lz = await token(c, "/admin/v1/tokens", {"role": "operator", "region": LZ})
    assert len((await admin_find(c, {}, lz))["items"]) == 3
    zj = await token(c, "/admin/v1/tokens", {"role": "operator", "region": ZJ})
    assert (await admin_find(c, {}, zj))["items"] == []
    r = await c.get("/admin/v1/decisions", params={"institution_code": H1}, headers=zj)
    assert r.status_code == 403
    for bad in ({"limit": "1000"}, {"physician_code": "YB%"}, {"since": "yesterday"}):
        r = await c.get("/admin/v1/decisions", params=bad, headers=SU)
        assert r.status_code == 422, bad


async def test_a_national_format_decision_is_explained_too(live: httpx.AsyncClient) -> None:
    """A 2204 message is logged with settlement_id = msgid and its lines' inputs (the
    wrapper's med_type 13 makes every line an emergency), so it reads back the same way."""
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    msg = message(
        "2204",
        H1,
        fee("1", w["doc"]["A"], "2026-02-01"),
        fee("2", w["doc"]["E"], "2026-05-01"),
        msgid="MSG-EXPLAIN",
        med_type="13",
    )
    r = await c.post("/v1/hsa", json=msg, headers=his)
    assert r.status_code == 200, r.text
    did = r.json()["inf_refmsgid"]
    got = (await c.get(f"/v1/decisions/{did}", headers=his)).json()
    assert got["settlement_id"] == "MSG-EXPLAIN"
    first, second = got["lines"]
    assert (first["line_id"], first["reason"], first["overridden"]) == (
        "1",
        "EMERGENCY_OVERRIDE",
        "AGREEMENT_SUSPENDED",
    )
    assert first["emergency"] is True and first["service_date"] == "2026-02-01"
    (s,) = first["basis"]["facts"]
    assert s["kind"] == "agreement_suspension" and s["cause"]["clause"] == "lanzhou-2014 第十七条"
    assert second["basis"]["facts"][0]["kind"] == "agreement"


async def test_a_line_rejected_for_its_second_staff_code_is_explained_by_that_code(
    live: httpx.AsyncClient,
) -> None:
    """nhsa-2024 相关人员: a line whose performer_code (orders_dr_code) failed reads back
    naming that field, with the basis of that code, in both formats."""
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    body = {
        "settlement_id": "S-PERFORMER",
        "institution_code": H1,
        "lines": [
            {"line_id": "1", "physician_code": w["doc"]["E"], "service_date": "2026-02-01",
             "performer_code": w["doc"]["A"]},
        ],
    }  # fmt: skip
    r = await c.post("/v1/settlements/validate", json=body, headers=his)
    assert r.json()["lines"][0]["field"] == "performer_code"
    got = (await c.get(f"/v1/decisions/{r.json()['decision_id']}", headers=his)).json()
    (line,) = got["lines"]
    assert (line["reason"], line["field"], line["physician_code"]) == (
        "AGREEMENT_SUSPENDED",
        "performer_code",
        w["doc"]["A"],
    )
    assert line["basis"]["facts"][0]["kind"] == "agreement_suspension"
    msg = message(
        "2204",
        H1,
        fee("1", w["doc"]["E"], "2026-02-01") | {"orders_dr_code": w["doc"]["A"]},
        msgid="MSG-ORDERS",
    )
    r = await c.post("/v1/hsa", json=msg, headers=his)
    assert r.json()["output"]["result"][0]["ybgate_field"] == "orders_dr_code"
    got = (await c.get(f"/v1/decisions/{r.json()['inf_refmsgid']}", headers=his)).json()
    (line,) = got["lines"]
    assert (line["field"], line["physician_code"]) == ("performer_code", w["doc"]["A"])

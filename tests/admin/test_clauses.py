"""The record decides as the seed documents say. Each test names its clause.

Scenarios go through the admin HTTP API; the registry the hot path decides from (the
in-process store) is checked where the consequence is a settlement decision.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.store import RegistryStore
from app.seed import _populate
from app.uow import unit_of_work
from tests.admin import flows

ZJ, ZJ2, LZ = "330100", "330200", "620100"
CALENDAR_2027 = Path(__file__).parent.parent / "data" / "calendar-2027-test.toml"


async def violation(
    c: httpx.AsyncClient,
    h: dict[str, str],
    code: str,
    item: str,
    decided: str,
    region: str,
    points: int | None = None,
) -> Any:
    body: dict[str, Any] = {
        "physician_code": code,
        "region": region,
        "item": item,
        "occurred_on": decided,
        "decided_on": decided,
    }
    if points is not None:
        body["points"] = points
    return await flows.post(c, "/admin/v1/violations", body, h)


async def standing(c: httpx.AsyncClient, h: dict[str, str], code: str, day: str) -> Any:
    r = await c.get(f"/admin/v1/physicians/{code}", params={"as_of": day}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def reason(store: RegistryStore, code: str, inst: str, day: str) -> str | None:
    verdict = store.registry.context(inst).judge_code(code, date.fromisoformat(day))
    return verdict[0].reason


async def lanzhou_world(c: httpx.AsyncClient, h: dict[str, str], inst: str = "H62010000001") -> str:
    """A Lanzhou institution with 200 approved physicians (one revocation stays under
    第二十二条's 2%), and one physician."""
    await flows.region(c, h, LZ, "lanzhou-2014")
    body = {
        "code": inst,
        "name": "兰州医院",
        "region": LZ,
        "agreement_starts_on": "2020-01-01",
        "agreement_ends_on": "2029-12-31",
        "approved_physicians": 200,
    }
    await flows.post(c, "/admin/v1/institutions", body, h)
    return str((await flows.physician(c, h))["code"])


# ---- 1. a read never 4xx's on the state of the ledger --------------------------------


async def test_lanzhou_2014_第十一条_every_seeded_physician_reads_200(
    client: httpx.AsyncClient, su: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """GET /admin/v1/physicians/{code} answers 200 for every physician `ybgate seed`
    creates, Lanzhou ones without any deduction included (no current term is invented)."""
    async with unit_of_work(sessions, publish=False) as uow:
        await _populate(uow.session)
    r = await client.get("/admin/v1/physicians", params={"limit": 500}, headers=su)
    codes = [p["code"] for p in r.json()["items"]]
    r = await client.get("/admin/v1/physicians", params={"limit": 500, "offset": 500}, headers=su)
    codes += [p["code"] for p in r.json()["items"]]
    assert len(codes) == 1000
    statuses = {}
    for code in codes:
        got = await client.get(f"/admin/v1/physicians/{code}", headers=su)
        statuses[code] = got.status_code
    assert {s for s in statuses.values()} == {200}
    lanzhou = await standing(client, su, codes[3], "2026-11-30")  # i % 5 == 3: 兰州
    (current,) = [p for p in lanzhou["points"] if p["current"]]
    assert (current["period"], current["remaining"]) == ("2026-05-01/2028-04-30", 10)


# ---- 2. Lanzhou 协议期 per agreement term ------------------------------------------------


async def test_lanzhou_2014_第十一条_new_agreement_after_a_gap_counts_in_its_own_term(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """第十一条 协议期内初始积分为10分; 第十七条 协议期内累计扣分达10分以上 终止协议: 5 + 5
    inside the agreement 2023-07-01..2025-06-30 reach 10 in its own term, although they
    straddle the two-year cycles of the physician's first agreement (2021-01-01)."""
    code = await lanzhou_world(client, su)
    inst = "H62010000001"
    await flows.agreement(client, su, code, inst, "2021-01-01", "2022-12-31")
    await flows.agreement(client, su, code, inst, "2023-07-01", "2025-06-30")
    first = await violation(client, su, code, "13.1", "2024-11-04", LZ)
    assert first["standing"]["period"] == "2023-07-01/2025-06-30"
    assert first["standing"]["remaining"] == 5
    assert first["notice_deadline"] == "2024-11-07"  # 第十五条: 3 working days
    second = await violation(client, su, code, "13.2", "2025-02-03", LZ)
    assert second["standing"]["deducted"] == 10
    assert [(a["type"], a["clause"]) for a in second["actions"]] == [
        ("terminate", "lanzhou-2014 第十七条")
    ]
    assert reason(store, code, inst, "2025-02-03") == "AGREEMENT_TERMINATED"


async def test_lanzhou_2014_第十八条_re_designation_starts_a_new_term_second_revocation_5_years(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """第十八条: re-designated after 取消 (one year on), the physician starts a new 协议期
    with 10 points (第十一条): 5 + 1 suspends 3 months (第十七条), 11 is a second 取消,
    after which a new designation waits 5 years."""
    code = await lanzhou_world(client, su)
    inst = "H62010000001"
    await flows.agreement(client, su, code, inst, "2024-01-01", "2025-12-31")
    out = await violation(client, su, code, "12.1", "2024-03-01", LZ)
    assert [a["type"] for a in out["actions"]] == ["terminate"]
    await flows.agreement(client, su, code, inst, "2025-03-01", "2027-02-28")
    await violation(client, su, code, "13.1", "2025-04-01", LZ)
    out = await violation(client, su, code, "14.1", "2025-05-06", LZ, points=1)
    assert out["standing"]["period"] == "2025-03-01/2027-02-28"
    assert [(a["type"], a["months"]) for a in out["actions"]] == [("suspend", 3)]
    assert reason(store, code, inst, "2025-06-01") == "AGREEMENT_SUSPENDED"
    assert reason(store, code, inst, "2025-08-06") is None
    out = await violation(client, su, code, "13.2", "2025-09-01", LZ)
    assert out["standing"]["deducted"] == 11
    assert [a["type"] for a in out["actions"]] == ["terminate"]
    doc = await standing(client, su, code, "2025-09-01")
    assert sorted((b["starts_on"], b["ends_on"]) for b in doc["bans"]) == [
        ("2024-03-01", "2025-02-28"),
        ("2025-09-01", "2030-08-31"),
    ]
    r = await client.post(
        "/admin/v1/agreements",
        json={"physician_code": code, "institution_code": inst, "starts_on": "2026-09-01"},
        headers=su,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/registration-banned")


# ---- 3. a policy's rules act only on records under that policy -----------------------


async def test_lanzhou_2014_第二十二条_never_acts_on_a_zhejiang_institution(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """第二十二条 counts the revocations of Lanzhou's own institutions: a multi-site
    physician's Lanzhou 取消 does not count against (nor end) the Zhejiang hospital."""
    await flows.region(client, su, ZJ)
    await flows.institution(client, su, "H33010200001")
    code = await lanzhou_world(client, su)
    colleague = (await flows.physician(client, su, "330102198001011234000000002"))["code"]
    await flows.agreement(client, su, code, "H33010200001", "2024-01-01")
    await flows.agreement(client, su, colleague, "H33010200001", "2024-01-01")
    await flows.agreement(client, su, code, "H62010000001", "2025-01-01", "2026-12-31")
    zj = await violation(client, su, code, "1.4", "2026-03-02", ZJ)  # Zhejiang 解除
    assert [a["type"] for a in zj["actions"]] == ["terminate"]
    lz = await violation(client, su, code, "12.1", "2026-04-01", LZ)  # Lanzhou 取消
    assert all(a["institution_code"] != "H33010200001" for a in lz["actions"])
    r = await client.get(
        "/admin/v1/institutions/H33010200001/standing",
        params={"as_of": "2026-04-01"},
        headers=su,
    )
    assert r.json()["actions"] == [] and r.json()["flags"] == []
    assert reason(store, colleague, "H33010200001", "2026-05-01") is None


# ---- 4. Zhejiang: every region whose agreement was ended refuses for a year -----------


async def test_zhejiang_2014_三_二_every_region_whose_agreement_ended_refuses_for_a_year(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """三（二） 自解除协议之日起一年内不再接受: pooled points reach 12 on a deduction in 330100;
    the agreement in 330200 ended too, and 330200 refuses a new one for the year as well."""
    w = await flows.world(client, su)
    code = w["code"]
    await flows.region(client, su, ZJ2)
    await flows.institution(client, su, "H33020000001", region=ZJ2)
    await flows.institution(client, su, "H33020000002", region=ZJ2)
    await flows.agreement(client, su, code, inst="H33020000001")
    await violation(client, su, code, "2.1", "2026-05-06", ZJ2)
    out = await violation(client, su, code, "2.2", "2026-05-07", ZJ)
    assert [a["type"] for a in out["actions"]] == ["terminate"]
    doc = await standing(client, su, code, "2026-05-07")
    assert sorted(b["region"] for b in doc["bans"]) == [ZJ, ZJ2]
    for inst in ("H33010200001", "H33020000002"):
        r = await client.post(
            "/admin/v1/agreements",
            json={"physician_code": code, "institution_code": inst, "starts_on": "2027-05-06"},
            headers=su,
        )
        assert r.status_code == 409 and r.json()["type"].endswith("/registration-banned")
    await flows.agreement(client, su, code, inst="H33020000002", starts="2027-05-07")


# ---- 5. Zhejiang: the agreement renews with the institution --------------------------


async def test_zhejiang_2014_二_agreement_ending_with_the_institution_renews_with_it(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """二 / 协议样本 第十三条 协议期满自动延签: an agreement written with the institution's
    term end renews when the institution renews, unless terminated or the physician asked
    to end it (an explicit, audited request)."""
    await flows.region(client, su, ZJ)
    inst = "H33010200001"
    await flows.institution(client, su, inst, starts="2024-01-01", ends="2026-12-31")
    certs = [f"33010219800101123400000000{n}" for n in range(1, 4)]
    stays, leaves, ended = [str((await flows.physician(client, su, c))["code"]) for c in certs]
    for code in (stays, leaves, ended):
        await flows.agreement(client, su, code, inst, "2024-01-01", "2026-12-31")
    agreements = {
        a["physician_code"]: a["id"]
        for a in (await client.get("/admin/v1/agreements", headers=su)).json()["items"]
    }
    await flows.post(
        client,
        f"/admin/v1/agreements/{agreements[leaves]}/end-request",
        {"filed_on": "2026-10-08", "note": "本人申请解除"},
        su,
    )
    await flows.post(
        client,
        f"/admin/v1/agreements/{agreements[ended]}/terminate",
        {"effective_on": "2026-11-02", "reason": "协议解除"},
        su,
    )
    await flows.post(
        client,
        f"/admin/v1/institutions/{inst}/terms",
        {"starts_on": "2027-01-01", "ends_on": "2029-12-31"},
        su,
    )
    assert reason(store, stays, inst, "2027-03-01") is None
    assert reason(store, leaves, inst, "2027-03-01") == "NOT_AT_INSTITUTION"
    assert reason(store, ended, inst, "2027-03-01") == "NOT_AT_INSTITUTION"
    renewed = (await client.get(f"/admin/v1/agreements/{agreements[stays]}", headers=su)).json()
    assert renewed["ends_on"] == "2029-12-31"
    r = await client.get(
        "/admin/v1/audit",
        params={"target_type": "agreement", "target_id": agreements[leaves]},
        headers=su,
    )
    assert "agreement.end_request" in [e["action"] for e in r.json()["items"]]


# ---- 6. Lanzhou: two-year agreements -------------------------------------------------


async def test_lanzhou_2014_第六条_三_agreement_over_two_years_is_refused_naming_ends_on(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """第六条（三） 协议期限为两年: a longer agreement is refused (422 naming ``ends_on``); one
    without ``ends_on`` runs exactly two years."""
    code = await lanzhou_world(client, su)
    r = await client.post(
        "/admin/v1/agreements",
        json={
            "physician_code": code,
            "institution_code": "H62010000001",
            "starts_on": "2025-01-01",
            "ends_on": "2027-01-01",
        },
        headers=su,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["ends_on"]
    ok = await flows.agreement(client, su, code, "H62010000001", "2025-01-01")
    assert ok["ends_on"] == "2026-12-31"


# ---- 7. working days past the shipped calendar ----------------------------------------


async def test_zhejiang_2014_五_一_objection_into_2027_is_provisional_then_recomputed(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """五（一） 接到书面通知后10个工作日内: a deduction decided 2026-12-28, objection filed
    2027-01-08 → 201 with a provisional deadline, listed for the operator; loading the
    2027 schedule recomputes it (audited)."""
    w = await flows.world(client, su)
    v = await violation(client, su, w["code"], "4.1", "2026-12-28", ZJ)
    assert (v["objection_deadline"], v["objection_deadline_provisional"]) == ("2027-01-12", True)
    obj = await flows.post(
        client,
        f"/admin/v1/violations/{v['id']}/objection",
        {"filed_on": "2027-01-08", "grounds": "有异议"},
        su,
    )
    assert (obj["deadline"], obj["deadline_provisional"]) == ("2027-01-12", True)
    listed = await client.get("/admin/v1/deadlines", params={"provisional": "true"}, headers=su)
    assert [d["id"] for d in listed.json()["items"]] == [obj["id"]]
    data = tomllib.loads(CALENDAR_2027.read_text(encoding="utf-8"))
    body = {
        "source": data["source"],
        "holidays": [
            {"name": h["name"], "from": h["from"].isoformat(), "to": h["to"].isoformat()}
            for h in data["holidays"]
        ],
        "workdays": [{"name": d["name"], "date": d["date"].isoformat()} for d in data["workdays"]],
    }
    r = await client.put("/admin/v1/calendar/2027", json=body, headers=su)
    assert r.status_code == 200, r.text
    (recomputed,) = r.json()["recomputed"]
    # the adjusted working Saturday 2027-01-09 is the 9th working day: deadline 01-11
    assert (recomputed["deadline"], recomputed["provisional"]) == ("2027-01-11", False)
    assert recomputed["late"] is False
    listed = await client.get("/admin/v1/deadlines", params={"provisional": "true"}, headers=su)
    assert listed.json()["items"] == []
    r = await client.get(f"/admin/v1/violations/{v['id']}", headers=su)
    assert (r.json()["objection_deadline"], r.json()["objection_deadline_provisional"]) == (
        "2027-01-11",
        False,
    )
    r = await client.get(
        "/admin/v1/audit", params={"target_type": "calendar", "target_id": "2027"}, headers=su
    )
    assert [e["action"] for e in r.json()["items"]] == ["calendar.load"]


async def test_calendar_file_refused_naming_the_field(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """A schedule with a date outside its year or a 调休 day on a weekday is refused, each
    problem named; an operator token may not load the national calendar."""
    body = {
        "source": "x",
        "holidays": [{"name": "元旦", "from": "2026-12-31", "to": "2027-01-01"}],
        "workdays": [{"name": "调休", "date": "2027-01-06"}],
    }
    r = await client.put("/admin/v1/calendar/2027", json=body, headers=su)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["holidays[0]", "workdays[0].date"]


# ---- found on re-reading: the [institution] fields of a policy file were ignored ------


async def test_nhsa_2024_定点医药机构_a_suspension_counts_per_calendar_year(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """nhsa-2024 ``[institution] counts = "suspended_or_terminated"``, ``period =
    "calendar_year"``: one physician of five suspended in 2026 is 20% → the published
    example's flag (pending, for the operator). 暂停医保支付资格 is mandatory: applied with
    the deduction, so the flag arises on the same day; the months are chosen afterwards."""
    await flows.region(client, su, "110100", "nhsa-2024")
    body = {
        "code": "H11010000001",
        "name": "北京医院",
        "region": "110100",
        "agreement_starts_on": "2024-01-01",
        "agreement_ends_on": "2027-12-31",
        "approved_physicians": 5,
    }
    await flows.post(client, "/admin/v1/institutions", body, su)
    code = (await flows.physician(client, su))["code"]
    await flows.agreement(client, su, code, "H11010000001", "2024-01-01")
    out = await violation(client, su, code, "7-9", "2026-03-02", "110100", points=9)
    suspend, flag = out["actions"]
    assert (suspend["type"], suspend["status"], suspend["months"]) == ("suspend", "applied", 1)
    assert (flag["type"], flag["status"]) == ("institution_flag", "pending")
    await flows.post(
        client,
        f"/admin/v1/actions/{suspend['id']}/decide",
        {"approve": True, "months": 2, "decided_on": "2026-03-09"},
        su,
    )
    r = await client.get(
        "/admin/v1/institutions/H11010000001/standing",
        params={"as_of": "2026-03-09"},
        headers=su,
    )
    doc = r.json()
    assert (doc["revoked_physicians"], doc["flags"]) == (1, ["institution_flag"])
    assert [(a["rule_id"], a["period_key"], a["status"]) for a in doc["actions"]] == [
        ("affected-20-percent", "year/2026", "pending")
    ]

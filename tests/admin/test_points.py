"""Points through the admin API: each scenario names the policy clause it covers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.admin import flows

ZJ, LZ, NH = "330100", "620100", "110100"


async def violation(
    c: httpx.AsyncClient,
    h: dict[str, str],
    code: str,
    item: str,
    decided: str,
    region: str = ZJ,
    points: int | None = None,
    status: int = 201,
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
    r = await c.post("/admin/v1/violations", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def standing(c: httpx.AsyncClient, h: dict[str, str], code: str, day: str) -> Any:
    return (await c.get(f"/admin/v1/physicians/{code}", params={"as_of": day}, headers=h)).json()


async def test_zhejiang_2014_6_points_interview_9_pending_suspension_approved_2_months(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """zhejiang-2014 三（二）: 6 → 约谈 (applied); 9 → suspension 1–3 months, pending."""
    w = await flows.world(client, su)
    code = w["code"]
    first = await violation(client, su, code, "2.1", "2026-03-02")
    assert first["points"] == 6 and first["standing"]["remaining"] == 6
    assert [(a["type"], a["status"]) for a in first["actions"]] == [("interview", "applied")]
    second = await violation(client, su, code, "3.1", "2026-04-01")
    assert second["actions"] == []
    third = await violation(client, su, code, "4.1", "2026-04-02")
    (pending,) = third["actions"]
    assert (pending["type"], pending["status"]) == ("suspend", "pending")
    assert (pending["months_min"], pending["months_max"]) == (1, 3)
    r = await client.get("/admin/v1/actions", params={"status": "pending"}, headers=su)
    assert [a["id"] for a in r.json()["items"]] == [pending["id"]]
    # The registry is untouched until an operator decides.
    assert (await standing(client, su, code, "2026-05-01"))["status"] == "active"
    r = await client.post(
        f"/admin/v1/actions/{pending['id']}/decide",
        json={"approve": True, "months": 4, "decided_on": "2026-04-10"},
        headers=su,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "months"
    r = await client.post(
        f"/admin/v1/actions/{pending['id']}/decide",
        json={"approve": True, "months": 2, "decided_on": "2026-04-10"},
        headers=su,
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert r.json()["ends_on"] == "2026-06-09"
    assert (await standing(client, su, code, "2026-04-09"))["status"] == "active"
    assert (await standing(client, su, code, "2026-04-10"))["status"] == "suspended"
    # zhejiang-2014: the suspension runs on until an approved resumption application.
    assert (await standing(client, su, code, "2026-07-01"))["status"] == "suspended"
    r = await client.post(
        f"/admin/v1/actions/{pending['id']}/decide",
        json={"approve": False, "decided_on": "2026-04-11"},
        headers=su,
    )
    assert r.status_code == 409


async def test_zhejiang_2014_resumption_applied_in_time_ends_suspension_on_planned_date(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """zhejiang-2014 三（二） 在中止期满前10个工作日内 (read as the window of the last 10
    working days, policy ``window = "within"``); approved → service resumes the day after
    the planned end."""
    w = await flows.world(client, su)
    code = w["code"]
    await violation(client, su, code, "2.1", "2026-03-02")
    pending = (await violation(client, su, code, "3.1", "2026-03-03"))["actions"]
    assert pending == []
    pending = (await violation(client, su, code, "4.1", "2026-03-04"))["actions"][0]
    await flows.post(
        client,
        f"/admin/v1/actions/{pending['id']}/decide",
        {"approve": True, "months": 1, "decided_on": "2026-06-01"},
        su,
    )
    # planned last day 2026-06-30; its 10 working days before: 06-15 … 06-29 (端午 06-19).
    r = await client.post(
        f"/admin/v1/actions/{pending['id']}/resumption", json={"filed_on": "2026-06-12"}, headers=su
    )
    assert r.status_code == 422 and r.json()["type"].endswith("/resumption-early")
    assert r.json()["errors"][0]["field"] == "filed_on"
    r = await client.post(
        f"/admin/v1/actions/{pending['id']}/resumption", json={"filed_on": "2026-07-01"}, headers=su
    )
    assert r.status_code == 422 and r.json()["type"].endswith("/resumption-late")
    app_ = await flows.post(
        client, f"/admin/v1/actions/{pending['id']}/resumption", {"filed_on": "2026-06-15"}, su
    )
    await flows.post(
        client,
        f"/admin/v1/resumptions/{app_['id']}/decision",
        {"approve": True, "decided_on": "2026-06-22"},
        su,
    )
    assert (await standing(client, su, code, "2026-06-30"))["status"] == "suspended"
    assert (await standing(client, su, code, "2026-07-01"))["status"] == "active"


async def test_zhejiang_2014_12_points_terminate_every_agreement_and_ban_1_year(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """zhejiang-2014 三（二）: reaches 12 → every agreement ends; every agency whose agreement
    was ended accepts no new agreement for 1 year (经办机构自解除协议之日起一年内不再接受)."""
    w = await flows.world(client, su)
    code = w["code"]
    await flows.region(client, su, "330200")
    await flows.institution(client, su, "H33020000001", region="330200")
    await flows.agreement(client, su, code, inst="H33020000001")
    out = await violation(client, su, code, "1.4", "2026-05-06")
    assert [(a["type"], a["status"]) for a in out["actions"]] == [("terminate", "applied")]
    doc = await standing(client, su, code, "2026-05-06")
    assert doc["status"] == "terminated"
    assert {a["status"] for a in doc["agreements"]} == {"terminated"}
    assert [b["kind"] for b in doc["bans"]] == ["terminate", "terminate"]
    assert {b["ends_on"] for b in doc["bans"]} == {"2027-05-05"}
    r = await client.post(
        "/admin/v1/agreements",
        json={
            "physician_code": code,
            "institution_code": "H33010200001",
            "starts_on": "2027-01-01",
        },
        headers=su,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/registration-banned")
    await flows.agreement(client, su, code, inst="H33010200001", starts="2027-05-06")


async def test_zhejiang_2014_points_pool_across_regions_and_reset_at_year_end(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """zhejiang-2014 三: 多点执业 初始分值不变，扣分累加计算; 每年度末扣分清零."""
    w = await flows.world(client, su)
    code = w["code"]
    await flows.region(client, su, "330200")
    await flows.institution(client, su, "H33020000001", region="330200")
    await flows.agreement(client, su, code, inst="H33020000001")
    await violation(client, su, code, "3.1", "2026-02-02", region=ZJ)
    out = await violation(client, su, code, "2.2", "2026-08-03", region="330200")
    assert (
        out["standing"]["deducted"] == 8 and out["standing"]["period"] == out["standing"]["period"]
    )
    assert [a["type"] for a in out["actions"]] == ["interview"]
    nxt = await violation(client, su, code, "3.2", "2027-01-04", region=ZJ)
    assert nxt["standing"]["deducted"] == 2 and nxt["standing"]["remaining"] == 10


async def test_lanzhou_2014_17_suspends_3_then_6_months_then_terminates(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """lanzhou-2014 第十七条: 6 → 3 months, 8 → 6 months (both applied, end by themselves),
    10 → termination and loss of the designation."""
    await flows.region(client, su, LZ, "lanzhou-2014")
    await flows.institution(client, su, "H62010000001", region=LZ)
    doc = await flows.physician(client, su)
    code = doc["code"]
    ag = await flows.agreement(client, su, code, inst="H62010000001", starts="2025-01-01")
    assert ag["ends_on"] == "2026-12-31"  # 第六条（三）: two years
    r = await violation(client, su, code, "14.1", "2026-01-05", region=LZ, points=4, status=422)
    assert r["errors"][0]["field"] == "points"
    r = await violation(client, su, code, "14.1", "2026-01-05", region=LZ, status=422)
    assert r["errors"][0]["field"] == "points"
    out = await violation(client, su, code, "13.1", "2026-01-05", region=LZ)
    assert out["actions"] == []
    out = await violation(client, su, code, "14.2", "2026-01-06", region=LZ, points=1)
    (s3,) = out["actions"]
    assert (s3["type"], s3["status"], s3["months"]) == ("suspend", "applied", 3)
    assert (await standing(client, su, code, "2026-04-05"))["status"] == "suspended"
    assert (await standing(client, su, code, "2026-04-06"))["status"] == "active"
    out = await violation(client, su, code, "14.3", "2026-05-04", region=LZ, points=2)
    (s6,) = out["actions"]
    assert s6["months"] == 6 and s6["ends_on"] == "2026-11-03"
    out = await violation(client, su, code, "14.4", "2026-06-01", region=LZ, points=2)
    # The institution's only physician is revoked: 第二十二条 flags it and ends its agreement.
    types = [a["type"] for a in out["actions"]]
    assert types == ["terminate", "institution_flag", "institution_terminate"]
    doc = await standing(client, su, code, "2026-06-01")
    assert doc["status"] == "terminated"
    assert doc["bans"][0]["ends_on"] == "2027-05-31"


async def test_lanzhou_2014_22_small_institution_terminated_at_one_revoked(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """lanzhou-2014 第二十二条: fewer than 10 approved physicians → 1 revoked ends the
    institution's agreement."""
    await flows.region(client, su, LZ, "lanzhou-2014")
    r = await client.post(
        "/admin/v1/institutions",
        json={
            "code": "H62010000009",
            "name": "小诊所",
            "region": LZ,
            "agreement_starts_on": "2025-01-01",
            "agreement_ends_on": "2026-12-31",
            "approved_physicians": 8,
        },
        headers=su,
    )
    assert r.status_code == 201
    doc = await flows.physician(client, su)
    await flows.agreement(client, su, doc["code"], inst="H62010000009", starts="2025-01-01")
    out = await violation(client, su, doc["code"], "12.1", "2026-03-02", region=LZ)
    types = [a["type"] for a in out["actions"]]
    assert types == ["terminate", "institution_flag", "institution_terminate"]
    r = await client.get(
        "/admin/v1/institutions/H62010000009/standing", params={"as_of": "2026-03-02"}, headers=su
    )
    body = r.json()
    assert (body["approved_physicians"], body["revoked_physicians"]) == (8, 1)
    assert "institution_terminate" in body["flags"]
    r = await client.get(
        "/admin/v1/institutions/H62010000009", params={"as_of": "2026-03-02"}, headers=su
    )
    assert r.json()["status"] == "ended"


async def test_lanzhou_2014_22_two_percent_flags_the_institution_only(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """lanzhou-2014 第二十二条: 2 revoked of 100 approved (2%) → no A grade, −5; the
    institution's agreement goes on (5% not reached)."""
    await flows.region(client, su, LZ, "lanzhou-2014")
    r = await client.post(
        "/admin/v1/institutions",
        json={
            "code": "H62010000010",
            "name": "大医院",
            "region": LZ,
            "agreement_starts_on": "2025-01-01",
            "agreement_ends_on": "2026-12-31",
            "approved_physicians": 100,
        },
        headers=su,
    )
    assert r.status_code == 201
    types: list[str] = []
    for n, cert in enumerate(("620102198001011111", "620102198001012222")):
        doc = await flows.physician(client, su, cert=cert)
        await flows.agreement(client, su, doc["code"], inst="H62010000010", starts="2025-01-01")
        out = await violation(client, su, doc["code"], "12.2", f"2026-03-0{n + 2}", region=LZ)
        types = [a["type"] for a in out["actions"]]
    assert types == ["terminate", "institution_flag"]
    body = (
        await client.get(
            "/admin/v1/institutions/H62010000010/standing",
            params={"as_of": "2026-04-01"},
            headers=su,
        )
    ).json()
    assert body["flags"] == ["institution_flag"] and body["ratio"] == "0.0200"
    r = await client.get(
        "/admin/v1/institutions/H62010000010", params={"as_of": "2026-04-01"}, headers=su
    )
    assert r.json()["status"] == "active"


async def test_nhsa_2024_single_shot_12_bans_3_years_accumulated_1_year(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """nhsa-2024: a single deduction of 12 → 3-year ban; 12 accumulated → 1 year."""
    await flows.region(client, su, NH, "nhsa-2024")
    await flows.institution(client, su, "H11010000001", region=NH)
    one = await flows.physician(client, su, cert="110101199001011234")
    two = await flows.physician(client, su, cert="110101199001015678")
    for doc in (one, two):
        await flows.agreement(client, su, doc["code"], inst="H11010000001")
    await violation(client, su, one["code"], "10-12", "2026-02-02", region=NH, points=12)
    await violation(client, su, two["code"], "4-6", "2026-02-02", region=NH, points=6)
    await violation(client, su, two["code"], "4-6", "2026-02-03", region=NH, points=6)
    b1 = (await standing(client, su, one["code"], "2026-03-01"))["bans"]
    b2 = (await standing(client, su, two["code"], "2026-03-01"))["bans"]
    assert b1[0]["ends_on"] == "2029-02-01"
    assert b2[0]["ends_on"] == "2027-02-02"
    r = await violation(
        client, su, one["code"], "4-6", "2026-02-02", region=NH, points=7, status=422
    )
    assert r["errors"][0]["field"] == "points"


async def test_objection_on_the_11th_working_day_across_spring_festival_is_late(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """zhejiang-2014 五（一）: 10 working days of the notice, Chinese calendar. Decided
    2026-02-11; 春节 2026-02-15..23 is off, Saturdays 2026-02-14 and 2026-02-28 are worked
    (调休): the 10th working day is 2026-03-03 (a weekday count would say 2026-02-25),
    the 11th is 2026-03-04."""
    w = await flows.world(client, su)
    v = await violation(client, su, w["code"], "4.1", "2026-02-11")
    assert v["objection_deadline"] == "2026-03-03"
    r = await client.post(
        f"/admin/v1/violations/{v['id']}/objection",
        json={"filed_on": "2026-03-04", "grounds": "不服"},
        headers=su,
    )
    assert r.status_code == 422
    assert r.json()["type"].endswith("/objection-late") and r.json()["code"] == "OBJECTION_LATE"
    r = await client.post(
        f"/admin/v1/violations/{v['id']}/objection",
        json={"filed_on": "2026-03-03", "grounds": "不服"},
        headers=su,
    )
    assert r.status_code == 201


async def test_upheld_objection_reverses_the_deduction_and_the_suspension_it_caused(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """Objection upheld → the deduction and what it alone triggered are reversed, including
    a suspension already in the registry (lanzhou-2014 第十七条)."""
    await flows.region(client, su, LZ, "lanzhou-2014")
    await flows.institution(client, su, "H62010000001", region=LZ)
    doc = await flows.physician(client, su)
    code = doc["code"]
    await flows.agreement(client, su, code, inst="H62010000001", starts="2025-01-01")
    await violation(client, su, code, "13.1", "2026-03-02", region=LZ)
    v = await violation(client, su, code, "14.1", "2026-03-03", region=LZ, points=1)
    assert (await standing(client, su, code, "2026-03-10"))["status"] == "suspended"
    await flows.post(
        client,
        f"/admin/v1/violations/{v['id']}/objection",
        {"filed_on": "2026-03-05", "grounds": "记录有误"},
        su,
    )
    out = await flows.post(
        client,
        f"/admin/v1/violations/{v['id']}/objection/decision",
        {"upheld": True, "decided_on": "2026-03-12"},
        su,
    )
    assert out["standing"]["deducted"] == 5
    assert [a["type"] for a in out["voided_actions"]] == ["suspend"]
    assert (await standing(client, su, code, "2026-03-10"))["status"] == "active"


async def test_integrity_archive_lists_every_event_in_date_order(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """lanzhou-2014 第二十条 诚信档案: violations, the consequences and objections, in order."""
    w = await flows.world(client, su)
    code = w["code"]
    v = await violation(client, su, code, "2.1", "2026-03-02")
    await flows.post(
        client,
        f"/admin/v1/violations/{v['id']}/objection",
        {"filed_on": "2026-03-04", "grounds": "不服"},
        su,
    )
    await flows.post(
        client,
        f"/admin/v1/violations/{v['id']}/objection/decision",
        {"upheld": False, "decided_on": "2026-03-09"},
        su,
    )
    r = await client.get(f"/admin/v1/physicians/{code}/record", headers=su)
    kinds = [e["event"] for e in r.json()["events"]]
    points_events = [k for k in kinds if k.startswith(("violation", "action", "objection"))]
    assert points_events == [
        "violation",
        "action.interview",
        "objection.filed",
        "objection.decided",
    ]
    assert "agreement.signed" in kinds
    days = [e["on"] for e in r.json()["events"]]
    assert days == sorted(days)

"""Related staff (相关人员) and the national rules, clause by clause (CONTRACT.md "Related
staff"; 医保发〔2024〕23号, its 经办规程 医保办发〔2024〕34号, 医保办函〔2022〕39号, and the
海南 细则 shipped as hainan-2025). Through the admin HTTP API; where a consequence is a
settlement decision, the registry the hot path decides from (the in-process store)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from app.core.clock import today
from app.public.limits import RateWindow, TTLCache
from app.registry.store import RegistryStore
from tests.admin import flows

NHSA, HAINAN, ZJ = "110100", "460100", "330100"
HOSP, PHARMACY = "H11010000001", "P11010000001"


def reason(store: RegistryStore, code: str, inst: str, day: str | date) -> str | None:
    d = day if isinstance(day, date) else date.fromisoformat(day)
    return store.registry.context(inst).judge_code(code, d)[0].reason


async def person(
    c: httpx.AsyncClient,
    h: dict[str, str],
    n: int,
    category: str = "doctor",
    national: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "certificate_no": f"1101021980010112340000{n:05d}",
        "name": f"人员{n}",
        "category": category,
    }
    if national is not None:
        body["national_code"] = national
    doc = await flows.post(c, "/admin/v1/physicians", body, h)
    assert doc["category"] == category
    code: str = doc["code"]
    return code


async def nhsa_world(c: httpx.AsyncClient, h: dict[str, str], region: str = NHSA) -> None:
    await flows.region(c, h, region, "nhsa-2024")
    for code in (HOSP, PHARMACY):
        body = {
            "code": code,
            "name": f"机构{code}",
            "region": region,
            "agreement_starts_on": "2024-01-01",
            "agreement_ends_on": "2028-12-31",
            "approved_physicians": 5,
        }
        await flows.post(c, "/admin/v1/institutions", body, h)


async def violation(
    c: httpx.AsyncClient,
    h: dict[str, str],
    code: str,
    item: str,
    points: int,
    day: str,
    region: str = NHSA,
    **extra: Any,
) -> httpx.Response:
    body = {
        "physician_code": code,
        "region": region,
        "item": item,
        "points": points,
        "occurred_on": day,
        "decided_on": day,
        **extra,
    }
    return await c.post("/admin/v1/violations", json=body, headers=h)


async def test_nhsa_2024_相关人员_every_category_with_its_national_code_and_p_coded_pharmacies(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """相关人员范围 (医疗类、护理类、药学类、技术类, 定点零售药店主要负责人) with their
    医保信息业务编码 (D/N/Y, HY/HJ under 医保办函〔2022〕39号); 定点零售药店 (P + 11 digits)."""
    await nhsa_world(client, su)
    nurse = await person(client, su, 1, "nurse", "N110100000001")
    tech = await person(client, su, 2, "technician", "HJ110100000002")
    pharmacist = await person(client, su, 3, "pharmacist", "Y110100000003")
    head = await person(client, su, 4, "pharmacy_head")
    await flows.agreement(client, su, nurse, HOSP)
    await flows.agreement(client, su, tech, HOSP)
    await flows.agreement(client, su, pharmacist, PHARMACY)
    await flows.agreement(client, su, head, PHARMACY)
    for code, inst in ((nurse, HOSP), ("N110100000001", HOSP), (head, PHARMACY)):
        assert reason(store, code, inst, "2026-05-01") is None
    # A code of another family is refused, naming national_code.
    body = {"certificate_no": "110102198001011234000099", "name": "错", "category": "nurse",
            "national_code": "D110100000099"}  # fmt: skip
    r = await client.post("/admin/v1/physicians", json=body, headers=su)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["national_code"]
    # A pharmacy's head is registered at a pharmacy only.
    r = await client.post(
        "/admin/v1/agreements",
        json={"physician_code": head, "institution_code": HOSP, "starts_on": "2024-01-01"},
        headers=su,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "institution_code"


async def test_a_local_physician_policy_covers_physicians_only(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """Which categories a policy covers is policy data: zhejiang-2014 has physicians."""
    await flows.region(client, su, ZJ, "zhejiang-2014")
    await flows.institution(client, su, "H33010200001", ZJ)
    nurse = await person(client, su, 5, "nurse")
    r = await client.post(
        "/admin/v1/agreements",
        json={"physician_code": nurse, "institution_code": "H33010200001",
              "starts_on": "2024-01-01"},
        headers=su,
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "physician_code"


async def test_nhsa_2024_暂停医保支付资格_9_points_suspend_at_once_months_chosen_in_time(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """一个自然年度内记分达到9分的，将暂停其医保支付资格1-6个月: mandatory (applied with the
    deduction, 1 month by default); the agency chooses 1-6 months within 10 working days;
    declining is refused; 达到12分的，终止."""
    await nhsa_world(client, su)
    nurse = await person(client, su, 6, "nurse", "N110100000006")
    await flows.agreement(client, su, nurse, HOSP)
    r = await violation(client, su, nurse, "7-9", 9, "2026-03-02")
    assert r.status_code == 201, r.text
    (suspend, *_) = r.json()["actions"]
    assert (suspend["type"], suspend["status"], suspend["months"]) == ("suspend", "applied", 1)
    assert (suspend["months_min"], suspend["months_max"]) == (1, 6)
    assert reason(store, nurse, HOSP, "2026-03-02") == "AGREEMENT_SUSPENDED"
    assert reason(store, "N110100000006", HOSP, "2026-04-01") == "AGREEMENT_SUSPENDED"
    assert reason(store, nurse, HOSP, "2026-04-02") is None  # default: 1 month
    pending = await client.get("/admin/v1/actions", params={"status": "pending"}, headers=su)
    assert suspend["id"] not in [a["id"] for a in pending.json()["items"]]
    choosing = await client.get("/admin/v1/actions", params={"months_open": "true"}, headers=su)
    assert [a["id"] for a in choosing.json()["items"]] == [suspend["id"]]
    decide = f"/admin/v1/actions/{suspend['id']}/decide"
    r = await client.post(decide, json={"approve": False, "decided_on": "2026-03-03"}, headers=su)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approve"
    late = {"approve": True, "months": 3, "decided_on": "2026-03-30"}
    r = await client.post(decide, json=late, headers=su)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "decided_on"
    ok = {"approve": True, "months": 3, "decided_on": "2026-03-06"}
    assert (await client.post(decide, json=ok, headers=su)).status_code == 200
    assert reason(store, nurse, HOSP, "2026-06-01") == "AGREEMENT_SUSPENDED"
    assert reason(store, nurse, HOSP, "2026-06-02") is None
    assert (await client.post(decide, json=ok, headers=su)).status_code == 409
    r = await violation(client, su, nurse, "1-3", 3, "2026-07-01")
    first = r.json()["actions"][0]
    assert (first["type"], first["status"]) == ("terminate", "applied")
    assert reason(store, nurse, HOSP, "2026-07-01") == "AGREEMENT_TERMINATED"


async def test_nhsa_2024_暂停定点医药机构医保结算_acts_on_lines_once_approved_and_is_reversible(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """The institution action (published example: 20% of staff suspended or terminated in a
    year) suspends the institution's settlement from its approval: every line there is
    INSTITUTION_SUSPENDED; an upheld objection undoes it."""
    await nhsa_world(client, su)
    dr = await person(client, su, 7)
    other = await person(client, su, 8)
    await flows.agreement(client, su, dr, HOSP)
    await flows.agreement(client, su, other, HOSP)
    out = (await violation(client, su, dr, "7-9", 9, "2026-03-02")).json()
    (flag,) = [a for a in out["actions"] if a["type"] == "institution_flag"]
    assert flag["status"] == "pending"
    assert reason(store, other, HOSP, "2026-03-10") is None
    await flows.post(
        client,
        f"/admin/v1/actions/{flag['id']}/decide",
        {"approve": True, "decided_on": "2026-03-10"},
        su,
    )
    assert reason(store, other, HOSP, "2026-03-09") is None
    assert reason(store, other, HOSP, "2026-03-10") == "INSTITUTION_SUSPENDED"
    await flows.post(
        client,
        f"/admin/v1/violations/{out['id']}/objection",
        {"filed_on": "2026-03-05", "grounds": "记分有误"},
        su,
    )
    await flows.post(
        client,
        f"/admin/v1/violations/{out['id']}/objection/decision",
        {"upheld": True, "decided_on": "2026-03-20"},
        su,
    )
    assert reason(store, other, HOSP, "2026-03-10") is None
    assert reason(store, dr, HOSP, "2026-03-10") is None


async def test_nhsa_2024_负有责任程度_degrees_move_the_points_and_stay_in_the_record(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    await nhsa_world(client, su)
    dr = await person(client, su, 9)
    await flows.agreement(client, su, dr, HOSP)
    r = await violation(client, su, dr, "4-6", 6, "2026-03-02", degree="lighter")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "points"
    r = await violation(client, su, dr, "4-6", 2, "2026-03-02", degree="reduced")
    assert r.status_code == 201 and r.json()["degree"] == "reduced"
    record = (await client.get(f"/admin/v1/physicians/{dr}/record", headers=su)).json()["events"]
    (v,) = [e for e in record if e["event"] == "violation"]
    assert (v["degree"], v["points"]) == ("reduced", 2)
    await flows.region(client, su, ZJ, "zhejiang-2014")
    r = await client.post(
        "/admin/v1/violations",
        json={"physician_code": dr, "region": ZJ, "item": "2.1", "occurred_on": "2026-03-02",
              "decided_on": "2026-03-02", "degree": "lighter"},
        headers=su,
    )  # fmt: skip
    assert r.status_code in (403, 422)


async def test_记分修复_within_the_provincial_limits(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """hainan-2025 记分修复: training 2 points a time, 4 a year; 5 a year in all; audited
    and in the integrity archive. zhejiang-2014 has no repair: REPAIR_NOT_ALLOWED."""
    await nhsa_world(client, su)
    await flows.region(client, su, HAINAN, "hainan-2025")
    await flows.institution(client, su, "H46010000001", HAINAN)
    dr = await person(client, su, 10)
    await flows.agreement(client, su, dr, "H46010000001")
    await flows.agreement(client, su, dr, HOSP)
    await violation(client, su, dr, "4-6", 6, "2026-03-02", region=HAINAN)
    path = f"/admin/v1/physicians/{dr}/repairs"
    body = {"region": HAINAN, "period": "2026", "points": 2, "means": "training",
            "decided_on": "2026-04-01"}  # fmt: skip
    r = await client.post(path, json=body, headers=su)
    assert r.status_code == 201, r.text
    assert (r.json()["standing"]["deducted"], r.json()["standing"]["remaining"]) == (4, 8)
    r = await client.post(path, json=body | {"points": 3}, headers=su)
    assert (r.status_code, r.json()["code"]) == (422, "REPAIR_LIMIT")
    # A repair never reaches back before the period's last deduction (nor into another).
    r = await client.post(path, json=body | {"decided_on": "2026-03-01"}, headers=su)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "decided_on")
    r = await client.post(path, json=body | {"period": "2025"}, headers=su)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "period")
    assert (await client.post(path, json=body, headers=su)).status_code == 201
    r = await client.post(path, json=body | {"points": 1}, headers=su)  # 4 by training
    assert (r.status_code, r.json()["code"]) == (422, "REPAIR_LIMIT")
    r = await client.post(path, json=body | {"means": "outreach", "points": 1}, headers=su)
    assert r.status_code == 201, r.text
    r = await client.post(path, json=body | {"means": "management", "points": 1}, headers=su)
    assert (r.status_code, r.json()["code"]) == (422, "REPAIR_LIMIT")  # 5 a year in all
    await flows.region(client, su, ZJ, "zhejiang-2014")
    await flows.institution(client, su, "H33010200001", ZJ)
    await flows.agreement(client, su, dr, "H33010200001")
    r = await client.post(path, json=body | {"region": ZJ}, headers=su)
    assert (r.status_code, r.json()["code"]) == (422, "REPAIR_NOT_ALLOWED")
    record = (await client.get(f"/admin/v1/physicians/{dr}/record", headers=su)).json()["events"]
    assert [e["points"] for e in record if e["event"] == "repair"] == [2, 2, 1]


async def test_policy_versions_judge_by_the_day_it_occurred_and_rewrite_nothing(
    client: httpx.AsyncClient, su: dict[str, str]
) -> None:
    """A region switching from nhsa-2024 to its province's 细则 from a date: a violation is
    judged by the policy in force on its occurred_on; what was decided stays; a preview
    shows the switch before it commits."""
    await nhsa_world(client, su)
    dr = await person(client, su, 11)
    await flows.agreement(client, su, dr, HOSP)
    before = (await violation(client, su, dr, "1-3", 1, "2026-08-01")).json()
    switch = {"policy": "hainan-2025", "effective_from": "2026-07-01"}
    preview = await flows.post(client, f"/admin/v1/regions/{NHSA}/policy/preview", switch, su)
    assert (preview["replaces"], preview["kept_violations"], preview["repair"]) == (
        "nhsa-2024",
        1,
        True,
    )
    region = (await client.get(f"/admin/v1/regions/{NHSA}", headers=su)).json()
    assert region["policy"] == "nhsa-2024"  # a preview writes nothing
    await flows.post(client, f"/admin/v1/regions/{NHSA}/policy", switch, su)
    old = (await violation(client, su, dr, "1-3", 1, "2026-06-30")).json()
    new = (await violation(client, su, dr, "1-3", 1, "2026-07-02")).json()
    assert (old["policy"], new["policy"]) == ("nhsa-2024", "hainan-2025")
    r = await client.get("/admin/v1/violations", params={"physician": dr}, headers=su)
    kept = [v for v in r.json()["items"] if v["id"] == before["id"]]
    assert kept[0]["policy"] == "nhsa-2024"


async def test_a_policy_switch_dated_ahead_leaves_today_to_the_policy_in_force(
    client: httpx.AsyncClient, su: dict[str, str], store: RegistryStore
) -> None:
    """A switch written today but dated next month changes nothing before its date: the
    registry the hot path judges from keeps the version in force on each line's date (its
    code format and emergency scope), and an agreement starting before the switch is
    checked against the policy in force on its first day."""
    await nhsa_world(client, su)
    ahead = today() + timedelta(days=30)
    switch = {"policy": "hainan-2025", "effective_from": ahead.isoformat()}
    await flows.post(client, f"/admin/v1/regions/{NHSA}/policy", switch, su)
    region = store.registry.regions[NHSA]
    assert region.on(today()).policy == "nhsa-2024"
    assert region.on(ahead - timedelta(days=1)).policy == "nhsa-2024"
    assert region.on(ahead).policy == "hainan-2025"
    versions = (await client.get(f"/admin/v1/regions/{NHSA}/policies", headers=su)).json()
    assert [v["policy"] for v in versions] == ["nhsa-2024", "hainan-2025"]
    shown = (await client.get(f"/admin/v1/regions/{NHSA}", headers=su)).json()
    assert shown["policy"] == "nhsa-2024"  # the region's policy today, not the one ahead
    dr = await person(client, su, 12)
    await flows.agreement(client, su, dr, HOSP)
    assert reason(store, dr, HOSP, today()) is None


async def test_public_status_lists_staff_today_without_a_token(
    client: httpx.AsyncClient, su: dict[str, str], admin_app: Any
) -> None:
    """上墙公布 / 信息公开: name, code, category, may bill, current suspension dates."""
    await nhsa_world(client, su)
    day = today()
    nurse = await person(client, su, 12, "nurse", "N110100000012")
    dr = await person(client, su, 13)
    await flows.agreement(client, su, nurse, HOSP)
    await flows.agreement(client, su, dr, HOSP)
    decided = (day - timedelta(days=2)).isoformat()
    await violation(client, su, dr, "7-9", 9, decided)
    r = await client.get(f"/public/v1/institutions/{HOSP}/staff")
    assert r.status_code == 200, r.text
    doc = r.json()
    rows = {s["code"]: s for s in doc["staff"]}
    assert set(rows[nurse]) == {
        "name",
        "code",
        "category",
        "may_bill",
        "suspended_from",
        "suspended_until",
        "terminated_on",
    }
    assert (rows[nurse]["category"], rows[nurse]["may_bill"]) == ("nurse", True)
    assert (rows[dr]["may_bill"], rows[dr]["suspended_from"]) == (False, decided)
    page = await client.get(f"/public/institutions/{HOSP}")
    assert page.status_code == 200 and "相关人员" in page.text and "不可结算" in page.text
    assert "护理类" in page.text
    assert (await client.get("/public/v1/institutions/H99999999999/staff")).status_code == 404
    admin_app.state.public_guards = (RateWindow(1), TTLCache(30.0))
    assert (await client.get(f"/public/v1/institutions/{HOSP}/staff")).status_code == 200
    assert (await client.get(f"/public/v1/institutions/{HOSP}/staff")).status_code == 429

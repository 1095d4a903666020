"""``/admin/v1/institutions/{code}/gateway-credentials`` on real PostgreSQL (CONTRACT.md
"Gateway signature"): issue (secret shown once), rotate with overlap, register a pair the
platform issued, revoke every pair, who may do it, what the record, the audit log and the
outbox keep (never the secret)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.secrets import secret_box
from app.models import GatewayCredential
from app.registry.store import RegistryStore
from tests.admin import flows
from tests.conftest import make_token

INST = "H33010200001"
PATH = f"/admin/v1/institutions/{INST}/gateway-credentials"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    await flows.region(client, su)
    await flows.region(client, su, "620100", "lanzhou-2014")
    await flows.institution(client, su)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_issue_shows_the_secret_once_and_lists_pairs_without_it(
    client: httpx.AsyncClient, su: dict[str, str], world: None, store: RegistryStore
) -> None:
    r = await client.post(PATH, headers=su)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"paasid", "secret", "previous_valid_until"}
    assert len(body["secret"]) == 32 and body["previous_valid_until"] is None
    listed = await client.get(PATH, headers=su)
    assert listed.status_code == 200
    [pair] = listed.json()["items"]
    assert pair["paasid"] == body["paasid"] and pair["scheme"] == "x-tif"
    assert pair["active"] is True and pair["revoked"] is False and pair["valid_until"] is None
    assert body["secret"] not in listed.text and "secret" not in pair
    # the embedded registry has it at once, its secret sealed
    gateway = store.registry.gateway[body["paasid"]]
    assert gateway.institution == INST and body["secret"] not in gateway.sealed


async def test_each_call_rotates_and_the_previous_pair_overlaps_for_the_stated_time(
    client: httpx.AsyncClient, su: dict[str, str], world: None, store: RegistryStore
) -> None:
    first = (await client.post(PATH, headers=su)).json()
    before = datetime.now().astimezone()
    second = (await client.post(PATH, headers=su)).json()
    until = when(second["previous_valid_until"])
    overlap = until - before  # YBGATE_GATEWAY_ROTATION_OVERLAP_S, 24 h by default
    assert timedelta(hours=23, minutes=59) < overlap <= timedelta(hours=24, seconds=5)
    pairs = {p["paasid"]: p for p in (await client.get(PATH, headers=su)).json()["items"]}
    assert pairs[first["paasid"]]["active"] and when(pairs[first["paasid"]]["valid_until"]) == until
    assert pairs[second["paasid"]]["valid_until"] is None
    assert store.registry.gateway[first["paasid"]].valid_until == until.timestamp()
    # a third call: the first keeps its earlier end, the second now overlaps too
    third = (await client.post(PATH, headers=su)).json()
    pairs = {p["paasid"]: p for p in (await client.get(PATH, headers=su)).json()["items"]}
    assert when(pairs[first["paasid"]]["valid_until"]) == until
    assert when(third["previous_valid_until"]) >= until


async def test_an_empty_body_generates_a_pair_and_so_does_a_scheme_alone(
    client: httpx.AsyncClient, su: dict[str, str], world: None
) -> None:
    r = await client.post(PATH, headers=su, json={})
    assert r.status_code == 201 and len(r.json()["secret"]) == 32
    r = await client.post(PATH, headers=su, json={"scheme": "csb"})
    assert r.status_code == 201 and r.json()["scheme"] == "csb" and r.json()["secret"]


async def test_registering_a_platform_issued_pair_answers_no_secret(
    client: httpx.AsyncClient, su: dict[str, str], world: None, store: RegistryStore
) -> None:
    secret = "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv"
    r = await client.post(PATH, headers=su, json={"paasid": "hptfyj", "secret": secret})
    assert r.status_code == 201, r.text
    assert r.json()["paasid"] == "hptfyj" and r.json()["secret"] is None
    assert secret not in r.text
    csb = {"paasid": "csb-ak-01", "secret": "csb-secret-0001", "scheme": "csb"}
    r = await client.post(PATH, headers=su, json=csb)
    assert r.status_code == 201 and r.json()["scheme"] == "csb"
    assert r.json()["previous_valid_until"] is not None  # hptfyj now overlaps
    assert store.registry.gateway["csb-ak-01"].scheme == "csb"
    # the same paasid again: 409 naming it
    r = await client.post(PATH, headers=su, json=csb)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "paasid"


async def test_bad_registrations_are_refused_naming_the_field(
    client: httpx.AsyncClient, su: dict[str, str], world: None
) -> None:
    for body, field in (
        ({"paasid": "p1", "secret": "short"}, "secret"),
        ({"paasid": "p1", "secret": "a long enough one", "scheme": "hmac"}, "scheme"),
        ({"paasid": "bad id!", "secret": "a long enough one"}, "paasid"),
        ({"secret": "a long enough one"}, "paasid"),
        ({"paasid": "p1"}, "secret"),
        ({"paasid": "p1", "secret": "a long enough one", "extra": 1}, "extra"),
    ):
        r = await client.post(PATH, headers=su, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, r.text
        assert "long enough" not in r.text and "short" not in r.text  # never echoed


async def test_delete_revokes_every_pair_at_once(
    client: httpx.AsyncClient, su: dict[str, str], world: None, store: RegistryStore
) -> None:
    a = (await client.post(PATH, headers=su)).json()["paasid"]
    b = (await client.post(PATH, headers=su)).json()["paasid"]
    r = await client.delete(PATH, headers=su)
    assert r.status_code == 200 and sorted(r.json()["revoked"]) == sorted([a, b])
    assert a not in store.registry.gateway and b not in store.registry.gateway
    pairs = (await client.get(PATH, headers=su)).json()["items"]
    assert all(p["revoked"] and not p["active"] for p in pairs)
    # nothing working before: the next pair has no predecessor
    assert (await client.post(PATH, headers=su)).json()["previous_valid_until"] is None


async def test_only_a_superuser_or_an_operator_of_the_region_may_write(
    client: httpx.AsyncClient, su: dict[str, str], world: None, sessions: Sessions
) -> None:
    own = await make_token(sessions, "operator", region="330100")
    other = await make_token(sessions, "operator", region="620100")
    auditor = await make_token(sessions, "auditor")
    his = await make_token(sessions, "his", institution=INST)
    assert (await client.post(PATH, headers=own)).status_code == 201
    for headers in (other, auditor):
        assert (await client.post(PATH, headers=headers)).status_code == 403
        assert (await client.delete(PATH, headers=headers)).status_code == 403
    assert (await client.get(PATH, headers=auditor)).status_code == 200
    assert (await client.get(PATH, headers=his)).status_code == 403
    assert (await client.post(PATH)).status_code == 401
    missing = "/admin/v1/institutions/H99999999999/gateway-credentials"
    assert (await client.post(missing, headers=su)).status_code == 404


async def test_the_record_audit_and_outbox_hold_no_secret(
    client: httpx.AsyncClient, su: dict[str, str], world: None, sessions: Sessions
) -> None:
    issued = (await client.post(PATH, headers=su)).json()
    registered = "platform-issued-secret-9"
    body = {"paasid": "hptfyj", "secret": registered}
    assert (await client.post(PATH, headers=su, json=body)).status_code == 201
    assert (await client.delete(PATH, headers=su)).status_code == 200
    async with sessions() as s:
        rows = {r.paasid: r for r in (await s.scalars(select(GatewayCredential))).all()}
        column = " ".join(r.secret_sealed for r in rows.values())
        audit = (await s.execute(text("SELECT action, before, after FROM audit_log"))).all()
        outbox = (await s.execute(text("SELECT payload FROM registry_changes"))).all()
    # encryption at rest: the column holds sealed values that open to the secrets
    for secret in (issued["secret"], registered):
        assert secret not in column
    box = secret_box()
    assert (
        box.open(rows[issued["paasid"]].secret_sealed, issued["paasid"]).decode()
        == issued["secret"]
    )
    assert box.open(rows["hptfyj"].secret_sealed, "hptfyj").decode() == registered
    actions = [a for a, _, _ in audit if a.startswith("gateway_credential.")]
    assert actions.count("gateway_credential.issue") == 1
    assert actions.count("gateway_credential.register") == 1
    assert actions.count("gateway_credential.overlap") == 1
    assert actions.count("gateway_credential.revoke") == 2
    dumped = json.dumps([list(row) for row in audit], default=str)
    for secret in (issued["secret"], registered, *[r.secret_sealed for r in rows.values()]):
        assert secret not in dumped
    facts = json.dumps([row[0] for row in outbox], default=str)
    assert issued["paasid"] in facts and issued["secret"] not in facts
    assert registered not in facts

"""Differential: random settlements sent as /v1/settlements/validate and as the national
platform's 2301 (per-line med_type) and 2204 (one med_type for the message) get the same
verdict, reason and overridden reason on every line and the same outcome and totals."""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.gatekeeper import GatekeeperApp
from tests.gatekeeper.hsa_support import from_settlement
from tests.gatekeeper.test_differential import INSTITUTIONS, local, rand_code, rand_day, world


def rand_amount(rnd: random.Random) -> tuple[str | None, object]:
    """(the plain format's amount, the same amount as the HIS might send it)."""
    roll = rnd.random()
    if roll < 0.1:
        return None, None
    cents = rnd.randrange(0, 10**7)
    plain = f"{cents // 100}.{cents % 100:02d}"
    if roll < 0.4:
        return plain, plain  # decimal string
    if roll < 0.7:
        return plain, float(plain)  # a JSON number as a float prints it: 12.5
    return plain, Decimal(plain)  # JSON number written with its exact digits


def settlement(
    rnd: random.Random,
    facts: Any,
    codes: list[str],
    days: list[str],
    inst: str,
    sid: str,
    emergency: bool | None,
) -> tuple[dict[str, Any], list[object]]:
    here = local(facts, inst)
    lines, his_amounts = [], []
    for j in range(rnd.randrange(1, 120)):
        if here and rnd.random() < 0.6:
            code, own = rnd.choice(here)
            day = rand_day(rnd, own if rnd.random() < 0.8 else days)
        else:
            code, day = rand_code(rnd, facts, codes), rand_day(rnd, days)
        plain, his = rand_amount(rnd)
        line: dict[str, Any] = {
            "line_id": f"L{j}",
            "physician_code": code,
            "service_date": day,
            "emergency": rnd.random() < 0.3 if emergency is None else emergency,
        }
        if plain is not None:
            line["amount"] = plain
        lines.append(line)
        his_amounts.append(his)
    return {"settlement_id": sid, "institution_code": inst, "lines": lines}, his_amounts


def his_body(body: dict[str, Any], infno: str, amounts: list[object], med_type: str) -> bytes:
    """The message as JSON; a Decimal amount becomes a JSON number with its own digits."""
    msg = from_settlement(body, infno, med_type)
    for item, amount in zip(msg["input"]["feedetail"], amounts, strict=True):
        if amount is None:
            item.pop("det_item_fee_sumamt", None)
        else:
            item["det_item_fee_sumamt"] = f"<{amount}>" if isinstance(amount, Decimal) else amount
    text = json.dumps(msg, ensure_ascii=False)
    return re.sub(r'"<([0-9.]+)>"', r"\1", text).encode()


def same(plain: dict[str, Any], his: dict[str, Any]) -> None:
    assert his["infcode"] == (0 if plain["outcome"] == "accept" else -1)
    out = his["output"]
    assert out["ybgate"]["outcome"] == plain["outcome"]
    assert out["ybgate"]["accepted_amount"] == plain["accepted_amount"]
    assert out["ybgate"]["rejected_amount"] == plain["rejected_amount"]
    assert out["ybgate"]["registry_version"] == plain["registry_version"]
    for p, h in zip(plain["lines"], out["result"], strict=True):
        assert h["feedetl_sn"] == p["line_id"]
        assert (h["ybgate_decision"], h["ybgate_reason"], h["ybgate_overridden"]) == (
            p["decision"],
            p["reason"],
            p.get("overridden"),
        ), p["line_id"]


@pytest.mark.parametrize("seed", [11, 12])
async def test_national_format_agrees_with_the_plain_format(
    client: httpx.AsyncClient, gk: GatekeeperApp, seed: int
) -> None:
    facts, codes, days = world(seed, n=300)
    gk.store.replace(facts)
    rnd = random.Random(seed)
    checked = 0
    for k, inst in enumerate(INSTITUTIONS * 2):
        headers = {"Authorization": f"Bearer tok-{inst}"}
        infno = "2301" if k % 2 == 0 else "2204"
        wrapper_emergency = None if infno == "2301" else rnd.random() < 0.3
        body, amounts = settlement(rnd, facts, codes, days, inst, f"S{seed}-{k}", wrapper_emergency)
        r = await client.post("/v1/settlements/validate", json=body, headers=headers)
        assert r.status_code == 200, r.text
        med_type = "13" if wrapper_emergency else "11"
        if wrapper_emergency and rnd.random() < 0.5:
            med_type = "24"
        h = await client.post(
            "/v1/hsa",
            content=his_body(body, infno, amounts, med_type),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert h.status_code == 200, h.text
        same(r.json(), h.json())
        checked += len(body["lines"])
    assert checked > 300

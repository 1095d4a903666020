"""A client corpus (CONTRACT.md "National interface as HIS clients send it"): messages
serialised the way four public HIS clients serialise them (tests/gatekeeper/clients.py,
docs/his-clients.md: each habit with its repository and file), every one judged, and
its verdicts equal to the plain format's for the same lines (differential). Plus a
property: any amount text that denotes a 2-decimal value is accepted and judged like
its number form."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.gatekeeper import GatekeeperApp
from app.gatekeeper.national.hsa import begin
from app.gatekeeper.national.upload import claimed
from tests.gatekeeper import clients
from tests.gatekeeper.conftest import (
    ALIAS,
    DR_ALIASED,
    DR_CANCELLED,
    DR_PLAIN,
    DR_SUSPENDED,
    DR_TERMINATED,
    DR_VISITING,
    his,
)

# (code, day) pairs at H1 around every state change of the town (conftest.py)
PAIRS = [
    (DR_PLAIN, "2026-11-20"),
    (DR_SUSPENDED, "2026-02-28"),
    (DR_SUSPENDED, "2026-03-01"),
    (DR_SUSPENDED, "2026-03-31"),
    (DR_SUSPENDED, "2026-04-01"),
    (DR_TERMINATED, "2026-05-31"),
    (DR_TERMINATED, "2026-06-01"),
    (DR_CANCELLED, "2026-01-31"),
    (DR_CANCELLED, "2026-02-01"),
    (DR_VISITING, "2026-06-30"),
    (DR_VISITING, "2026-07-01"),
    (ALIAS, "2026-11-20"),
    (DR_ALIASED, "2026-11-20"),
    ("YB12345", "2026-11-20"),
    ("YB" + "9" * 24, "2026-11-20"),
    ("", "2026-11-20"),
]
PER_STYLE = 25


def verdict(line: dict[str, Any]) -> tuple[str, str | None, str | None]:
    if "ybgate_decision" in line:
        return line["ybgate_decision"], line["ybgate_reason"], line["ybgate_overridden"]
    return line["decision"], line["reason"], line.get("overridden")


async def send(client: httpx.AsyncClient, path: str, body: bytes) -> Any:
    r = await client.post(path, content=body, headers=his())
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["err_msg"] is None or not got["err_msg"].startswith("报文格式错误"), (body, got)
    return got


async def reference(client: httpx.AsyncClient, lines: list[clients.Line], sid: str) -> Any:
    r = await client.post(
        "/v1/settlements/validate", json=clients.plain("H1", lines, sid), headers=his()
    )
    assert r.status_code == 200, r.text
    return r.json()


def rand_lines(rnd: random.Random, m: int) -> list[clients.Line]:
    emergency = rnd.random() < 0.3
    return [
        clients.Line(f"{m}-{k}", *rnd.choice(PAIRS), rnd.randrange(1, 10**7), emergency)
        for k in range(rnd.randrange(1, 9))
    ]


@pytest.mark.parametrize("style", sorted(clients.STYLES))
async def test_every_client_message_is_judged_like_the_plain_format(
    client: httpx.AsyncClient, style: str
) -> None:
    rnd = random.Random(style)
    fee_messages = audits = 0
    for m in range(PER_STYLE):
        lines = rand_lines(rnd, m)
        msgid = f"{style[:4].upper()}{m}"
        want = await reference(client, lines, "P-" + msgid)
        plain = [verdict(ln) for ln in want["lines"]]
        for path, body in clients.STYLES[style]("H1", lines, msgid, rnd):
            got = await send(client, path, body)
            output = got["output"]
            if output and "ybgate" in output and "result" in output:  # a fee upload
                fee_messages += 1
                assert [verdict(ln) for ln in output["result"]] == plain, body
                amounts = [ln["det_item_fee_sumamt"] for ln in output["result"]]
                assert amounts == [ln["amount"] for ln in clients.plain("H1", lines, "")["lines"]]
                assert (got["infcode"] == 0) == (want["outcome"] == "accept")
                totals = output["ybgate"]
                assert (totals["accepted_amount"], totals["rejected_amount"]) == (
                    want["accepted_amount"],
                    want["rejected_amount"],
                )
                if style == "java_fastjson":
                    assert [ln["feedetl_sn"] for ln in output["result"]] == clients.java_sns(lines)
            elif output and "result" in output:  # 3101: a code fails where a line fails
                audits += 1
                failing = {ln.code for ln, v in zip(lines, plain, strict=True) if v[0] == "reject"}
                named = {r["vola_cont"].split(" ")[1] for r in output["result"]}
                assert named == {c for c in failing if c}, (body, output)
    assert fee_messages == PER_STYLE
    assert audits == (PER_STYLE if style == "jiangsu_csb" else 0)


async def test_a_shunde_refund_reverses_its_original_line_whatever_the_day(
    client: httpx.AsyncClient,
) -> None:
    """负记录 (Process.cs): negative cnt and amount, init_feedetl_sn naming the line; a
    month later the refund takes the original line's verdict, so the pair nets to zero
    on the side each was put."""
    rnd = random.Random(7)
    net: dict[str, int] = {"accept": 0, "reject": 0}
    for m in range(20):
        lines = [clients.Line(f"R{m}-{k}", *rnd.choice(PAIRS), rnd.randrange(1, 10**6), False)
                 for k in range(3)]  # fmt: skip
        want = [verdict(ln) for ln in (await reference(client, lines, f"PR{m}"))["lines"]]
        body = json.loads(clients.shunde("H1", lines, f"SR{m}", random.Random(1))[-1][1])
        body["infno"], visit = "2301", f"SD-SR{m}"
        for item in body["input"]["feedetail"]:
            item.update(med_type="21", mdtrt_id=visit)
        got = await send(client, "/v1/hsa/2301", json.dumps(body).encode())
        assert [verdict(ln) for ln in got["output"]["result"]] == want
        pick = rnd.randrange(3)
        original = lines[pick]
        before = got["output"]["result"][pick]
        net[before["ybgate_decision"]] += int(Decimal(before["det_item_fee_sumamt"]) * 100)
        path, refund = clients.shunde_refund("H1", visit, original, f"SRR{m}", "2026-11-20")
        got = await send(client, path, refund)
        [result] = got["output"]["result"]
        assert verdict(result) == want[pick]
        assert result["det_item_fee_sumamt"] == f"-{Decimal(original.cents) / 100:.2f}"
        net[result["ybgate_decision"]] += int(Decimal(result["det_item_fee_sumamt"]) * 100)
    assert net == {"accept": 0, "reject": 0}


def _texts(draw: st.DrawFn, cents: int) -> str:
    """A JSON text denoting ``cents`` / 100 as a client might write it."""
    value = Decimal(cents) / 100
    zeros = "0" * draw(st.integers(0, 4))
    plain = f"{value:.2f}"
    forms = [
        plain,
        f'"{plain}{zeros}"',
        f"{plain}{zeros}",
        f'"{value:f}"'.replace('.00"', '"') if cents % 100 == 0 else f'"{plain}"',
        f"{value.normalize():E}".replace("E+0", "E0") if value else "0",
        f'"0{plain}"' if cents >= 0 else f'"{plain}"',  # a leading zero
    ]
    return draw(st.sampled_from(forms))


@st.composite
def amount_texts(draw: st.DrawFn) -> tuple[int, str]:
    cents = draw(st.integers(-(10**9), 10**12))
    return cents, _texts(draw, cents)


def _judge(gk: GatekeeperApp, amount: str, msgid: str) -> Any:
    assert gk.rt is not None
    body = (
        '{"infno":"2204","msgid":"' + msgid + '","fixmedins_code":"H1","input":{"feedetail":['
        '{"feedetl_sn":"1","bilg_dr_codg":"' + DR_SUSPENDED + '",'
        '"fee_ocur_time":"2026-03-10 09:00:00","det_item_fee_sumamt":' + amount + "}]}}"
    ).encode()
    _, out, _, fee, _ = begin(gk, gk.rt, "H1", body)
    assert fee is not None, out
    answer, _, _ = claimed(fee, None)
    got = msgspec.json.decode(answer)
    return got["output"]["result"], got["output"]["ybgate"]["rejected_amount"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount_texts())
async def test_any_text_of_a_2_decimal_amount_is_judged_like_its_number_form(
    gk: GatekeeperApp, case: tuple[int, str]
) -> None:
    cents, text = case
    number = f"{Decimal(cents) / 100:.2f}"
    assert _judge(gk, text, "T") == _judge(gk, number, "N"), text
    shown = _judge(gk, text, "T")[0][0]["det_item_fee_sumamt"]
    assert Decimal(shown) * 100 == cents

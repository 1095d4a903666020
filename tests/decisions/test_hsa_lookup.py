"""A decision made from a national-platform message (2301) is stored like any other: it
reads back through GET /v1/decisions/{id} under its msgid, with the same basis on every
line as the same settlement sent in the plain format."""

from __future__ import annotations

from typing import Any

import httpx

from tests.decisions.test_explained import H1, lines, token, town
from tests.gatekeeper.hsa_support import from_settlement


async def test_a_2301_decision_reads_back_with_the_plain_format_s_basis(
    live: httpx.AsyncClient,
) -> None:
    c = live
    w = await town(c)
    his = await token(c, f"/admin/v1/institutions/{H1}/tokens")
    body = {"settlement_id": "S-PLAIN", "institution_code": H1, "lines": lines(w["doc"])}
    plain = (await c.post("/v1/settlements/validate", json=body, headers=his)).json()
    message = from_settlement({**body, "settlement_id": "MSG-2301"}, "2301")
    r = await c.post("/v1/hsa", json=message, headers=his)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["infcode"] == -1

    async def read(decision_id: str) -> Any:
        got = await c.get(f"/v1/decisions/{decision_id}", headers=his)
        assert got.status_code == 200, got.text
        return got.json()

    from_plain = await read(plain["decision_id"])
    from_hsa = await read(answer["inf_refmsgid"])
    assert from_hsa["settlement_id"] == "MSG-2301"
    assert from_hsa["lines"] == from_plain["lines"]
    assert all(ln["basis"] for ln in from_hsa["lines"])

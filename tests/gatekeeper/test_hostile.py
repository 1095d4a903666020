"""Hostile input on the hot path: a 422 naming the field, never a 500."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.gatekeeper.conftest import DR_PLAIN, his, line, settlement
from tests.gatekeeper.test_http import fields, problem

URL = "/v1/settlements/validate"


def _today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("depth", [1100, 100_000])
async def test_deeply_nested_json_is_a_422(client: httpx.AsyncClient, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for raw in (
        '{"settlement_id":"S","institution_code":"H1","lines":[{"x":'
        + nested
        + ',"line_id":"1","physician_code":"YB1","service_date":"2026-01-01"}]}',
        '{"x":' * depth + "1" + "}" * depth,
    ):
        r = await client.post(
            URL, content=raw, headers={**his(), "content-type": "application/json"}
        )
        assert r.status_code == 422, r.text[:300]
        assert fields(problem(r, 422))


async def test_service_date_more_than_a_day_ahead_is_a_422(client: httpx.AsyncClient) -> None:
    today = _today().date()
    ok = [line("1", DR_PLAIN, (today + timedelta(days=1)).isoformat())]
    r = await client.post(URL, json=settlement("H1", *ok), headers=his())
    assert r.status_code == 200, r.text
    late = (today + timedelta(days=2)).isoformat()
    for lines in (
        [line("1", DR_PLAIN, late)],
        [line("1", DR_PLAIN, today.isoformat()), line("2", DR_PLAIN, late)],
    ):
        r = await client.post(URL, json=settlement("H1", *lines), headers=his())
        body = problem(r, 422)
        assert fields(body) == [f"lines[{len(lines) - 1}].service_date"]
        assert "after today" in body["errors"][0]["message"]


@pytest.mark.parametrize("day", ["1989-12-31", "0001-01-01", 0, 20260101, "2026-13-01"])
async def test_service_dates_are_strings_in_range(client: httpx.AsyncClient, day: object) -> None:
    one = line("1", DR_PLAIN, "2026-01-05")
    one["service_date"] = day
    body = settlement("H1", one)
    r = await client.post(URL, json=body, headers=his())
    assert fields(problem(r, 422)) == ["lines[0].service_date"]


async def test_eligibility_date_in_range(client: httpx.AsyncClient) -> None:
    for day in ("1900-01-01", "9999-12-31", "20260101"):
        r = await client.get(
            f"/v1/physicians/{DR_PLAIN}/eligibility",
            params={"institution": "H1", "date": day},
            headers=his(),
        )
        assert fields(problem(r, 422)) == ["date"], day


async def test_a_roster_cursor_outside_printable_ascii_is_a_422(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: the cursor went into the ETag header and the connection broke."""
    for after in ("\x04x", "é", "a b", "x" * 65):
        r = await client.get("/v1/roster", params={"after": after}, headers=his())
        assert fields(problem(r, 422)) == ["after"], after
    assert (
        await client.get("/v1/roster", params={"after": "YB1"}, headers=his())
    ).status_code == 200

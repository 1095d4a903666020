"""The clause tests date their cases in the years their clauses name (a zhejiang-2014
year-end reset in 2027, bans running into 2028): violations may be dated ahead here. The
product's default refuses a violation dated after today (tests/console/test_daily.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def violations_may_be_dated_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YBGATE_VIOLATION_FUTURE_DAYS", "3650")

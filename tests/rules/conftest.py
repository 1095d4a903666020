"""Shared fixtures of the pure rules tests: the shipped policies and a ledger builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import pytest

from app.rules import Deduction, Policy, get_policy, resolve_points

T = TypeVar("T")


def must(value: T | None) -> T:
    """``value``, which the scenario requires to exist (a period, a firing)."""
    assert value is not None
    return value


class Ledger:
    """Builds a physician's ledger in arrival order (ids d1, d2, ...; sequence 1, 2, ...)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.entries: list[Deduction] = []

    def add(
        self,
        item: str,
        decided_on: str,
        points: int | None = None,
        *,
        region: str = "330100",
        anchor: str | None = None,
    ) -> Deduction:
        n = len(self.entries) + 1
        d = Deduction(
            id=f"d{n}",
            item=item,
            points=resolve_points(self.policy, item, points),
            decided_on=date.fromisoformat(decided_on),
            sequence=n,
            region=region,
            anchor=date.fromisoformat(anchor) if anchor else None,
        )
        self.entries.append(d)
        return d


@pytest.fixture
def zhejiang() -> Policy:
    return get_policy("zhejiang-2014")


@pytest.fixture
def lanzhou() -> Policy:
    return get_policy("lanzhou-2014")


@pytest.fixture
def nhsa() -> Policy:
    return get_policy("nhsa-2024")


@pytest.fixture
def ledger() -> Callable[[Policy], Ledger]:
    return Ledger

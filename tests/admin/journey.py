"""The journey of an admin write at run time: which packages its data is handed to.

A profile hook records every call made while the router's handler runs, from a function
of one package of ``app/`` into a function of another. The ground floor (``GROUND`` of
tests/rules/test_architecture.py: core, models, rules, registry, sync) is not a stop:
every layer stands on it.

- a **stop** is a hand-off to another package: a distinct (caller package, callee
  package) pair;
- a **climb** is a hand-off that does not go down the layer order (``LAYERS``): into a
  package of the same layer or above, which includes going back into a caller's package.

A write goes down once when it has no climb: router -> service -> the domain services
it needs -> repositories and ledger -> the unit of work.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import httpx

from tests.rules.test_architecture import LAYER_OF

GROUND_LAYER = 0


def _package(frame: FrameType) -> str | None:
    """The package of ``app/`` a frame runs in (None: outside app, or the ground floor)."""
    name = str(frame.f_globals.get("__name__", ""))
    if not name.startswith("app."):
        return None
    pkg = ".".join(name.split(".")[:2])
    return None if LAYER_OF.get(pkg, GROUND_LAYER) == GROUND_LAYER else pkg


@dataclass
class Journey:
    hops: list[tuple[str, str]] = field(default_factory=list)  # in time order

    @property
    def stops(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys(self.hops))

    @property
    def packages(self) -> list[str]:
        return list(dict.fromkeys(p for hop in self.stops for p in hop))

    @property
    def climbs(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in self.stops if LAYER_OF[b] >= LAYER_OF[a]]

    def describe(self) -> str:
        return ", ".join(f"{a[4:]}->{b[4:]}" for a, b in self.stops)


async def journey(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, Journey]:
    """POST ``body`` to ``path`` and trace the hand-offs made inside its router handler."""
    found = Journey()
    seen: set[FrameType] = set()  # a coroutine reports a "call" on every resumption
    handler: list[FrameType] = []

    def hook(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or frame in seen or frame.f_code.co_name == "<module>":
            return  # (<module>: an annotation evaluated by FastAPI in a module's namespace)
        seen.add(frame)
        callee = _package(frame)
        if callee is None:
            return
        if not handler:
            if frame.f_globals.get("__name__", "").endswith(".router"):
                handler.append(frame)
            return
        if not _within(frame, handler[0]):
            return
        caller = frame.f_back
        while caller is not None and _package(caller) is None:
            caller = caller.f_back
        src = _package(caller) if caller is not None else None
        if src is not None and src != callee:
            found.hops.append((src, callee))

    sys.setprofile(hook)
    try:
        response = await client.post(path, json=body, headers=headers)
    finally:
        sys.setprofile(None)
    assert handler, f"no router handler ran for {path}"
    return response, found


def _within(frame: FrameType, root: FrameType) -> bool:
    f: FrameType | None = frame
    while f is not None:
        if f is root:
            return True
        f = f.f_back
    return False

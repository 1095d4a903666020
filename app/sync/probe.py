"""A registry follower without HTTP, for operators, the sync tests and the sync benchmark.

    python -m app.sync.probe [--load INSTITUTION@DATE] [--lines N]

Follows Redis (``YBGATE_REDIS_URL``; ``YBGATE_DATABASE_URL`` for a snapshot built from
PostgreSQL when Redis has none) exactly as a gatekeeper does, and prints one JSON line per
event on stdout: ``ready`` (with the start-up time), ``apply`` (every patch, with the
wall-clock time it became visible), ``load`` (a snapshot (re)load) and, on SIGUSR1,
``fingerprint`` (see :func:`fingerprint`). ``--load`` keeps the event loop busy judging
batches of ``--lines`` registered codes at that institution and date, like a gatekeeper
under hot-path load, and reports the judgements made in ``stats`` lines every second.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import itertools
import signal
import sys
import time
from typing import Any

import orjson

from app.core.settings import get_settings
from app.core.tasks import cancelled
from app.registry.compact import Registry
from app.registry.facts import Patch
from app.registry.store import RegistryStore
from app.sync.follower import RedisFollower


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(orjson.dumps({"event": event, "t": time.time(), **fields}).decode() + "\n")
    sys.stdout.flush()


def fingerprint(reg: Registry) -> str:
    """SHA-256 over a canonical text of everything a judgement reads: equal for two
    registries with the same content, however each was built (dict order aside)."""
    lines = [f"version {reg.version}"]
    for code, e in reg.physicians.pairs():
        if code in reg.alias_owner:
            continue
        agreements = [a.key() for a in e.agreements]
        visits = [v.key() for v in e.visits]
        lines.append(f"p {code} {reg.aliases.get(code)} {e.cancellations} {agreements} {visits}")
    for code, s in reg.institutions.items():
        lines.append(f"i {code} {s.region} {s.terms} {s.suspensions}")
    for code, r in reg.regions.items():
        lines.append(f"r {code} {r.policy} {r.pattern.pattern} {sorted(r.overridable)}")
        for first, v in r.changes:
            lines.append(
                f"rv {code} {first} {v.policy} {v.pattern.pattern} {sorted(v.overridable)}"
            )
    lines.extend(f"t {h} {inst}" for h, inst in reg.tokens.items())
    lines.extend(f"g {k} {' '.join(map(str, g))}" for k, g in reg.gateway.items())
    lines.extend(f"n {src} {sorted(bad)}" for src, bad in reg.nonconforming.items() if bad)
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


class ReportingStore(RegistryStore):
    """A RegistryStore that reports every change as it becomes visible."""

    def apply(self, patch: Patch) -> None:
        super().apply(patch)
        _emit("apply", version=patch["version"])

    def replace_registry(self, registry: Registry) -> None:
        super().replace_registry(registry)
        _emit("load", version=registry.version)


async def _hot_path(store: RegistryStore, institution: str, day: dt.date, lines: int) -> None:
    judged, last, sample, seen = 0, time.monotonic(), [], (0, -1)
    while True:
        with store.lock:
            reg = store.registry
            if (id(reg), reg.version) != seen:
                sample = list(itertools.islice(reg.physicians, lines))
                seen = (id(reg), reg.version)
            ctx = reg.context(institution)
            for code in sample:
                ctx.judge_code(code, day)
        judged += len(sample)
        now = time.monotonic()
        if now - last >= 1.0:
            _emit("stats", judged=judged, version=store.version, age=store.age_seconds())
            judged, last = 0, now
        await asyncio.sleep(0)


async def run(args: argparse.Namespace) -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("YBGATE_REDIS_URL is not set")
    store = ReportingStore()
    db = None if settings.is_sqlite else settings.database_url
    follower = RedisFollower(store, settings.redis_url, database_url=db, block_ms=args.block_ms)
    started = time.perf_counter()
    await follower.start()
    _emit("ready", version=store.version, seconds=time.perf_counter() - started)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(
        signal.SIGUSR1,
        lambda: _emit("fingerprint", version=store.version, sha256=fingerprint(store.registry)),
    )
    load = None
    if args.load:
        institution, _, day = args.load.partition("@")
        hot = _hot_path(store, institution, dt.date.fromisoformat(day), args.lines)
        load = asyncio.create_task(hot)
    try:
        await stop.wait()
    finally:
        await cancelled(load)
        await follower.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.sync.probe", description=__doc__)
    parser.add_argument("--load", metavar="INSTITUTION@DATE")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--block-ms", type=int, default=1000)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

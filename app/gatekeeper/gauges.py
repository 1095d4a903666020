"""The gatekeeper's gauges, read at scrape time: registry version, age and size, the
verdict memo, the decision log and its journal, and which path serves POST /v1/hsa."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from app.gatekeeper import workers
from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.idempotency import LocalIdempotency
from app.gatekeeper.decisions.journal import Journal
from app.gatekeeper.edge.metrics import gauge
from app.registry.memo import LIMITS
from app.registry.memo import STATS as MEMO
from app.registry.store import RegistryStore


def memo_metrics(store: RegistryStore) -> Callable[[], Iterable[Metric]]:
    """The verdict memo's counters (app/registry/memo.py): hit rate = 1 - misses/lookups."""

    def collect() -> Iterable[Metric]:
        s = MEMO
        for name, doc, value in (
            ("lookups", "Lines and eligibility queries looked up in the memo.", s.lookups),
            ("misses", "Memo misses: code verdicts judged afresh.", s.misses),
            ("invalidated", "Memoised verdicts dropped by registry patches.", s.invalidated),
            ("clears", "Whole-memo clears (region patches, epochs, loads).", s.clears),
        ):
            yield CounterMetricFamily(f"ybgate_memo_{name}", doc, value=value)
        reg = store.current
        budget = [0, 0, 0] if reg is None else reg.memo.budget
        yield GaugeMetricFamily("ybgate_memo_verdicts", "Code verdicts memoised now.", budget[2])
        yield GaugeMetricFamily(
            "ybgate_memo_bytes",
            f"Bytes the memo holds now (counted; bound {LIMITS.max_bytes}: a new epoch past it).",
            budget[0],
        )

    return collect


def supervision_metrics() -> Iterable[Metric]:
    """Workers of a pre-forked gatekeeper replaced after they died (0 in one process)."""
    sup = workers.SUPERVISION
    yield CounterMetricFamily(
        "ybgate_gatekeeper_worker_restarts",
        "Gatekeeper workers that died and were replaced by the pre-fork parent.",
        value=0 if sup is None else sup.restarts,
    )
    yield GaugeMetricFamily(
        "ybgate_gatekeeper_workers",
        "Gatekeeper worker processes serving this port (pre-fork), 1 in one process.",
        value=1 if sup is None else sup.workers,
    )


def msgid_metrics(idem: LocalIdempotency) -> Callable[[], Iterable[Metric]]:
    """The msgid records of POST /v1/hsa kept without Redis (decisions/idempotency.py)."""

    def collect() -> Iterable[Metric]:
        m = "ybgate_msgid_"
        yield GaugeMetricFamily(m + "records", "msgid records held.", value=len(idem.records))
        yield GaugeMetricFamily(
            m + "bytes", f"Bytes they hold (counted; bound {idem.max_bytes}).", value=idem.bytes
        )
        yield GaugeMetricFamily(m + "journal_lines", "Lines in the journal.", value=idem.lines)
        yield CounterMetricFamily(
            m + "evicted", "Records dropped before 24 h: the byte bound.", value=idem.evicted
        )
        yield CounterMetricFamily(
            m + "compactions", "Journal rewrites while running.", value=idem.compactions
        )

    return collect


def runtime_gauges(
    store: RegistryStore, dlog: DecisionLog, journal: Journal, hsa_fast: bool
) -> list[Callable[[], Iterable[Metric]]]:
    """Registry version/age/size, decision-log and journal gauges, read at scrape time."""

    def version() -> float:
        return -1 if store.current is None else store.current.version

    def physicians() -> float:
        return 0 if store.current is None else store.current.physician_count()

    p, j = "ybgate_decision_log_", "ybgate_decision_journal_"
    return [
        memo_metrics(store),
        supervision_metrics,
        gauge(
            "ybgate_hsa_fast_path_active",
            "1: the C fast path serves the usual 2204/2301 message; 0: the reference alone.",
            lambda: 1 if hsa_fast else 0,
        ),
        gauge("ybgate_registry_version", "Registry version decisions are made on.", version),
        gauge("ybgate_registry_age_seconds", "Seconds since the last sync.", store.age_seconds),
        gauge("ybgate_registry_physicians", "Physicians in the registry.", physicians),
        gauge(p + "queued", "Decisions waiting for the sink.", lambda: len(dlog.queue)),
        gauge(p + "written", "Decisions inserted into the database.", lambda: dlog.written),
        gauge(p + "spilled", "Decisions written to spill files.", lambda: dlog.spilled),
        gauge(p + "replayed", "Spilled decisions replayed.", lambda: dlog.replayed),
        gauge(p + "failures", "Failed database writes.", lambda: dlog.failures),
        gauge(p + "spill_failures", "Failed spill writes.", lambda: dlog.spill_failures),
        gauge(p + "spill_files", "Spill files awaiting replay.", lambda: dlog.pending_spill_files),
        gauge(
            p + "replay_paused_seconds",
            "Seconds the replay of spilled decisions paused, yielding to live traffic.",
            lambda: dlog.replay_paused_s,
        ),
        gauge(
            p + "backlog",
            "Decisions answered but not in the database yet (queue and unreplayed spill).",
            dlog.backlog,
        ),
        gauge(
            p + "lag_seconds",
            "Age of the oldest decision answered but not in the database yet.",
            dlog.lag_seconds,
        ),
        gauge(
            p + "database_down",
            "1 while the sink spills and probes the database after a failed write.",
            lambda: 1 if dlog.database_down else 0,
        ),
        gauge(j + "appended", "Decisions written to the journal.", lambda: journal.appended),
        gauge(j + "writes", "Journal writes (one per event-loop turn).", lambda: journal.writes),
        gauge(j + "fsyncs", "Journal fsyncs.", lambda: journal.fsyncs),
        gauge(j + "failures", "Failed journal writes or fsyncs.", lambda: journal.failures),
    ]

"""The gatekeeper's gauges, read at scrape time: registry version, age and size, the
verdict memo, the decision log and its journal, and which path serves POST /v1/hsa."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.journal import Journal
from app.gatekeeper.edge.metrics import gauge
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
        used = 0 if reg is None else reg.memo.budget[0]
        yield GaugeMetricFamily("ybgate_memo_verdicts", "Code verdicts memoised now.", value=used)

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
        gauge(j + "appended", "Decisions written to the journal.", lambda: journal.appended),
        gauge(j + "writes", "Journal writes (one per event-loop turn).", lambda: journal.writes),
        gauge(j + "fsyncs", "Journal fsyncs.", lambda: journal.fsyncs),
        gauge(j + "failures", "Failed journal writes or fsyncs.", lambda: journal.failures),
    ]

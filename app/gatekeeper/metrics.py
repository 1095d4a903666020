"""Gatekeeper metrics: plain counters on the hot path, rendered only when scraped.

The request path does a dict lookup, a ``bisect`` and two additions per request, and
one C-level ``collections._count_elements`` over the line results; the Prometheus text
is produced by a custom collector (prometheus_client) at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app.gatekeeper import workers
from app.registry.judge import ACCEPTED, ALL_RESULTS, LineResult
from app.registry.memo import LIMITS
from app.registry.memo import STATS as MEMO

if TYPE_CHECKING:
    from app.gatekeeper.decision_log import DecisionLog
    from app.gatekeeper.idempotency import LocalIdempotency
    from app.gatekeeper.journal import Journal
    from app.registry.store import RegistryStore

BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0)
OUTCOMES = ("accept", "reject", "partial")


class Series:
    """One latency histogram series: per-bucket counts (not cumulative) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    def __init__(self) -> None:
        # outcome: accept / reject / partial, or the status of a problem response.
        self.validate: dict[str, Series] = {o: Series() for o in OUTCOMES}
        self.eligibility: dict[str, Series] = {}
        # (operation, outcome): POST /v1/hsa by infno (hsa_2204, hsa_2301, hsa_5102) and
        # GET /v1/roster.
        self.ops: dict[tuple[str, str], Series] = {}
        self.lines: dict[LineResult, int] = dict.fromkeys(ALL_RESULTS, 0)
        self.gauges: list[Callable[[], Iterable[Metric]]] = []

    def observe(self, outcome: str, seconds: float) -> None:
        series = self.validate.get(outcome)
        if series is None:
            series = self.validate[outcome] = Series()
        series.counts[bisect_left(BUCKETS, seconds)] += 1
        series.total += seconds

    def observe_eligibility(self, outcome: str, seconds: float) -> None:
        series = self.eligibility.get(outcome)
        if series is None:
            series = self.eligibility[outcome] = Series()
        series.observe(seconds)

    def observe_op(self, operation: str, outcome: str, seconds: float) -> None:
        series = self.ops.get((operation, outcome))
        if series is None:
            series = self.ops[(operation, outcome)] = Series()
        series.observe(seconds)

    def validated(
        self, results: list[LineResult], n_accepted: int, outcome: str, seconds: float
    ) -> None:
        """One answered settlement: its lines and its latency by outcome."""
        self.count_lines(results, n_accepted)
        series = self.validate[outcome]
        series.counts[bisect_left(BUCKETS, seconds)] += 1
        series.total += seconds

    def count_lines(self, results: list[LineResult], n_accepted: int) -> None:
        if n_accepted == len(results):
            self.lines[ACCEPTED] += n_accepted
        else:
            _count_elements(self.lines, results)

    # -- scrape ---------------------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        yield from _histogram(
            "ybgate_validate_duration_seconds",
            "Time to answer POST /v1/settlements/validate, by outcome (accept, reject, "
            "partial, or the HTTP status of a problem response).",
            dict(self.validate),
        )
        yield from _histogram(
            "ybgate_eligibility_duration_seconds",
            "Time to answer GET /v1/physicians/{code}/eligibility, by outcome.",
            dict(self.eligibility),
        )
        yield from _histogram(
            "ybgate_his_duration_seconds",
            "Time to answer POST /v1/hsa (operation hsa_2204, hsa_2301, hsa_5102) and GET "
            "/v1/roster, by operation and outcome.",
            dict(self.ops),
            ("operation", "outcome"),
        )
        lines = CounterMetricFamily(
            "ybgate_lines",
            "Settlement lines decided, by decision, reason and overridden reason.",
            labels=("decision", "reason", "overridden"),
        )
        for r, n in list(self.lines.items()):
            lines.add_metric((r.decision, r.reason or "", r.overridden or ""), n)
        yield lines
        for gauge in self.gauges:
            yield from gauge()

    def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry)


def _histogram(
    name: str,
    doc: str,
    series: dict[str, Series] | dict[tuple[str, str], Series],
    labels: tuple[str, ...] = ("outcome",),
) -> Iterator[Metric]:
    hist = HistogramMetricFamily(name, doc, labels=labels)
    count = CounterMetricFamily(name.replace("_duration_seconds", "_requests"), doc, labels=labels)
    for key, s in sorted(series.items()):
        values = key if isinstance(key, tuple) else (key,)
        cumulative, buckets = 0, []
        for bound, c in zip((*BUCKETS, float("inf")), s.counts, strict=True):
            cumulative += c
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        hist.add_metric(values, buckets, s.total)
        count.add_metric(values, cumulative)
    yield hist
    yield count


def gauge(name: str, doc: str, value: Callable[[], float]) -> Callable[[], Iterable[Metric]]:
    def collect() -> Iterable[Metric]:
        yield GaugeMetricFamily(name, doc, value=value())

    return collect


class _Collector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self.metrics.collect()

    def describe(self) -> list[Any]:
        return []


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
    """The msgid records of POST /v1/hsa kept without Redis (idempotency.py)."""

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
    store: RegistryStore, dlog: DecisionLog, journal: Journal
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

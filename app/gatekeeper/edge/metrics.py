"""Gatekeeper metrics: plain counters on the hot path, rendered only when scraped.

The request path does a dict lookup, a ``bisect`` and two additions per request, and
one C-level ``collections._count_elements`` over the line results; the Prometheus text
is produced by a custom collector (prometheus_client) at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app.registry.judge import ACCEPTED, ALL_RESULTS, LineResult

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
        # (operation, outcome): POST /v1/hsa[/{infno}] by infno (hsa_2204, hsa_2301,
        # hsa_5102, hsa_3101, ...: the served ones; "hsa" for any other) and GET /v1/roster.
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
            "Time to answer POST /v1/hsa (operation hsa_<infno> for each infno served, hsa "
            "for others) and GET /v1/roster, by operation and outcome.",
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

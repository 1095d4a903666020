"""The pooled client to the platform (aiohttp: chosen by measurement, docs/his-frontend.md).

One :class:`Upstream` per gatekeeper process, created in the lifespan: one
``aiohttp.ClientSession`` whose connector keeps connections alive (``limit`` = at most
``max_connections`` open at once), TLS verified against ``ca_bundle`` when given (else
the system's CAs), a connect deadline, and every request's overall deadline (the
caller's: from the request's arrival). No unbounded queue: at most ``max_connections``
requests are in flight and ``max_waiting`` wait for a slot (each until its deadline);
one more fails at once as ``busy``. The breaker (``breaker.py``) fails requests at once
while the platform is down.

A failure raises :class:`UpstreamFailed` with its kind: ``timeout`` (no complete answer
by the deadline), ``refused`` (connection refused, reset or closed before the answer),
``open`` (the breaker is open), ``busy`` (the bound is reached). The contract's
``upstream_error`` is ``timeout`` for the first and ``refused`` for the others.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import aiohttp
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from yarl import URL

from app.gatekeeper.edge.metrics import Series, _histogram
from app.gatekeeper.upstream.breaker import STATES, Breaker

# Hop-by-hop headers (RFC 9110 7.6.1) and what the connection itself sets.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
        b"authorization",  # ybgate's own bearer token, never the platform's
    }
)
KINDS = ("timeout", "refused", "open", "busy")
# aiohttp's defaults a client did not send are not added.
_SKIP_AUTO = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_perf = time.perf_counter


class Answer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]  # Content-Type (and Content-Encoding), as received
    body: bytes


class UpstreamFailed(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind

    @property
    def error(self) -> str:
        """The decision log's ``upstream_error``."""
        return "timeout" if self.kind == "timeout" else "refused"


def forwarded_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Every end-to-end header as received, less the hop-by-hop ones (and those the
    ``Connection`` header names) and ybgate's ``Authorization``."""
    named = {
        n.strip().lower()
        for k, v in raw
        if k.lower() == b"connection"
        for n in v.split(b",")
        if n.strip()
    }
    out = []
    for k, v in raw:
        name = k.lower()
        if name in HOP_BY_HOP or name in named:
            continue
        try:
            out.append((k.decode("utf-8"), v.decode("utf-8")))
        except UnicodeDecodeError:
            out.append((k.decode("latin-1"), v.decode("latin-1")))
    return out


class Upstream:
    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float = 3.0,
        ca_bundle: str | None = None,
        max_connections: int = 256,
        max_waiting: int = 1024,
        breaker: Breaker | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self.ca_bundle = ca_bundle
        self.max_connections = max_connections
        self.max_waiting = max_waiting
        self.breaker = breaker or Breaker(5, 5.0)
        self.session: aiohttp.ClientSession | None = None
        # The overall deadline is the caller's (asyncio.timeout_at in forward): aiohttp
        # keeps only the connect one, so a request runs one timer, not two.
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s)
        self.slots = asyncio.Semaphore(max_connections)
        self.in_flight = 0
        self.waiting = 0
        self.latency: dict[str, Series] = {}
        self.errors: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._probe: asyncio.Task[dict[str, object]] | None = None

    async def start(self) -> None:
        context: ssl.SSLContext | bool = True
        if self.ca_bundle:
            context = ssl.create_default_context(cafile=self.ca_bundle)
        # An idle connection is closed here before the platform's side closes it (Tomcat's
        # default keep-alive is 20 s): a POST is never sent on a connection being closed.
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, limit_per_host=0, keepalive_timeout=15.0, ssl=context
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=_SKIP_AUTO,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _fail(self, kind: str) -> UpstreamFailed:
        self.errors[kind] += 1
        return UpstreamFailed(kind)

    async def forward(
        self,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        deadline: float,
    ) -> Answer:
        """POST ``body`` to the platform's ``path``: its answer by ``deadline``
        (``time.monotonic``), else :class:`UpstreamFailed`."""
        session = self.session
        if session is None:
            raise self._fail("refused")
        if not self.breaker.allow():
            raise self._fail("open")
        if self.slots.locked() and self.waiting >= self.max_waiting:
            self.breaker.release()
            raise self._fail("busy")
        url = URL(self.base + path + ("?" + query.decode("latin-1") if query else ""), encoded=True)
        self.waiting += 1
        waiting = True
        t0 = _perf()
        try:
            async with asyncio.timeout_at(_loop_deadline(deadline)):
                async with self.slots:
                    self.waiting -= 1
                    waiting = False
                    self.in_flight += 1
                    try:
                        answer = await self._post(session, url, headers, body)
                    finally:
                        self.in_flight -= 1
        except TimeoutError:
            if waiting:  # never sent: not the platform's failure
                self.waiting -= 1
                self.breaker.release()
                raise self._fail("timeout") from None
            self._settle(t0, "timeout")
            raise self._fail("timeout") from None
        except (aiohttp.ClientError, OSError):
            self._settle(t0, "refused")
            raise self._fail("refused") from None
        except asyncio.CancelledError:  # the caller went away: no verdict on the platform
            if waiting:
                self.waiting -= 1
            self.breaker.release()
            raise
        self._settle(t0, str(answer.status))
        return answer

    async def _post(
        self,
        session: aiohttp.ClientSession,
        url: URL,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Answer:
        send = forwarded_headers(headers)
        async with session.post(url, data=body, headers=send, timeout=self.timeout) as r:
            data = await r.read()
            back = [
                (k, v)
                for k, v in r.raw_headers
                if k.lower() in (b"content-type", b"content-encoding")
            ]
            return Answer(r.status, back, data)

    def _settle(self, t0: float, outcome: str) -> None:
        """The breaker and the latency histogram told how a request ended."""
        if outcome in ("timeout", "refused") or outcome.startswith("5"):
            self.breaker.failure()
        else:
            self.breaker.success()
        series = self.latency.get(outcome)
        if series is None:
            series = self.latency[outcome] = Series()
        series.observe(_perf() - t0)

    # -- readiness and metrics ----------------------------------------------------------------
    async def reachability(self) -> dict[str, object]:
        """Whether a TCP connection to the platform opens now, and the breaker's state:
        for /readyz's detail, never its status. Concurrent calls share one probe."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._reach())
        return await asyncio.shield(self._probe)

    async def _reach(self) -> dict[str, object]:
        parts = urlsplit(self.base)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        detail: dict[str, object] = {"url": self.base, "breaker": self.breaker.state}
        try:
            async with asyncio.timeout(1.0):
                _, writer = await asyncio.open_connection(parts.hostname, port)
            writer.close()
            detail["reachable"] = True
        except (OSError, TimeoutError) as exc:
            detail["reachable"] = False
            detail["error"] = type(exc).__name__
        return detail

    def collect(self) -> Iterator[Metric]:
        yield from _histogram(
            "ybgate_upstream_duration_seconds",
            "Time from sending a message to the platform to its complete answer, by outcome "
            "(the HTTP status, timeout or refused).",
            dict(self.latency),
        )
        errors = CounterMetricFamily(
            "ybgate_upstream_errors",
            "Messages the platform did not answer, by kind (timeout, refused, open: the "
            "breaker was open, busy: the bound on requests in flight and waiting).",
            labels=("kind",),
        )
        for kind, n in self.errors.items():
            errors.add_metric((kind,), n)
        yield errors
        state = GaugeMetricFamily(
            "ybgate_upstream_breaker_state",
            "The platform's circuit breaker: 1 for its current state.",
            labels=("state",),
        )
        for s in STATES:
            state.add_metric((s,), 1.0 if self.breaker.state == s else 0.0)
        yield state
        moves = CounterMetricFamily(
            "ybgate_upstream_breaker_transitions",
            "Times the platform's circuit breaker entered each state.",
            labels=("state",),
        )
        for s, n in self.breaker.transitions.items():
            moves.add_metric((s,), n)
        yield moves
        yield GaugeMetricFamily(
            "ybgate_upstream_in_flight",
            "Messages sent to the platform, not answered yet.",
            value=self.in_flight,
        )
        yield GaugeMetricFamily(
            "ybgate_upstream_waiting",
            "Messages waiting for a connection to the platform.",
            value=self.waiting,
        )


def _loop_deadline(deadline: float) -> float:
    """``deadline`` (``time.monotonic``) on the running loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())

"""The gatekeeper ASGI app: raw ASGI and msgspec, no framework on the hot path.

``POST /v1/settlements/validate`` runs inline in :meth:`GatekeeperApp.__call__`: bearer
(cached per header value, else SHA-256 in the registry's token map) -> body (bounded)
-> msgspec decode -> 422/403 checks -> the decision under the store's lock (see
``plain/decide.py``) -> response bytes -> the decision-log queue -> send -> counters. The
other routes are in ``routes.py``; ``POST /v1/hsa`` in ``national/hsa.py``.

Constructing the app reads nothing: settings, the registry, the decision log and the feed
start in the lifespan (ASGI lifespan protocol, or :meth:`GatekeeperApp.lifespan` when an
embedding app runs it). Until then /v1 answers 503.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import create_engine, create_sessionmaker
from app.core.errors import (
    DomainError,
    NotReady,
    PayloadTooLarge,
)
from app.core.lifespan import drive_lifespan
from app.core.secrets import secret_box
from app.core.settings import Settings, get_settings
from app.gatekeeper import workers
from app.gatekeeper.decisions.decision_log import DecisionLog
from app.gatekeeper.decisions.idempotency import (
    IdempotencyStore,
    LocalIdempotency,
    RedisIdempotency,
)
from app.gatekeeper.decisions.ids import Uuid7
from app.gatekeeper.decisions.journal import Journal, JournalUnavailable
from app.gatekeeper.decisions.msgid_shared import SharedIdempotency
from app.gatekeeper.decisions.recent import LineMemory, RedisLineMemory
from app.gatekeeper.decisions.visits import RedisVisitMemory, VisitMemory
from app.gatekeeper.decisions.withdrawals import WithdrawalLog
from app.gatekeeper.edge.asgi import (
    ClientGone,
    InternalError,
    Receive,
    Scope,
    Send,
    read_body,
    send_bytes,
    send_problem,
)
from app.gatekeeper.edge.auth import admit
from app.gatekeeper.edge.gateway import Gateway
from app.gatekeeper.edge.metrics import Metrics
from app.gatekeeper.edge.nonces import LocalNonces, NonceStore, RedisNonces
from app.gatekeeper.feed import DatabaseFeed, SnapshotFileFeed
from app.gatekeeper.gauges import msgid_metrics, runtime_gauges
from app.gatekeeper.host.runtime import Runtime
from app.gatekeeper.national import fast as fast_path
from app.gatekeeper.national.forward import handle_forward
from app.gatekeeper.national.hsa import HSA_PATH, HSA_PREFIX, handle_hsa
from app.gatekeeper.openapi import openapi_document
from app.gatekeeper.plain.validate import VALIDATE_PATH, decide
from app.gatekeeper.routes import dispatch
from app.gatekeeper.upstream.relay import Relay
from app.registry.feed import RegistryFeed
from app.registry.memo import LIMITS as MEMO_LIMITS
from app.registry.store import RegistryStore

log = logging.getLogger("ybgate.gatekeeper")
_perf = time.perf_counter


class GatekeeperApp:
    def __init__(self, store: RegistryStore | None = None, *, follow: bool = False) -> None:
        # follow: the store comes preloaded (server/prefork.py) and this app keeps it fresh.
        self.owns_store = store is None or follow
        self.store = store if store is not None else RegistryStore()
        self.metrics = Metrics()
        self.rt: Runtime | None = None
        self.ids = Uuid7()
        self.openapi = b""
        # Read side (GET /v1/decisions/{id}): sessions on the decision log's database.
        self.reader: async_sessionmaker[AsyncSession] | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []

    # -- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" or scope["path"] != VALIDATE_PATH or scope["method"] != "POST":
            if kind == "http":
                path = scope["path"]
                if self.forwards(path):
                    await handle_forward(self, scope, receive, send)
                elif path == HSA_PATH or path.startswith(HSA_PREFIX):
                    await handle_hsa(self, scope, receive, send)
                else:
                    await dispatch(self, scope, send)
            elif kind == "lifespan":
                await self._lifespan_protocol(receive, send)
            elif kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        # The hot path, inline (one coroutine less per request); the gatekeeper's own HTTP
        # protocol runs the same admit/decide without ASGI (server/inline.py).
        t0 = _perf()
        rt, store = self.rt, self.store
        reg = store.current
        try:
            if rt is None or reg is None:
                raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
            inst = admit(reg, scope["headers"], rt.max_body)
            msg = await receive()
            body = msg.get("body", b"")
            if msg.get("more_body"):
                body = await read_body(
                    scope, msg, receive, rt.max_body, body_timeout=rt.body_timeout
                )
            elif len(body) > rt.max_body:
                raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
            out, item, results, n_accepted = decide(rt, store, reg, self.ids, inst, body)
            if (
                rt.queue_decisions
                and not rt.log.offer(item)
                and not await rt.log.offer_or_wait(item)
            ):
                raise NotReady("The decision log cannot keep up; retry shortly.")
            try:  # in the journal (one write per loop turn) before the answer: decisions/journal.py
                await rt.journal.add(item)
            except JournalUnavailable:
                raise NotReady("The decision journal cannot be written; retry shortly.") from None
        except DomainError as err:
            await send_problem(send, err, VALIDATE_PATH)
            self.metrics.observe(str(err.status), _perf() - t0)
            return
        except ClientGone:
            return
        except Exception:  # a bug, not the request: answer as a problem, and say so
            log.exception("validate failed")
            await send_problem(send, InternalError("The decision failed."), VALIDATE_PATH)
            self.metrics.observe("500", _perf() - t0)
            return
        await send_bytes(send, 200, out)
        self.metrics.validated(results, n_accepted, item[5], _perf() - t0)

    def forwards(self, path: str) -> bool:
        """Whether ``path`` is forwarded to the platform (前置 mode: national/forward.py)."""
        relay = self.rt.relay if self.rt is not None else None
        return relay is not None and (
            path == HSA_PATH or path.startswith(HSA_PREFIX) or path in relay.paths
        )

    async def _lifespan_protocol(self, receive: Receive, send: Send) -> None:
        await drive_lifespan(receive, send, self.lifespan, log)

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[GatekeeperApp]:
        """For an embedding app whose own lifespan must start this one."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    # -- lifecycle --------------------------------------------------------------------------
    async def startup(self) -> None:
        settings = get_settings()
        box = secret_box(settings)  # SecretsKeyMissing: the production profile has no key
        MEMO_LIMITS.max_bytes = settings.memo_max_bytes
        if self.owns_store:
            await self._start_feed(settings)
        dlog, journal = await _start_decisions(settings)
        idem, nonces = _claims(settings)
        await idem.start()
        await nonces.start()
        visits, lines = _memories(settings)
        await visits.start()
        await lines.start()
        withdrawals = WithdrawalLog(
            settings.database_url, settings.decision_log_dir, settings.journal_fsync_s
        )
        await withdrawals.start()
        relay = Relay.from_settings(settings)
        if relay is not None:
            await relay.start()
        reader = create_engine(settings.database_url)
        self.reader = create_sessionmaker(reader)
        self._closers.append(reader.dispose)
        self.rt = Runtime(
            settings.max_lines,
            settings.max_body_bytes,
            settings.registry_max_age_s,
            dlog,
            idem,
            journal,
            settings.http_body_timeout_s,
            hsa_fast=fast_path.active(settings.hsa_fast_path),
            gateway=Gateway(box, nonces),
            visits=visits,
            lines=lines,
            withdrawals=withdrawals,
            relay=relay,
            decision_archive=Path(settings.decision_archive_dir),
        )
        log.info("%s", fast_path.describe(settings.hsa_fast_path))
        self.openapi = msgspec.json.encode(
            openapi_document(
                settings.max_lines,
                settings.max_body_bytes,
                relay.paths if relay is not None else (),
            )
        )
        self.metrics.gauges = runtime_gauges(self.store, dlog, journal, self.rt.hsa_fast)
        if isinstance(idem, LocalIdempotency):
            self.metrics.gauges.append(msgid_metrics(idem))
        if relay is not None:
            self.metrics.gauges.append(relay.client.collect)

    async def _start_feed(self, settings: Settings) -> None:
        interval = min(5.0, settings.registry_max_age_s / 4)
        snapshot = settings.snapshot_file
        feed: RegistryFeed
        if snapshot:
            feed = SnapshotFileFeed(self.store, snapshot, interval)
            if self.store.loaded:
                feed.adopt()  # preloaded before a fork (server/prefork.py)
            else:
                await feed.load()  # before serving, on this thread: see feed.py
        elif settings.redis_url:
            from app.sync.follower import RedisFollower

            feed = RedisFollower(
                self.store, settings.redis_url, database_url=settings.database_url, wait=False
            )
            if self.store.loaded:
                feed.adopt()  # preloaded before a fork (server/prefork.py)
        else:
            feed = DatabaseFeed(self.store, settings.database_url, interval)
        await feed.start()
        self._closers.append(feed.stop)

    async def shutdown(self) -> None:
        for close in self._closers:
            await close()
        self._closers.clear()
        rt, self.rt = self.rt, None
        if rt is not None:
            await rt.log.stop()
            await rt.journal.stop(rt.log.kept)
            await rt.idempotency.stop()
            if rt.gateway is not None:
                await rt.gateway.nonces.stop()
            await rt.withdrawals.stop()
            await rt.lines.stop()
            await rt.visits.stop()
            if rt.relay is not None:
                await rt.relay.stop()

    def new_id(self) -> tuple[str, int]:
        """A decision id (UUIDv7) and its millisecond timestamp."""
        return self.ids()

    def log_exception(self, message: str) -> None:
        log.exception(message)


async def _start_decisions(settings: Settings) -> tuple[DecisionLog, Journal]:
    """The decision log (database or spill sink) and the journal written before each answer."""
    dlog = DecisionLog(
        settings.database_url,
        settings.decision_log_dir,
        sink=settings.decision_log_sink,
        partitions_ahead=settings.decision_partitions_ahead,
        replay_batch=settings.decision_replay_batch,
        replay_share=settings.decision_replay_share,
        replay_drain_s=settings.decision_replay_drain_s,
    )
    await dlog.start()
    journal = Journal(
        settings.decision_log_dir,
        settings.journal_fsync_s,
        keep=settings.decision_log_sink == "spill",
    )
    journal.start(lambda: dlog.kept)
    return dlog, journal


def _claims(settings: Settings) -> tuple[IdempotencyStore, NonceStore]:
    """The msgid records and the gateway nonces: in Redis when there is one."""
    if settings.redis_url:
        return RedisIdempotency(settings.redis_url), RedisNonces(settings.redis_url)
    # pre-forked workers (server/prefork.py) share their msgid records through the journal
    local = LocalIdempotency if workers.SUPERVISION is None else SharedIdempotency
    return (
        local(
            settings.idempotency_dir,
            max_bytes=settings.idempotency_max_bytes,
            fsync_s=settings.journal_fsync_s,  # the decisions' power-loss bound, theirs too
        ),
        LocalNonces(settings.gateway_nonce_memory_bytes),
    )


def _memories(settings: Settings) -> tuple[VisitMemory, LineMemory]:
    """The national format's visit and line memories: in Redis when there is one."""
    day = 86400.0
    visit_ttl, line_ttl = settings.visit_ttl_days * day, settings.line_memory_days * day
    if settings.redis_url:
        return (
            RedisVisitMemory(settings.redis_url, visit_ttl, settings.visit_memory_bytes),
            RedisLineMemory(settings.redis_url, line_ttl, settings.line_memory_bytes),
        )
    return (
        VisitMemory(visit_ttl, settings.visit_memory_bytes),
        LineMemory(line_ttl, settings.line_memory_bytes),
    )


def create_gatekeeper_app(*, store: RegistryStore | None = None) -> GatekeeperApp:
    """The HIS-facing ASGI app. With ``store``, the caller owns loading and syncing it
    (the embedded app shares one store with the admin side); without, the lifespan loads
    it from ``YBGATE_SNAPSHOT_FILE`` when set, else follows Redis when
    ``YBGATE_REDIS_URL`` is set, else loads it from the database and follows the outbox
    (see ``feed.py``). Either way the lifespan must run: it starts the decision log."""
    return GatekeeperApp(store)

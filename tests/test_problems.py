"""One problem vocabulary on one port, one lifespan driver, settings read in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.admin.app import create_admin_app
from app.core.errors import PROBLEM_BASE
from app.core.lifespan import drive_lifespan
from app.core.settings import Settings
from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.edge.asgi import InternalError
from app.registry.store import RegistryStore
from app.rules.errors import PolicyFileError
from app.sync.relay_config import RelayConfig


def _admin_with_faults() -> FastAPI:
    app = create_admin_app()

    async def boom() -> None:
        raise RuntimeError("a bug")

    async def broken_policy() -> None:
        raise PolicyFileError("zhejiang-2014.toml", [("scoring.initial", "must be a number")])

    app.add_api_route("/admin/v1/boom", boom)
    app.add_api_route("/admin/v1/broken-policy", broken_policy)
    return app


async def _get(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_an_unknown_route_is_the_same_404_from_admin_and_gatekeeper() -> None:
    admin = await _get(create_admin_app(), "/admin/v1/nothing-here")
    gate = await _get(create_gatekeeper_app(store=RegistryStore()), "/v1/nothing-here")
    assert admin.status_code == gate.status_code == 404
    a, g = admin.json(), gate.json()
    assert admin.headers["content-type"] == gate.headers["content-type"]
    assert (
        (a["type"], a["title"])
        == (g["type"], g["title"])
        == (
            PROBLEM_BASE + "not-found",
            "Not found",
        )
    )
    assert a["detail"] == "No route /admin/v1/nothing-here."
    assert g["detail"] == "No route /v1/nothing-here."


async def test_an_unexpected_error_is_the_gatekeepers_500() -> None:
    r = await _get(_admin_with_faults(), "/admin/v1/boom")
    assert r.status_code == 500
    expected = InternalError("x").to_problem()
    assert (r.json()["type"], r.json()["title"]) == (expected["type"], expected["title"])
    assert "a bug" not in r.text  # nothing of the fault leaks to the client


async def test_a_broken_policy_file_is_a_server_error_not_a_client_error() -> None:
    r = await _get(_admin_with_faults(), "/admin/v1/broken-policy")
    assert r.status_code == 500
    assert r.json()["type"] == PROBLEM_BASE + "internal-error"


async def test_a_wrong_method_is_405_in_one_vocabulary() -> None:
    transport = httpx.ASGITransport(app=create_admin_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.delete("/admin/v1/regions")
    assert r.status_code == 405
    assert r.json()["type"] == PROBLEM_BASE + "method-not-allowed"


async def _lifespan_messages(fail_on: str | None) -> list[MutableMapping[str, Any]]:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        if fail_on == "startup":
            raise RuntimeError("cannot start")
        yield
        if fail_on == "shutdown":
            raise RuntimeError("cannot stop cleanly")

    await drive_lifespan(receive, send, running, logging.getLogger("test"))
    return sent


async def test_the_lifespan_driver_reports_each_phase_and_a_failed_shutdown() -> None:
    ok = await _lifespan_messages(None)
    assert [m["type"] for m in ok] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    bad_start = await _lifespan_messages("startup")
    assert [m["type"] for m in bad_start] == ["lifespan.startup.failed"]
    bad_stop = await _lifespan_messages("shutdown")
    assert [m["type"] for m in bad_stop] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.failed",
    ]
    assert "cannot stop cleanly" in bad_stop[1]["message"]


def test_relay_snapshot_and_sink_settings_come_from_the_settings_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("YBGATE_RELAY_HEAD_TTL_MS", "YBGATE_SNAPSHOT_FILE", "YBGATE_DECISION_LOG_SINK"):
        monkeypatch.delenv(name, raising=False)
    assert RelayConfig.from_settings(Settings()) == RelayConfig()  # one set of defaults
    monkeypatch.setenv("YBGATE_RELAY_HEAD_TTL_MS", "1000")
    monkeypatch.setenv("YBGATE_RELAY_USE_LOCK", "false")
    monkeypatch.setenv("YBGATE_SNAPSHOT_FILE", "/tmp/registry.snap")
    monkeypatch.setenv("YBGATE_DECISION_LOG_SINK", "spill")
    settings = Settings()
    cfg = RelayConfig.from_settings(settings)
    assert (cfg.head_ttl_ms, cfg.use_lock) == (1000, False)
    assert (settings.snapshot_file, settings.decision_log_sink) == ("/tmp/registry.snap", "spill")
    monkeypatch.setenv("YBGATE_DECISION_LOG_SINK", "kafka")
    with pytest.raises(ValueError, match="decision_log_sink"):
        Settings()


def test_the_four_registry_feeds_implement_one_protocol() -> None:
    """Snapshot file, database, in-process and Redis feeds: load, catch_up, start, stop."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from app.gatekeeper.feed import DatabaseFeed, SnapshotFileFeed
    from app.registry.feed import RegistryFeed
    from app.sync.follower import RedisFollower
    from app.sync.inprocess import InProcessFeed

    store = RegistryStore()
    sessions = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))
    feeds: list[RegistryFeed] = [
        SnapshotFileFeed(store, "/nonexistent.snap", 1.0),
        DatabaseFeed(store, "sqlite+aiosqlite://", 1.0),
        InProcessFeed(store, sessions),
        RedisFollower(store, "redis://127.0.0.1:1", sessions=sessions),
    ]
    for feed in feeds:
        assert isinstance(feed, RegistryFeed), type(feed).__name__
        assert feed.store is store

"""The C fast path of POST /v1/hsa is optional: built only where a compiler was at
install, switched off by YBGATE_HSA_FAST_PATH=off; the reference serves either way, and
start-up and /metrics say which path is active."""

from __future__ import annotations

import logging
import os
import shutil
import sysconfig
from pathlib import Path

import httpx
import pytest

from app.gatekeeper import GatekeeperApp, create_gatekeeper_app
from app.gatekeeper.national import fast, hsa
from app.registry.store import RegistryStore
from tests.gatekeeper.conftest import DR_PLAIN, DR_SUSPENDED, his
from tests.gatekeeper.hsa_support import fee, message

MARCH = "2026-03-10"  # DR_SUSPENDED is suspended 2026-03-01..2026-03-31 at H1


def _compiler() -> bool:
    """A C compiler and Python's headers, as setup.py's build would look for them."""
    cc = (os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")).split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(cc) is not None and headers.exists()


def test_the_extension_is_built_exactly_where_a_compiler_was() -> None:
    """`make venv` builds csrc/ with a compiler and goes on without one (setup.py
    optional=True); CI runs the gatekeeper's tests both ways (.ci/run)."""
    assert fast.BUILT is _compiler()


async def _two_rounds(app: GatekeeperApp) -> list[dict[str, object]]:
    """The same kind of message twice (the second finds the memo filled)."""
    out = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
        for msgid in ("M-1", "M-2"):
            body = message(
                "2204",
                "H1",
                fee("1", DR_SUSPENDED, MARCH, amount=12.50),
                fee("2", DR_PLAIN, MARCH, amount="30.00"),
                msgid=msgid,
            )
            r = await c.post("/v1/hsa", json=body, headers=his())
            assert r.status_code == 200, r.text
            out.append(r.json())
        metrics = (await c.get("/metrics")).text
    gauge = next(ln for ln in metrics.splitlines() if ln.startswith("ybgate_hsa_fast_path_active"))
    out.append({"gauge": float(gauge.split()[-1])})
    return out


def _scans(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = fast.scan

    def counted(body: bytes, max_lines: int) -> object:
        calls.append(body)
        return real(body, max_lines)

    monkeypatch.setattr(hsa, "scan", counted)
    return calls


async def test_switched_off_the_reference_serves_every_message(
    gk_env: Path,
    store: RegistryStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("YBGATE_HSA_FAST_PATH", "off")
    calls = _scans(monkeypatch)
    app = create_gatekeeper_app(store=store)
    with caplog.at_level(logging.INFO, logger="ybgate.gatekeeper"):
        async with app.lifespan():
            first, second, metrics = await _two_rounds(app)
    assert calls == []  # never scanned in C
    for answer in (first, second):
        assert answer["infcode"] == -1
        assert (
            answer["err_msg"] == "1 条费用明细医保医师校验未通过: feedetl_sn=1 AGREEMENT_SUSPENDED"
        )
    assert metrics == {"gauge": 0.0}
    assert any("fast path off" in r.getMessage() for r in caplog.records)


async def test_auto_uses_the_fast_path_where_it_was_built(
    gk_env: Path,
    store: RegistryStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("YBGATE_HSA_FAST_PATH", raising=False)
    calls = _scans(monkeypatch)
    app = create_gatekeeper_app(store=store)
    with caplog.at_level(logging.INFO, logger="ybgate.gatekeeper"):
        async with app.lifespan():
            first, second, metrics = await _two_rounds(app)
    assert len(calls) == (2 if fast.BUILT else 0)
    assert first["output"]["result"] == second["output"]["result"]  # type: ignore[index]
    assert metrics == {"gauge": 1.0 if fast.BUILT else 0.0}
    said = " ".join(r.getMessage() for r in caplog.records)
    assert ("fast path active" in said) is fast.BUILT
    assert ("fast path not built" in said) is not fast.BUILT

"""RegistryStore: the current compact registry, its version and its freshness.

Thread-safe. Readers (the hot path) take :attr:`RegistryStore.lock` around a whole
decision; :meth:`apply` mutates the registry under the same lock and :meth:`replace`
builds the new registry first and only swaps it under the lock. So a request never sees
half a change, whether the writer runs on the event loop (embedded profile: the admin
write applies its patch after commit) or in another thread.

Building a store from facts::

    store = RegistryStore()
    store.replace(await load_snapshot(session))   # a full Patch: every entity
    store.apply(patch)                            # then patch.version == version + 1
"""

from __future__ import annotations

import threading
import time

from app.registry.compact import Registry
from app.registry.facts import Patch
from app.registry.roster import RosterLog


class RegistryGapError(Exception):
    """A patch that does not follow the current version: reload a snapshot (or, when
    ``got <= current``, the patch is a duplicate and may be dropped)."""

    def __init__(self, current: int, got: int) -> None:
        super().__init__(f"registry patch {got} does not follow version {current}")
        self.current = current
        self.got = got


class RegistryNotLoadedError(Exception):
    """No registry has been loaded into the store yet."""


class RegistryStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # The current registry, None before the first load (read-only for callers; the
        # hot path reads the attribute directly).
        self.current: Registry | None = None
        self._synced_at: float | None = None  # time.monotonic() of the last confirmed sync
        # What changed since the last full load, for GET /v1/roster (see roster.py).
        self.roster = RosterLog(0)

    # -- reading ----------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self.current is not None

    @property
    def registry(self) -> Registry:
        """The current registry (read it under :attr:`lock` for a consistent view)."""
        reg = self.current
        if reg is None:
            raise RegistryNotLoadedError("the registry is not loaded")
        return reg

    @property
    def version(self) -> int:
        return self.registry.version

    def age_seconds(self) -> float:
        """Seconds since the last confirmed sync (``inf`` before the first load)."""
        if self._synced_at is None:
            return float("inf")
        return time.monotonic() - self._synced_at

    # -- writing ----------------------------------------------------------------------------
    def replace(self, snapshot: Patch) -> None:
        """Load a full snapshot (every entity of the record) as the new registry."""
        self.replace_registry(Registry.from_patch(snapshot))

    def replace_registry(self, registry: Registry) -> None:
        with self.lock:
            self.current = registry
            self.roster = RosterLog(registry.version)
            self._synced_at = time.monotonic()

    def apply(self, patch: Patch) -> None:
        """Apply the patch of version ``version + 1`` atomically; else RegistryGapError."""
        with self.lock:
            reg = self.registry
            if patch["version"] != reg.version + 1:
                raise RegistryGapError(reg.version, patch["version"])
            old = self.roster.before(reg, patch)
            reg.apply(patch)
            self.roster.after(reg, patch, old)
            self._synced_at = time.monotonic()

    def mark_synced(self) -> None:
        """The feed confirmed that no newer version exists (heartbeat)."""
        if self.current is not None:
            self._synced_at = time.monotonic()

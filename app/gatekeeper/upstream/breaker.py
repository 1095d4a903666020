"""A circuit breaker per upstream: closed, open, half-open.

Closed: requests go through; ``failures`` failures in a row (a refused connection, a
timeout, a broken answer) open it. Open: every request fails at once (``refused``)
for ``reset_s``; then the breaker is half-open and lets exactly one request through as
a probe: its success closes the breaker, its failure opens it again for ``reset_s``.
Transitions are counted for the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)


class Breaker:
    def __init__(
        self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.reset_s = reset_s
        self._clock = clock
        self.state = CLOSED
        self.failures = 0  # in a row
        self.opened_at = 0.0
        self.probing = False  # half-open: the one probe is out
        self.transitions: dict[str, int] = dict.fromkeys(STATES, 0)

    def _now(self) -> float:
        return self._clock()

    def allow(self) -> bool:
        """Whether a request may go now (half-open: the caller is the probe)."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if self._now() - self.opened_at < self.reset_s:
                return False
            self._enter(HALF_OPEN)
        if self.probing:
            return False
        self.probing = True
        return True

    def success(self) -> None:
        self.failures = 0
        self.probing = False
        if self.state != CLOSED:
            self._enter(CLOSED)

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
            self.opened_at = self._now()
            self._enter(OPEN)

    def release(self) -> None:
        """A request allowed but never sent (its deadline passed first): not a verdict."""
        self.probing = False

    def _enter(self, state: str) -> None:
        self.state = state
        self.transitions[state] += 1

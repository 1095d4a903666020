"""Decision ids: UUIDv7 (RFC 9562), cheap enough for the hot path.

48-bit Unix milliseconds, then a 12-bit counter keeping ids minted in the same
millisecond in order (overflow borrows the next millisecond; a clock stepping back keeps
the last millisecond), then 62 random bits drawn once per millisecond: within a
millisecond the counter makes ids unique, across processes the random bits do. The
formatted prefix and suffix are kept per millisecond, so most ids are one short format.
"""

from __future__ import annotations

import os
import random
import time

# Seeded from the OS (and again in a forked child): ids of other processes do not collide.
_rng = random.Random(random.SystemRandom().getrandbits(128))
_getrandbits = _rng.getrandbits
_time_ns = time.time_ns
_HEX3 = tuple(f"{i:03x}" for i in range(0x1000))
os.register_at_fork(after_in_child=lambda: _rng.seed(random.SystemRandom().getrandbits(128)))


class Uuid7:
    __slots__ = ("_head", "_last_ms", "_seq", "_tail")

    def __init__(self) -> None:
        self._last_ms = 0
        self._seq = 0
        self._head = ""
        self._tail = ""

    def __call__(self) -> tuple[str, int]:
        """A new id and its millisecond timestamp."""
        ms = _time_ns() // 1_000_000
        if ms > self._last_ms:
            self._start(ms)
        else:
            self._seq += 1
            if self._seq > 0xFFF:
                self._start(self._last_ms + 1)
        return self._head + _HEX3[self._seq] + self._tail, self._last_ms

    def _start(self, ms: int) -> None:
        self._last_ms = ms
        self._seq = 0
        r = _getrandbits(62) | 0x8000000000000000
        self._head = f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7"
        self._tail = f"-{r >> 48:04x}-{r & 0xFFFFFFFFFFFF:012x}"

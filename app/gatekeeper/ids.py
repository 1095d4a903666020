"""Decision ids: UUIDv7 (RFC 9562), minted about three times faster than
``app.core.ids.uuid7`` (no lock: the hot path runs on one event loop thread; no
``uuid.UUID`` object). 48-bit Unix milliseconds, a 12-bit counter keeping ids minted in
the same millisecond in order (overflow borrows the next millisecond), 62 random bits."""

from __future__ import annotations

import os
import random
import time

# Seeded from the OS (and again in a forked child): ids of other processes do not collide.
_rng = random.Random(random.SystemRandom().getrandbits(128))
_getrandbits = _rng.getrandbits
_time_ns = time.time_ns
os.register_at_fork(after_in_child=lambda: _rng.seed(random.SystemRandom().getrandbits(128)))


class Uuid7:
    __slots__ = ("_last_ms", "_seq")

    def __init__(self) -> None:
        self._last_ms = 0
        self._seq = 0

    def __call__(self) -> tuple[str, int]:
        """A new id and its millisecond timestamp."""
        ms = _time_ns() // 1_000_000
        if ms <= self._last_ms:
            ms = self._last_ms
            seq = self._seq + 1
            if seq > 0xFFF:
                ms += 1
                seq = 0
        else:
            seq = 0
        self._last_ms = ms
        self._seq = seq
        r = _getrandbits(62) | 0x8000000000000000
        text = "%08x-%04x-7%03x-%04x-%012x" % (  # noqa: UP031 (fastest formatting here)
            ms >> 16,
            ms & 0xFFFF,
            seq,
            r >> 48,
            r & 0xFFFFFFFFFFFF,
        )
        return text, ms

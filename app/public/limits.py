"""The public endpoints' guards, in memory per process: a fixed one-minute window of
requests per client address, and a short-lived cache of each institution's answer.
Both are bounded: the window's table is dropped every minute, the cache when full."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

from app.core.errors import TooManyRequests

T = TypeVar("T")
MAX_CACHED = 10_000


class RateWindow:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.minute = -1
        self.counts: dict[str, int] = {}

    def hit(self, client: str) -> None:
        """Count one request of ``client``; 429 past the limit within this minute."""
        now = time.time()
        minute = int(now // 60)
        if minute != self.minute:
            self.minute, self.counts = minute, {}
        n = self.counts.get(client, 0) + 1
        self.counts[client] = n
        if n > self.per_minute:
            retry = int(60 - now % 60) + 1
            raise TooManyRequests(
                f"每分钟最多 {self.per_minute} 次查询, 请 {retry} 秒后再试.", retry_after=retry
            )


class TTLCache(Generic[T]):
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.items: dict[str, tuple[float, T]] = {}

    def get(self, key: str) -> T | None:
        found = self.items.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, value: T) -> None:
        if len(self.items) >= MAX_CACHED:
            self.items.clear()
        self.items[key] = (time.monotonic() + self.ttl_s, value)

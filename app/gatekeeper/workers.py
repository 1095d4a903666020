"""What a pre-forked gatekeeper's workers know of their supervision (``prefork.py``).

The parent maps one page of anonymous shared memory before it forks: it alone writes the
number of workers it has replaced there (an aligned 8-byte store), every worker reads it
for ``/readyz`` (``worker_restarts``) and ``/metrics``
(``ybgate_gatekeeper_worker_restarts_total``). In a single-process gatekeeper
:data:`SUPERVISION` is None and neither shows it.
"""

from __future__ import annotations

import mmap
import struct

_COUNT = struct.Struct("<Q")


class Supervision:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._page = mmap.mmap(-1, mmap.PAGESIZE)  # MAP_SHARED | MAP_ANONYMOUS

    @property
    def restarts(self) -> int:
        return int(_COUNT.unpack_from(self._page, 0)[0])

    def restarted(self) -> int:
        """One more worker replaced (the parent only)."""
        n = self.restarts + 1
        _COUNT.pack_into(self._page, 0, n)
        return n


SUPERVISION: Supervision | None = None

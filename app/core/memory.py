"""The C allocator's handling of large buffers, pinned for a server process.

glibc serves an allocation of 128 KiB or more with its own ``mmap`` and gives it back to
the operating system on ``free``, but after each such free it raises that threshold to
the size freed (up to 32 MiB): from then on, buffers of that size come from the heap,
and a heap fragmented by smaller objects rarely shrinks. A server that reads bodies of up
to 1 MiB (and decodes strings as long) so keeps the high-water mark of its transient
buffers for good: 200 settlements carrying a 400 KB physician code each left about
100 MB resident although nothing held them. Setting the threshold explicitly turns the
adjustment off (``mallopt(M_MMAP_THRESHOLD)``): large transient buffers go back to the
system when freed; everything smaller than the threshold is unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024

log = logging.getLogger("ybgate")


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (True when set; False where there is no glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not ok:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused; large buffers may stay resident")
    return ok

"""Process memory settings for a long-lived process that builds large columns again and again.

Each attainment table (metrics/engine.py) builds ~15 MB of fresh numpy columns. glibc's
allocator gives blocks this big back to the OS when they are freed (they live in their own
mmap, or the heap is trimmed), so the next table page-faults the same memory in again: ~4,000
minor faults per call at national scale, about 4 ms of a ~50 ms call
(benchmarks/bench_metrics.py prints the faults). Keeping freed memory for reuse takes that to
~300 faults. The dashboard's server, `python -m metrics` and the benchmarks call `keep_freed_memory` once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

# mallopt parameters (glibc <malloc.h>)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's maximum on 64-bit)
TRIM_THRESHOLD = 256 << 20  # free heap kept for reuse before it is returned to the OS

_DONE: bool | None = None
_LOCK = threading.Lock()


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (idempotent). False where there is no glibc."""
    global _DONE
    with _LOCK:
        if _DONE is None:
            mmap = _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            _DONE = mmap and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        return _DONE


def _mallopt(param: int, value: int) -> bool:
    """One mallopt call; False when the C library has none (musl, macOS) or refuses the value."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(param, value))

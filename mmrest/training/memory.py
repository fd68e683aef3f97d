"""A process-wide allocator setting for training processes, applied by the entry points."""
from __future__ import annotations

import ctypes
import sys

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_MMAP_MAX = 65536
_DEFAULT_TRIM_THRESHOLD = 128 * 1024


def keep_freed_memory(enabled: bool = True) -> bool:
    """Ask glibc's malloc to keep freed memory in the process instead of handing it back.

    Every training step frees and allocates the same large activation buffers again (tens of MB
    for the unaligned LSTMs). By default glibc serves such blocks with mmap and unmaps them on
    free, so the next step faults every page in again, zeroed by the kernel: about a million page
    faults and 40% of the CPU time of an unaligned MOSI epoch here (benchmarks/bench_epoch.py).
    With mmap off and trimming deferred to 1 GiB of free heap, freed blocks are reused as they are.
    The numbers computed do not change; the process keeps its peak heap. `enabled=False` restores
    glibc's defaults. Returns whether the setting took (False where the C library is not glibc).
    """
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    mmap_max, trim = (0, 1 << 30) if enabled else (_DEFAULT_MMAP_MAX, _DEFAULT_TRIM_THRESHOLD)
    return bool(mallopt(_M_MMAP_MAX, mmap_max)) and bool(mallopt(_M_TRIM_THRESHOLD, trim))


def _glibc_mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return getattr(libc, "mallopt", None)

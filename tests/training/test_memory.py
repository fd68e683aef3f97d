"""keep_freed_memory: a freed 64 MiB block is reused without faulting its pages in again.

Each measurement runs in a fresh interpreter: the setting is process-wide, and a heap that an
earlier test grew while it was on keeps serving large blocks after it is turned off. The blocks
come from the C library's malloc itself (through ctypes), not from torch: torch's own small
allocations between two large ones decide whether the freed block still fits where it was, which
made the pages a torch tensor faulted in vary from run to run (the training loop's steady state,
where the setting pays, is measured by benchmarks/bench_epoch.py). The first block always faults
its pages in; the test reads the second to fourth."""
import subprocess
import sys

import pytest

from mmrest.training.memory import keep_freed_memory

MEASURE = """
import ctypes, resource, sys
from mmrest.training.memory import keep_freed_memory
keep_freed_memory(sys.argv[1] == "on")
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 * 2**20
faults = []
for _ in range(4):  # a 64 MiB block, written and freed, four times
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


def later_faults(setting: str) -> list[int]:
    """Minor page faults while the second to fourth 64 MiB blocks are written, each after one
    like it was freed."""
    run = subprocess.run([sys.executable, "-c", MEASURE, setting], capture_output=True, text=True, check=True)
    return [int(n) for n in run.stdout.split()][1:]


def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    if not keep_freed_memory(False):
        pytest.skip("the C library is not glibc: keep_freed_memory has nothing to set")
    pages = 64 * 2**20 // 4096
    assert min(later_faults("off")) > pages // 2  # glibc's default: unmapped, faulted in again
    assert max(later_faults("on")) < pages // 20

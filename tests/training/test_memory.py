"""keep_freed_memory: a freed 64 MiB buffer is reused without faulting its pages in again.

Each measurement runs in a fresh interpreter: the setting is process-wide, and a heap that an
earlier test grew while it was on keeps serving large blocks after it is turned off. The first
buffer always faults its pages in, and with the setting on glibc sometimes maps the second one
elsewhere too (where the heap cannot grow in place, which address-space randomisation decides;
about 3 runs in 10 here). From the third buffer on, the steady state a training loop lives in,
the setting reuses the freed block every time, so the test reads the third and fourth."""
import subprocess
import sys

import pytest

from mmrest.training.memory import keep_freed_memory

MEASURE = """
import resource, sys, torch
from mmrest.training.memory import keep_freed_memory
keep_freed_memory(sys.argv[1] == "on")
torch.set_num_threads(1)
faults = []
for _ in range(4):  # a 64 MiB buffer, written and freed, four times
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20).sum()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


def steady_faults(setting: str) -> list[int]:
    """Minor page faults while the third and fourth 64 MiB buffers are written, each after one
    like it was freed."""
    run = subprocess.run([sys.executable, "-c", MEASURE, setting], capture_output=True, text=True, check=True)
    return [int(n) for n in run.stdout.split()][2:]


def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    if not keep_freed_memory(False):
        pytest.skip("the C library is not glibc: keep_freed_memory has nothing to set")
    pages = 64 * 2**20 // 4096
    assert min(steady_faults("off")) > pages // 2  # glibc's default: unmapped, faulted in again
    assert max(steady_faults("on")) < pages // 20

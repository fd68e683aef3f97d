"""keep_freed_memory: a freed 64 MiB buffer is reused without faulting its pages in again.

Each measurement runs in a fresh interpreter: the setting is process-wide, and a heap that an
earlier test grew while it was on keeps serving large blocks after it is turned off. With the
setting on, glibc still maps the first buffer elsewhere now and then (where the heap cannot grow
in place, which address-space randomisation decides), so the test reads the median of seven."""
import statistics
import subprocess
import sys

import pytest

from mmrest.training.memory import keep_freed_memory

MEASURE = """
import resource, sys, torch
from mmrest.training.memory import keep_freed_memory
keep_freed_memory(sys.argv[1] == "on")
torch.set_num_threads(1)
torch.ones(16 * 2**20).sum()  # a 64 MiB buffer, freed
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.ones(16 * 2**20).sum()  # another one
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_of_a_second_buffer(setting: str) -> int:
    """Minor page faults while a 64 MiB buffer is written, after one like it was freed."""
    run = subprocess.run([sys.executable, "-c", MEASURE, setting], capture_output=True, text=True, check=True)
    return int(run.stdout)


def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    if not keep_freed_memory(False):
        pytest.skip("the C library is not glibc: keep_freed_memory has nothing to set")
    pages = 64 * 2**20 // 4096
    off = statistics.median(faults_of_a_second_buffer("off") for _ in range(7))
    on = statistics.median(faults_of_a_second_buffer("on") for _ in range(7))
    assert off > pages // 2  # glibc's default: unmapped, faulted in again
    assert on < pages // 20

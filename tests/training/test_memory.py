"""keep_freed_memory: a freed 64 MiB buffer is reused without faulting its pages in again."""
import resource

import pytest
import torch

from mmrest.training.memory import keep_freed_memory

PAGES = 64 * 2**20 // resource.getpagesize()


def faults_of_a_second_buffer() -> int:
    """Minor page faults while a 64 MiB buffer is written, after one like it was freed."""
    torch.ones(16 * 2**20).sum()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20).sum()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    if not keep_freed_memory(False):
        pytest.skip("the C library is not glibc: keep_freed_memory has nothing to set")
    try:
        assert faults_of_a_second_buffer() > PAGES // 2  # glibc's default: unmapped, faulted in again
        assert keep_freed_memory(True)
        assert faults_of_a_second_buffer() < PAGES // 20
    finally:
        keep_freed_memory(False)

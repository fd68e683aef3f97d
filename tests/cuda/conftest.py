"""Every test here needs a CUDA device; without one they are skipped with that reason."""
import pytest
import torch


def pytest_collection_modifyitems(items):
    here = __file__.rsplit("/", 1)[0]
    skip = pytest.mark.skip(reason="no CUDA device: tests/cuda check the CUDA paths on a GPU")
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.cuda)
            if not torch.cuda.is_available():
                item.add_marker(skip)

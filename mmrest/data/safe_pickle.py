"""Unpickle dataset files without running anything the file asks for.

A pickle names the callables that rebuild its objects, and `pickle.load` calls them: a tampered
MOSI/MOSEI file shared through a cloud drive could run any code. The distributed formats hold
only numpy arrays, dtypes and scalars inside builtin containers, numbers and strings, so only
the callables that rebuild those are admitted, under the names numpy 1.x (`numpy.core`) and 2.x
(`numpy._core`) write, at every protocol. Any other name stops the load before anything runs.
"""
from __future__ import annotations

import collections
import pickle
from typing import BinaryIO

import numpy as np


class ForbiddenGlobal(pickle.UnpicklingError):
    """The file asked for a callable that a dataset file never needs."""

    def __init__(self, qualified_name: str):
        super().__init__(qualified_name)
        self.qualified_name = qualified_name


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    # Protocol 2 pickles carry Python 3 bytes (numpy's array buffers) as
    # `_codecs.encode(text, "latin1")`; no other codec is needed, so none other is admitted.
    if encoding not in ("latin1", "latin-1"):
        raise ForbiddenGlobal(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_rebuilders() -> dict[str, object]:
    """numpy's own rebuild functions, taken from what numpy's reducers return, so the same
    code finds them under numpy 1.x and 2.x without importing a private module."""
    return {
        "_reconstruct": np.zeros(1).__reduce__()[0],
        "scalar": np.float64(0).__reduce__()[0],
        "_frombuffer": np.zeros(1).__reduce_ex__(5)[0],
    }


def _allowed() -> dict[tuple[str, str], object]:
    rebuild = _numpy_rebuilders()
    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = rebuild["_reconstruct"]
        allowed[(f"{package}.multiarray", "scalar")] = rebuild["scalar"]
        allowed[(f"{package}.numeric", "_frombuffer")] = rebuild["_frombuffer"]
    # Protocols 0-2 spell the builtins module `__builtin__`.
    for module in ("builtins", "__builtin__"):
        for kind in (set, frozenset, bytearray, complex, list, dict, tuple, int, float, bool, str, bytes):
            allowed[(module, kind.__name__)] = kind
    allowed[("_codecs", "encode")] = _latin1_encode
    allowed[("collections", "OrderedDict")] = collections.OrderedDict
    return allowed


class _DatasetUnpickler(pickle.Unpickler):
    def __init__(self, handle: BinaryIO):
        super().__init__(handle)
        self._allowed = _allowed()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(f"{module}.{name}") from None


def load_restricted(handle: BinaryIO) -> object:
    """Unpickle from `handle`, admitting only numpy arrays, dtypes and scalars and builtin
    containers, numbers and strings; raises `ForbiddenGlobal` naming the first other callable
    the file names, before calling it."""
    return _DatasetUnpickler(handle).load()

"""Package names that load their module on first use (PEP 562), for packages whose modules pull
in heavy libraries that a quick command (a refused spec, --help) should not pay for."""
from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable, Callable]:
    """(`__all__`, `__getattr__`, `__dir__`) for `package`, whose `exports` map each module name to
    the names it lends the package."""
    module_of = {name: module for module, names in exports.items() for name in names}
    names = sorted(module_of)

    def __getattr__(name: str):
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module_of[name]}"), name)

    def __dir__() -> list[str]:
        return names

    return names, __getattr__, __dir__

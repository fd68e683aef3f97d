"""The packages form one line, top to bottom (docs/architecture.md): each imports only packages
below it, so there is no cycle and no concept flows back up.

Two checks: every `import mmrest.X` written anywhere in a module (function-level imports too,
read from the source), and what importing a package's modules pulls in, in a fresh interpreter
that imports the layers from the bottom up.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mmrest

ROOT = Path(mmrest.__file__).parent
# Bottom to top. "core" is the top-level modules (errors, config, metrics, trial_table, ...).
LINE = ("core", "data", "model", "training", "stats", "selection", "study", "analysis", "report", "commands")
PACKAGES = [p for p in LINE[1:] if (ROOT / p).is_dir()]


def _layer(module: str) -> str:
    """'mmrest.study.runner' -> 'study'; 'mmrest.config' or 'mmrest' -> 'core'; 'mmrest.cli' -> 'commands'."""
    parts = module.split(".")
    if len(parts) == 1 or not (ROOT / parts[1]).is_dir():
        return "commands" if parts[-1] == "cli" else "core"
    return parts[1]


def _modules(layer: str) -> list[Path]:
    if layer == "core":
        return [p for p in ROOT.glob("*.py") if p.stem != "cli"]
    return sorted((ROOT / layer).rglob("*.py"))


def _facade(path: Path) -> bool:
    """`mmrest/__init__.py` offers `mmrest.mmc_loss` lazily (on attribute access, never at import
    time): the one name the package root lends from above; the fresh-interpreter check holds it."""
    return path == ROOT / "__init__.py"


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mmrest")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mmrest"):
            found.add(node.module)
    return found


def test_every_package_is_on_the_line():
    on_disk = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert on_disk <= set(LINE), f"place {sorted(on_disk - set(LINE))} on the line in this test and docs/architecture.md"


@pytest.mark.parametrize("layer", ["core", *PACKAGES])
def test_sources_import_only_downwards(layer):
    allowed = set(LINE[: LINE.index(layer) + 1])
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in _modules(layer) if not _facade(path)
             for name in _imported(path) if _layer(name) not in allowed}
    assert not wrong, sorted(wrong)


def _module_names(layer: str) -> list[str]:
    return [f"mmrest.{p.stem}" if layer == "core" else
            "mmrest." + ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for p in _modules(layer)]


@pytest.fixture(scope="module")
def loaded_by_layer() -> dict[str, list[str]]:
    """In one fresh interpreter, every layer's modules imported bottom to top, and after each
    layer the mmrest modules loaded so far. A layer whose import pulls in a module above it shows
    that module in its own list: the layers below were already loaded and checked clean."""
    layers = {layer: _module_names(layer) for layer in ["core", *PACKAGES]}
    code = ("import importlib, json, sys\nloaded = {}\n"
            f"for layer, names in {layers!r}.items():\n"
            "    for n in names: importlib.import_module(n)\n"
            "    loaded[layer] = sorted(m for m in sys.modules if m.startswith('mmrest'))\n"
            "print(json.dumps(loaded))")
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


@pytest.mark.parametrize("layer", ["core", *PACKAGES])
def test_importing_a_package_pulls_in_nothing_above_it(layer, loaded_by_layer):
    above = set(LINE[LINE.index(layer) + 1:])
    assert not [m for m in loaded_by_layer[layer] if _layer(m) in above]

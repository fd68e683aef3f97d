"""mmrest.stats stays a pure package at the bottom of the import graph, with its defaults."""
import ast
import subprocess
import sys
from pathlib import Path

import mmrest.stats
from mmrest.metrics import METRIC_NAMES
from mmrest.stats import DEFAULT_MIN_EFFECT

PACKAGE = Path(mmrest.stats.__file__).parent
# pandas only to hand statsmodels' AnovaRM the long table it requires.
ALLOWED = {"numpy", "scipy", "statsmodels", "pandas", "mmrest"}
ALLOWED_MMREST = {"mmrest.errors", "mmrest.metrics", "mmrest.lazy"}


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_it_imports_only_numerics_and_the_bottom_of_mmrest():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in ALLOWED, f"{path.name} imports {name}"
            if top == "mmrest":
                assert name.startswith("mmrest.stats") or name in ALLOWED_MMREST, f"{path.name} imports {name}"


def test_importing_it_loads_no_study_report_or_analysis_code():
    code = "import sys, mmrest.stats; print(sorted(m for m in sys.modules if m.startswith('mmrest')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for layer in ("mmrest.study", "mmrest.report", "mmrest.analysis", "mmrest.model", "torch'"):
        assert layer not in loaded


def test_every_metric_has_a_default_min_effect():
    assert tuple(DEFAULT_MIN_EFFECT) == METRIC_NAMES
    assert DEFAULT_MIN_EFFECT["mae"] == DEFAULT_MIN_EFFECT["corr"] == 0.01
    assert all(DEFAULT_MIN_EFFECT[name] == 1.0 for name in METRIC_NAMES if name not in ("mae", "corr"))

"""The smallest difference worth a reader's attention, per validation metric, in its units.

Accuracies and F1 are in percentage points (as `mmrest.metrics` writes them): 1 point is about
the seed-to-seed spread papers report on MOSI; MAE and Corr move by about 0.01 over seeds.
"""
from __future__ import annotations

from types import MappingProxyType

from mmrest.metrics import METRIC_NAMES

_SCALE_UNITS = {"mae": 0.01, "corr": 0.01}  # every other metric is a percentage: 1 point
DEFAULT_MIN_EFFECT = MappingProxyType({name: _SCALE_UNITS.get(name, 1.0) for name in METRIC_NAMES})

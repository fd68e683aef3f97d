"""One Optuna trial as one row of the trial table (mmrest.trial_table)."""
from __future__ import annotations

import math

from optuna.trial import FrozenTrial, TrialState

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.trial_table import DIAGNOSTIC_COLUMNS, ERROR_ATTR, METRIC_COLUMNS, OBJECTIVE, PLACEMENT_ATTRS, TIMING_ATTRS


def trial_row(stage: str, design: str, t: FrozenTrial) -> dict:
    attrs = t.user_attrs
    complete = t.state == TrialState.COMPLETE
    return {
        "stage": stage,
        "number": t.number,
        "key": attrs.get("key", ""),
        "state": t.state.name,
        "design": attrs.get("design", design),
        "varied": attrs.get("varied", ""),
        "seed": attrs.get("seed", -1),
        **{name: t.params.get(name, math.nan) for name in STUDY_HYPERPARAMETERS},
        OBJECTIVE: t.value if complete and t.value is not None else math.nan,
        **{col: float(attrs.get(col, math.nan)) for col in (*METRIC_COLUMNS, *DIAGNOSTIC_COLUMNS, *TIMING_ATTRS)},
        "best_epoch": attrs.get("best_epoch", -1),
        "params": attrs.get("params", -1),
        "seconds": attrs.get("seconds", math.nan),
        **{name: attrs.get(name, "") for name in PLACEMENT_ATTRS},
        ERROR_ATTR: attrs.get(ERROR_ATTR, ""),
        "log": attrs.get("log", ""),
    }

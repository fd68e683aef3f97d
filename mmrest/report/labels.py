"""How the report names and colours things: metrics, hyperparameters, splits, stages, verdicts."""
from __future__ import annotations

from mmrest.stats import DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED

METRIC_LABELS = {
    "mae": "MAE", "corr": "Corr", "acc7": "Acc-7", "acc5": "Acc-5", "acc3": "Acc-3",
    "acc2_has0": "Acc-2 has-0", "f1_has0": "F1 has-0", "acc2_non0": "Acc-2 non-0", "f1_non0": "F1 non-0",
}
PARAM_LABELS = {"k": "k", "v1": "v₁", "v2": "v₂", "xi": "ξ", "alpha": "α", "gamma": "γ", "eta": "η",
                "kmeans_mode": "k-means (0 warm, 1 restart)"}
SPLIT_LABELS = {"valid": "Validation", "test": "Test"}
FIG4_COLOURS = {"acc5": "#1f77b4", "acc7": "#d62728"}
STAGE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
STAGE_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x")
PAPER_COLOUR, CHOSEN_COLOUR = "#7f7f7f", "#2ca02c"
VERDICT_COLOURS = {DIFFERS: "#d62728", NO_PRACTICAL_DIFFERENCE: "#2ca02c", UNDECIDED: "#7f7f7f"}


def param_label(param: str) -> str:
    label = PARAM_LABELS[param]
    return label if label == param else f"{label} ({param})"

"""The regression metrics every multimodal sentiment paper reports, computed the standard way.

Accuracies and F1 are in percent, as papers print them. Class rounding uses numpy's round
(half to even), as the MMSA toolkit does, after clipping prediction and label to the class
range. Acc-2 comes in the two conventions papers mix up: "has-0" (negative < 0 <= positive, all
samples) and "non-0" (samples labelled exactly 0 dropped, positive > 0).
"""
from __future__ import annotations

import numpy as np

METRIC_NAMES = (
    "mae", "corr", "acc7", "acc5", "acc3", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0",
)
# Direction of improvement, used by studies and reports to rank values.
HIGHER_IS_BETTER = {name: name != "mae" for name in METRIC_NAMES}


def _class_accuracy(pred: np.ndarray, label: np.ndarray, bound: float) -> float:
    pred_cls = np.round(np.clip(pred, -bound, bound))
    label_cls = np.round(np.clip(label, -bound, bound))
    return 100.0 * float(np.mean(pred_cls == label_cls))


def _binary(pred_pos: np.ndarray, label_pos: np.ndarray) -> tuple[float, float]:
    if label_pos.size == 0:
        return float("nan"), float("nan")
    # Imported here: `import mmrest` (every CLI call) should not pay about a second for sklearn.
    from sklearn.metrics import f1_score

    acc = 100.0 * float(np.mean(pred_pos == label_pos))
    f1 = 100.0 * float(f1_score(label_pos, pred_pos, average="weighted", zero_division=0))
    return acc, f1


def pearson(pred: np.ndarray, label: np.ndarray) -> float:
    """Pearson correlation; 0.0 when either side is constant (no linear information)."""
    pc, lc = pred - pred.mean(), label - label.mean()
    denom = np.sqrt(np.sum(pc * pc) * np.sum(lc * lc))
    return float(np.sum(pc * lc) / denom) if denom > 0 else 0.0


def msa_metrics(pred, label) -> dict[str, float]:
    """All nine metrics of `METRIC_NAMES` for predictions and labels of shape (N,)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    label = np.asarray(label, dtype=np.float64).reshape(-1)
    if pred.shape != label.shape or pred.size == 0:
        raise ValueError(f"need equally long, non-empty pred and label; got {pred.shape} and {label.shape}")
    acc2_has0, f1_has0 = _binary(pred >= 0, label >= 0)
    nonzero = label != 0
    acc2_non0, f1_non0 = _binary(pred[nonzero] > 0, label[nonzero] > 0)
    return {
        "mae": float(np.mean(np.abs(pred - label))),
        "corr": pearson(pred, label),
        "acc7": _class_accuracy(pred, label, 3.0),
        "acc5": _class_accuracy(pred, label, 2.0),
        "acc3": _class_accuracy(pred, label, 1.0),
        "acc2_has0": acc2_has0,
        "f1_has0": f1_has0,
        "acc2_non0": acc2_non0,
        "f1_non0": f1_non0,
    }

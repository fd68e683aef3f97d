"""The floor a trained model must beat: a mean predictor and ridge regressions on the dataset's
frozen features, computed once per dataset with scikit-learn.

Each ridge sees every sample as one vector: the text vector pooled as the trainer pools it, and
the acoustic and visual sequences each averaged over their real steps. Features are
standardised with statistics of the training split; the ridge is fitted on train, its
regularisation is the grid value with the lowest validation MAE (the smaller value on a tie), and
valid and test are scored with the trials' metrics. Test plays no part in any choice.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmrest.data.dataset import MODALITIES, MSADataset, Split
from mmrest.data.pooling import pooled_text
from mmrest.metrics import msa_metrics

# Half-decade steps: wide enough for standardised features from a few to a few thousand columns.
ALPHAS = tuple(float(a) for a in 10.0 ** np.arange(-2.0, 5.01, 0.5))

MEAN = "mean predictor"
RIDGE_ALL = "ridge, all real modalities"
RIDGE_TEXT = "ridge, text only"


@dataclass(frozen=True)
class FloorEntry:
    name: str
    modalities: tuple[str, ...]  # whose features it saw; () for the mean predictor
    alpha: float | None  # the chosen regularisation; None for the mean predictor
    valid: dict[str, float]  # mmrest.metrics.METRIC_NAMES -> value
    test: dict[str, float]


@dataclass(frozen=True)
class Floor:
    text_pooling: str
    alphas: tuple[float, ...]  # the grid the regularisation was chosen from
    entries: tuple[FloorEntry, ...]
    missing: dict[str, str] = field(default_factory=dict)  # entry name -> why it is absent

    def entry(self, name: str) -> FloorEntry | None:
        return next((e for e in self.entries if e.name == name), None)


def compute_floor(data: MSADataset, *, text_pooling: str) -> Floor:
    """The mean predictor, the ridge on every real modality and the ridge on text alone."""
    if text_pooling not in ("cls", "mean"):
        raise ValueError(f"text_pooling must be 'cls' or 'mean', got {text_pooling!r}")
    real = tuple(
        m for m in MODALITIES
        if m not in data.absent_modalities and (m != "text" or data.train.text is not None)
    )
    entries, missing = [_mean_predictor(data)], {}
    if real:
        entries.append(_ridge(data, RIDGE_ALL, real, text_pooling))
    else:
        missing[RIDGE_ALL] = "no real modality has features in the file"
    if "text" in real:
        entries.append(_ridge(data, RIDGE_TEXT, ("text",), text_pooling))
    elif "text" in data.absent_modalities:
        missing[RIDGE_TEXT] = "the dataset records text as absent"
    else:
        missing[RIDGE_TEXT] = "the file has no pre-extracted text features (key 'text')"
    return Floor(text_pooling, ALPHAS, tuple(entries), missing)


def _mean_predictor(data: MSADataset) -> FloorEntry:
    mean = float(np.mean(data.train.labels, dtype=np.float64))
    return FloorEntry(
        MEAN, (), None,
        msa_metrics(np.full(len(data.valid), mean), data.valid.labels),
        msa_metrics(np.full(len(data.test), mean), data.test.labels),
    )


def _ridge(data: MSADataset, name: str, modalities: tuple[str, ...], text_pooling: str) -> FloorEntry:
    from sklearn.linear_model import Ridge  # sklearn costs a second to import; only here
    from sklearn.preprocessing import StandardScaler

    x = {s: _features(data.split(s), modalities, text_pooling=text_pooling) for s in ("train", "valid", "test")}
    scaler = StandardScaler().fit(x["train"])
    x = {s: scaler.transform(v) for s, v in x.items()}
    y_train = data.train.labels.astype(np.float64)
    fits = [Ridge(alpha=alpha).fit(x["train"], y_train) for alpha in ALPHAS]
    valid_mae = [np.mean(np.abs(f.predict(x["valid"]) - data.valid.labels)) for f in fits]
    best = int(np.argmin(valid_mae))  # the first, i.e. smallest, alpha on a tie
    return FloorEntry(
        name, modalities, ALPHAS[best],
        msa_metrics(fits[best].predict(x["valid"]), data.valid.labels),
        msa_metrics(fits[best].predict(x["test"]), data.test.labels),
    )


def _features(split: Split, modalities: tuple[str, ...], *, text_pooling: str) -> np.ndarray:
    """(N, d) float64: the chosen modalities' vectors side by side, in the order given."""
    parts = []
    for modality in modalities:
        if modality == "text":
            parts.append(pooled_text(split, text_pooling))
        else:
            parts.append(_mean_over_real_steps(getattr(split, modality), getattr(split, f"{modality}_lengths")))
    return np.concatenate(parts, axis=1).astype(np.float64)


def _mean_over_real_steps(steps: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    real = (np.arange(steps.shape[1])[None, :] < lengths[:, None]).astype(np.float64)
    return (steps * real[:, :, None]).sum(1) / np.maximum(real.sum(1), 1.0)[:, None]

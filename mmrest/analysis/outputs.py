"""What one trained model left for the analyses: the trainer's `test_outputs.npz`, read and checked."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmrest.errors import InputError

OUTPUTS_FILE = "test_outputs.npz"  # the name mmrest.training.trainer writes
KEYS = ("ids", "labels", "pred", "z", "M0", "dM", "centers", "active")
# Names the modalities of z's rows; files written before z left absent modalities out lack it.
MODALITIES_KEY = "modalities"


@dataclass(frozen=True)
class ModelOutputs:
    """Test predictions and features at the selected epoch, and the learned metric state."""

    ids: tuple[str, ...]
    labels: np.ndarray  # (N,)
    pred: np.ndarray  # (N,)
    z: np.ndarray  # (N, P, d1): each sample's row of every present modality (text, visual, acoustic)
    M0: np.ndarray  # (d1, d1)
    dM: np.ndarray  # (k, d1, d1)
    centers: np.ndarray  # (k, d1)
    active: np.ndarray  # (k,) bool: clusters non-empty in the epoch's state, which evaluation used


def load_outputs(path: str | Path) -> ModelOutputs:
    """Read a `test_outputs.npz`; InputError names the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing; the trial that should have written it did not finish")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise InputError(f"{path}: lacks {', '.join(missing)}; it was not written by mmrest's trainer")
            arrays = {k: data[k] for k in KEYS}
            modalities = data[MODALITIES_KEY] if MODALITIES_KEY in data.files else None
    except (OSError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{path}: not a readable .npz file ({err}); retrain the trial") from None
    outputs = ModelOutputs(ids=tuple(str(i) for i in arrays.pop("ids")), **arrays)
    _check_shapes(outputs, path, n_modalities=3 if modalities is None else len(modalities))
    return outputs


def _check_shapes(o: ModelOutputs, path: Path, *, n_modalities: int) -> None:
    n = len(o.ids)
    k = o.active.shape[0] if o.active.ndim == 1 else -1
    d = o.M0.shape[0] if o.M0.ndim == 2 else -1
    expected = {
        "labels": (o.labels.shape, (n,)), "pred": (o.pred.shape, (n,)), "z": (o.z.shape, (n, n_modalities, d)),
        "M0": (o.M0.shape, (d, d)), "dM": (o.dM.shape, (k, d, d)), "centers": (o.centers.shape, (k, d)),
    }
    wrong = [f"{key} has shape {got}, expected {want}" for key, (got, want) in expected.items() if got != want]
    if wrong or n == 0 or k < 1 or d < 1 or not 1 <= n_modalities <= 3:
        raise InputError(f"{path}: inconsistent arrays ({'; '.join(wrong) or 'empty'}); retrain the trial")

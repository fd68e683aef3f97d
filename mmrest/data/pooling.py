"""The sentence vector h_t from frozen token states, for the trainer's frozen-feature path and the
study floor's ridge alike (numpy only: the driver computes the floor without torch)."""
from __future__ import annotations

import numpy as np

from mmrest.data.dataset import Split


def pooled_text(split: Split, pooling: str) -> np.ndarray:
    """The sentence vector h_t from frozen token states: the first token, or a masked mean."""
    if pooling == "cls":
        return split.text[:, 0, :]
    if split.text_bert is not None:
        mask = split.text_bert[:, 1, :].astype(np.float32)
    else:
        mask = (np.abs(split.text).sum(-1) > 0).astype(np.float32)
    mask = mask[:, : split.text.shape[1], None]
    return (split.text * mask).sum(1) / np.maximum(mask.sum(1), 1.0)

"""The seven sentiment classes of spec section 2.1: the one rule that the MMC loss (pairs), the
data summary (histogram) and the variance analysis (Table 6 groups) use.

    [-3, -2.5] -> 0, (-2.5, -1.5] -> 1, (-1.5, -0.5] -> 2, (-0.5, 0.5) -> 3,
    [0.5, 1.5) -> 4, [1.5, 2.5) -> 5, [2.5, 3] -> 6; beyond +-3 counts as the end classes.

(Acc-7 is another thing: the metric rounds the clipped value half to even, as MMSA does;
`mmrest.metrics` owns that.)
"""
from __future__ import annotations

import numpy as np

N_CLASSES = 7
CLASS_NAMES = ("[-3,-2.5]", "(-2.5,-1.5]", "(-1.5,-0.5]", "(-0.5,0.5)", "[0.5,1.5)", "[1.5,2.5)", "[2.5,3]")


def label_bins(labels):
    """Class 0..6 of each label: a long tensor on the labels' device for a torch tensor (no host
    sync), an int64 array for anything else numpy reads.

    The classes are symmetric in |y|: each side closes its classes on the end away from zero, so
    the class is 3 + sign(y) * (number of edges 0.5, 1.5, 2.5 that are <= |y|).
    """
    import torch

    if not isinstance(labels, torch.Tensor):
        return label_bins(torch.from_numpy(np.asarray(labels, dtype=np.float64))).numpy()
    y = labels.detach()
    edges = torch.arange(3, dtype=y.dtype, device=y.device) + 0.5  # made on the device: no copy
    return 3 + torch.sign(y).long() * torch.bucketize(y.abs(), edges, right=True)

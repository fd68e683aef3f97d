"""The one seven-class label rule (spec 2.1), for torch tensors and numpy arrays alike."""
import numpy as np
import torch
from label_oracle import oracle_bin

from mmrest.labels import CLASS_NAMES, N_CLASSES, label_bins


EDGES = [-3.0, -2.5, -2.4, -1.5, -1.0, -0.5, -0.4, 0.0, 0.4, 0.5, 1.0, 1.5, 2.4, 2.5, 3.0]


def test_the_edges_follow_the_spec():
    assert label_bins(np.array(EDGES)).tolist() == [oracle_bin(v) for v in EDGES]
    assert label_bins(np.array(EDGES)).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 6]


def test_tensor_and_array_give_the_same_classes_on_a_dense_grid():
    y = np.linspace(-3.5, 3.5, 7001)
    from_array = label_bins(y)
    from_tensor = label_bins(torch.from_numpy(y).float())
    assert from_array.dtype == np.int64 and from_tensor.dtype == torch.long
    assert from_array.tolist() == from_tensor.tolist() == [oracle_bin(v) for v in y.tolist()]
    assert set(from_array.tolist()) == set(range(N_CLASSES)) and len(CLASS_NAMES) == N_CLASSES

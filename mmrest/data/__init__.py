"""Datasets: readers for the distributed formats, the synthetic generator, real-text preparation."""
from mmrest.data.dataset import MODALITIES, SPLITS, MSADataset, Split

__all__ = ["MODALITIES", "SPLITS", "MSADataset", "Split"]

"""The dataset a study trains on, as its spec names it."""
from __future__ import annotations

from pathlib import Path

from mmrest.data.dataset import MSADataset
from mmrest.data.readers import load_dataset
from mmrest.data.synthetic import synthetic_dataset
from mmrest.study.spec import DatasetSpec


def load_study_dataset(spec: DatasetSpec, cache_dir: Path) -> MSADataset:
    """A dataset file, or the synthetic generator's output cached under `cache_dir`."""
    if spec.synthetic is not None:
        return synthetic_dataset(spec.synthetic, seed=spec.seed or 0, cache_dir=cache_dir, **(spec.sizes or {}))
    return load_dataset(spec.path, spec.labels)


def describe(spec: DatasetSpec) -> str:
    if spec.synthetic is not None:
        sizes = ", ".join(f"{k}={v}" for k, v in (spec.sizes or {}).items())
        return f"synthetic {spec.synthetic} (seed {spec.seed or 0}{'; ' + sizes if sizes else ''})"
    return spec.path + (f" with labels {spec.labels}" if spec.labels else "")

"""A hand-made `Analysis` for the report's analysis sections: three variants, two seeds (one run of
the w/o L_MMC variant failed), outputs small enough to reason about."""
from __future__ import annotations

import numpy as np

from mmrest.analysis.outputs import ModelOutputs
from mmrest.analysis.summary import Analysis, CaseOptions, Run, compute_analysis
from mmrest.analysis.variants import FULL, NO_BIAS, NO_MMC

N = 30
LABELS = np.round(np.random.default_rng(0).uniform(-3, 3, N), 1)
TEXTS = {f"clip{i}": f"clip {i} says <b>{'great' if LABELS[i] > 0 else 'bad'}</b> things" for i in range(N)}


def outputs(seed: int, *, noise: float, clusters: bool, d: int = 4, k: int = 3) -> ModelOutputs:
    rng = np.random.default_rng(seed)
    return ModelOutputs(
        ids=tuple(f"clip{i}" for i in range(N)), labels=LABELS, pred=LABELS + rng.normal(0, noise, N),
        z=rng.normal(size=(N, 3, d)) + LABELS[:, None, None], M0=np.eye(d) * 1.5,
        dM=np.stack([np.eye(d) * (i + 1) for i in range(k)]), centers=np.linspace(-3, 3, k)[:, None] * np.ones((k, d)),
        active=np.array([clusters, clusters, clusters]),
    )


def hand_analysis(config: dict[str, float]) -> Analysis:
    runs = [
        Run(FULL, 1, outputs(1, noise=0.30, clusters=True)), Run(FULL, 2, outputs(2, noise=0.32, clusters=True)),
        Run(NO_BIAS, 1, outputs(3, noise=0.60, clusters=True)), Run(NO_BIAS, 2, outputs(4, noise=0.62, clusters=True)),
        Run(NO_MMC, 2, outputs(5, noise=1.5, clusters=False)),
    ]
    return compute_analysis(runs, study="hand", config=config, config_source="the report's choice (rule mean_rank)",
                            beta=0.01, seeds=(1, 2), texts=TEXTS, cases=CaseOptions(2, 2, 1, 0))

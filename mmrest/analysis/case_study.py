"""Table 7: per-sample predictions of every variant for a seeded choice of test samples.

Choice. Each variant's prediction of a sample is its mean over the variant's seeds (the std over
seeds is kept beside it); a sample's error is |mean prediction - label|. The samples shown are the
full model's `largest` largest errors (largest first), then its `smallest` smallest errors
(smallest first), then `random` drawn uniformly without replacement from the rest by
numpy's default_rng(seed). Ties in the error go to the sample that comes first in the test set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmrest.analysis.stats import Stat, stat

LARGEST, SMALLEST, RANDOM = "largest error", "smallest error", "random"


@dataclass(frozen=True)
class Predictions:
    """One trained model's test predictions."""

    ids: tuple[str, ...]
    labels: np.ndarray  # (N,)
    pred: np.ndarray  # (N,)


@dataclass(frozen=True)
class CasePrediction:
    variant: str
    prediction: Stat  # over the variant's seeds
    error: float  # |mean prediction - label|


@dataclass(frozen=True)
class Case:
    id: str
    why: str  # largest error | smallest error | random
    label: float
    text: str | None  # the raw transcript, where the data has one
    predictions: tuple[CasePrediction, ...]  # variants in the given order


@dataclass(frozen=True)
class CaseStudy:
    reference: str
    seed: int
    largest: int
    smallest: int
    random: int
    samples: int  # test samples to choose from
    cases: tuple[Case, ...]


def case_study(
    runs: dict[str, list[Predictions]], *, reference: str, texts: dict[str, str] | None = None,
    largest: int = 2, smallest: int = 2, random: int = 2, seed: int = 0,
) -> CaseStudy:
    """The chosen samples (see the module docstring) with every variant's prediction. All runs
    must cover the same test samples with the same labels; `runs[reference]` must be non-empty."""
    if min(largest, smallest, random) < 0:
        raise ValueError("largest, smallest and random must be >= 0")
    if not runs.get(reference):
        raise ValueError(f"the reference variant {reference!r} has no trained model")
    ids, labels = runs[reference][0].ids, np.asarray(runs[reference][0].labels, dtype=np.float64)
    position = {sample: i for i, sample in enumerate(ids)}
    preds = {name: np.stack([_aligned(r, position, labels) for r in rs]) for name, rs in runs.items() if rs}
    error = np.abs(preds[reference].mean(axis=0) - labels)
    chosen = _choose(error, largest, smallest, random, seed)
    cases = tuple(
        Case(
            id=ids[i], why=why, label=float(labels[i]), text=(texts or {}).get(ids[i]),
            predictions=tuple(
                CasePrediction(name, stat(p[:, i]), float(abs(p[:, i].mean() - labels[i])))
                for name, p in preds.items()
            ),
        )
        for i, why in chosen
    )
    return CaseStudy(reference, seed, largest, smallest, random, len(ids), cases)


def _choose(error: np.ndarray, largest: int, smallest: int, random: int, seed: int) -> list[tuple[int, str]]:
    # A stable sort keeps test-set order among equal errors.
    ascending = np.argsort(error, kind="stable")
    descending = np.argsort(-error, kind="stable")
    chosen = [(int(i), LARGEST) for i in descending[:largest]]
    taken = {i for i, _ in chosen}
    small = [int(i) for i in ascending if int(i) not in taken][:smallest]
    chosen += [(i, SMALLEST) for i in small]
    taken |= set(small)
    rest = np.array([i for i in range(len(error)) if i not in taken], dtype=int)
    drawn = np.random.default_rng(seed).choice(rest, size=min(random, rest.size), replace=False)
    return chosen + [(int(i), RANDOM) for i in drawn]


def _aligned(run: Predictions, position: dict[str, int], labels: np.ndarray) -> np.ndarray:
    """`run.pred` in the reference's sample order; refuses other samples or other labels."""
    if len(run.ids) != len(position) or set(run.ids) != set(position):
        raise ValueError("the runs cover different test samples; they must come from one dataset")
    order = np.array([position[i] for i in run.ids])
    pred = np.empty(len(order))
    pred[order] = np.asarray(run.pred, dtype=np.float64)
    theirs = np.empty(len(order))
    theirs[order] = np.asarray(run.labels, dtype=np.float64)
    if not np.array_equal(theirs, labels):
        raise ValueError("the runs give the same test samples different labels")
    return pred

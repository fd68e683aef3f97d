"""Table 6: total, between-group and within-group variance of the test set's metric features.

Points. x_1..x_n are the rows of the test set's metric features z (spec section 1): each sample
gives one row per present modality (text, visual, acoustic; an absent modality's placeholder row
is left out of z, spec 1), so n = 3N with all three, and every row carries its sample's label.

One metric. Groups g partition the rows; group g has n_g rows and centroid c_g (the mean of its
rows); c is the mean of all rows. With a PSD matrix M and d(a, b) = (a - b)^T M (a - b):

    total   = (1/n) sum_i d(x_i, c)
    between = (1/n) sum_g n_g d(c_g, c)
    within  = (1/n) sum_g sum_{i in g} d(x_i, c_g)

total = between + within exactly: writing x_i - c = (x_i - c_g) + (c_g - c), the cross terms of a
group sum to (c_g - c)^T (M + M^T) sum_{i in g} (x_i - c_g), and that sum is 0.

One metric per group. When group g measures with its own M_g (d_g), every quantity of group g,
its share of the total included, is measured with M_g:

    total   = (1/n) sum_g sum_{i in g} d_g(x_i, c)
    between = (1/n) sum_g n_g d_g(c_g, c)
    within  = (1/n) sum_g sum_{i in g} d_g(x_i, c_g)

The argument above holds inside each group with its own M_g, so total = between + within still
holds exactly. c stays the plain mean of all rows. This total depends on the grouping (a row is
measured with its group's metric); with one shared metric it does not.

The three settings of Table 6:

    (a) `local`: groups are the learned clusters, each row going to the nearest center that was
        non-empty in the epoch's state under that cluster's metric sym(M0) + dM_k + beta I, as
        PDLF assigns rows (spec 4); group g measures with M_g = sym(M0) + sym(dM_g) + beta I,
        the metric cluster g trains with (spec 2.4).
    (b) `global`: the same groups as (a), every group measured with sym(M0) alone, so (a) and (b)
        differ only in the local offsets (and the ridge beta I that comes with them).
    (c) `euclidean`: groups are the 7 label bins of spec 2.1, metric the identity.

The centroids c_g are means of the test rows, not the learned centers (those come from the last
training batch's k-means); with the learned centers the identity would not hold. A model that
never ran MMC (the "w/o L_MMC, w/o bias" variant: eta = 0 and gamma = 0) has no clusters to group
by, and its M0 and dM are still the identity they were initialised to; (a) and (b) do not apply
to it and say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mmrest.analysis.stats import Paired, Stat, paired_family, stat
from mmrest.labels import label_bins

LOCAL, GLOBAL, EUCLIDEAN = "local", "global", "euclidean"
SETTINGS = (LOCAL, GLOBAL, EUCLIDEAN)
SETTING_LABELS = {
    LOCAL: "MM (w/ M0, w/ ΔM_i): learned clusters, M0 + ΔM_g + βI per cluster",
    GLOBAL: "MM (w/ M0, w/o ΔM_i): learned clusters, M0 alone",
    EUCLIDEAN: "SM (Euclidean): 7 label bins, identity metric",
}
NO_CLUSTERS = (
    "not applicable: this model never ran MMC (eta = 0 and gamma = 0), so it has no learned "
    "clusters to group by and its M0 and ΔM are still the identity they were initialised to"
)


@dataclass(frozen=True)
class Decomposition:
    total: float
    between: float
    within: float
    groups: int  # non-empty groups
    rows: int


@dataclass(frozen=True)
class SettingVariance:
    """One setting of Table 6 for one trained model."""

    setting: str
    decomposition: Decomposition | None  # None when the setting does not apply
    reason: str = ""  # why it does not apply


@dataclass(frozen=True)
class VarianceRow:
    """One line of Table 6: a variant under a setting, mean and std over the seeds where it applies."""

    variant: str
    setting: str
    total: Stat | None  # None when the setting applies to none of the variant's seeds
    between: Stat | None
    within: Stat | None
    groups: Stat | None
    reason: str = ""  # why it does not apply (to some or all seeds)
    # Against the full model, seed by seed, per component (total, between, within); empty for the
    # full model itself and where the setting does not apply.
    paired: dict[str, Paired] = field(default_factory=dict)


def decompose(x: np.ndarray, groups: np.ndarray, metric: np.ndarray) -> Decomposition:
    """Total, between and within variance of the rows of `x` (n, d) grouped by `groups` (n,) int.

    `metric` is one (d, d) matrix shared by all groups, or (G, d, d) with metric[g] for the
    group labelled g (see the module docstring for both definitions)."""
    x = np.asarray(x, dtype=np.float64)
    groups = np.asarray(groups)
    metric = np.asarray(metric, dtype=np.float64)
    if x.ndim != 2 or groups.shape != (x.shape[0],) or x.shape[0] == 0:
        raise ValueError(f"need x (n, d) with n > 0 and groups (n,); got {x.shape} and {groups.shape}")
    d = x.shape[1]
    if metric.shape[-2:] != (d, d) or metric.ndim not in (2, 3):
        raise ValueError(f"metric must be ({d}, {d}) or (G, {d}, {d}); got {metric.shape}")
    labels, inverse = np.unique(groups, return_inverse=True)
    if metric.ndim == 3 and (labels.min() < 0 or labels.max() >= metric.shape[0]):
        raise ValueError(f"group labels {labels.tolist()} do not index {metric.shape[0]} metrics")
    c = x.mean(axis=0)
    total = between = within = 0.0
    for j, label in enumerate(labels):
        rows = x[inverse == j]
        m = metric if metric.ndim == 2 else metric[label]
        c_g = rows.mean(axis=0)
        total += float(_quad(rows - c, m).sum())
        between += len(rows) * float(_quad((c_g - c)[None], m)[0])
        within += float(_quad(rows - c_g, m).sum())
    n = x.shape[0]
    return Decomposition(total / n, between / n, within / n, groups=len(labels), rows=n)


def nearest_center(
    x: np.ndarray, M0: np.ndarray, dM: np.ndarray, centers: np.ndarray, active: np.ndarray, beta: float,
) -> np.ndarray:
    """Index of each row's nearest active center, each center measuring with its own metric
    sym(M0) + dM_k + beta I (PDLF's assignment, spec 4). Needs an active center."""
    active = np.asarray(active, dtype=bool)
    if not active.any():
        raise ValueError("no active cluster: the model has no cluster state")
    local = _local_metrics(M0, dM, beta)
    diff = np.asarray(x, np.float64)[:, None, :] - np.asarray(centers, np.float64)[None]
    dist = np.einsum("nkd,kde,nke->nk", diff, local, diff, optimize=True)
    dist[:, ~active] = np.inf
    return np.argmin(dist, axis=1)


def variance_settings(
    z: np.ndarray, labels: np.ndarray, *, M0: np.ndarray, dM: np.ndarray, centers: np.ndarray,
    active: np.ndarray, beta: float,
) -> tuple[SettingVariance, ...]:
    """Settings (a), (b), (c) of the module docstring for one model's test outputs: z (N, P, d1),
    labels (N,), the learned metrics, the centers and which clusters were non-empty."""
    z = np.asarray(z, dtype=np.float64)
    x = z.reshape(-1, z.shape[-1])
    row_labels = np.repeat(np.asarray(labels, dtype=np.float64), z.shape[1])
    euclidean = SettingVariance(EUCLIDEAN, decompose(x, label_bins(row_labels), np.eye(x.shape[1])))
    if not np.asarray(active, dtype=bool).any():
        return (SettingVariance(LOCAL, None, NO_CLUSTERS), SettingVariance(GLOBAL, None, NO_CLUSTERS), euclidean)
    clusters = nearest_center(x, M0, dM, centers, active, beta)
    m0 = _sym(np.asarray(M0, np.float64))
    return (
        SettingVariance(LOCAL, decompose(x, clusters, _local_metrics(M0, dM, beta))),
        SettingVariance(GLOBAL, decompose(x, clusters, m0)),
        euclidean,
    )


def _local_metrics(M0: np.ndarray, dM: np.ndarray, beta: float) -> np.ndarray:
    dM = np.asarray(dM, np.float64)
    eye = np.eye(dM.shape[-1])
    return _sym(np.asarray(M0, np.float64))[None] + _sym(dM) + beta * eye


def _sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def _quad(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.einsum("nd,de,ne->n", v, m, v, optimize=True)


COMPONENTS = ("total", "between", "within")


def variance_table(per_variant: dict[str, dict[int, tuple[SettingVariance, ...]]], *,
                   reference: str) -> tuple[VarianceRow, ...]:
    """Table 6 rows, variants in the given order and settings in (a), (b), (c) order, from each
    variant's per-seed `variance_settings` results (seed -> results). Each variant's components are
    compared with the `reference` variant's seed by seed; per component, the table's comparisons
    form one family. Variance components have no minimum effect: the verdict is differs or undecided."""
    rows = _summaries({name: list(seeds.values()) for name, seeds in per_variant.items()})
    if reference not in per_variant:
        return rows
    keys = [(r.variant, r.setting) for r in rows if r.variant != reference and r.total is not None]
    judged = {}
    for component in COMPONENTS:
        pairs = [(_by_seed(per_variant[v], s, component), _by_seed(per_variant[reference], s, component))
                 for v, s in keys]
        judged[component] = dict(zip(keys, paired_family(pairs, min_effect=0.0)))
    return tuple(replace(r, paired={c: judged[c][(r.variant, r.setting)] for c in COMPONENTS})
                 if (r.variant, r.setting) in judged["total"] else r for r in rows)


def _by_seed(seeds: dict[int, tuple[SettingVariance, ...]], setting: str, component: str) -> dict[int, float]:
    return {seed: getattr(s.decomposition, component) for seed, per_seed in seeds.items() for s in per_seed
            if s.setting == setting and s.decomposition is not None}


def _summaries(per_variant: dict[str, list[tuple[SettingVariance, ...]]]) -> tuple[VarianceRow, ...]:
    rows = []
    for name, seeds in per_variant.items():
        for setting in SETTINGS:
            found = [s for per_seed in seeds for s in per_seed if s.setting == setting]
            done = [s.decomposition for s in found if s.decomposition is not None]
            reasons = sorted({s.reason for s in found if s.decomposition is None})
            reason = "; ".join(reasons)
            if done and reasons:
                reason = f"{len(found) - len(done)} of {len(found)} seeds left out: {reason}"
            if not done:
                rows.append(VarianceRow(name, setting, None, None, None, None, reason or "no trained model"))
                continue
            rows.append(VarianceRow(
                name, setting,
                total=stat(d.total for d in done), between=stat(d.between for d in done),
                within=stat(d.within for d in done), groups=stat(d.groups for d in done), reason=reason,
            ))
    return tuple(rows)

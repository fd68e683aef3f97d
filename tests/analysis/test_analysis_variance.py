"""Table 6: the decomposition on hand-made points (values computed by hand), the exact identity
total = between + within with one metric and with per-group metrics, a plain-loop oracle, the
PDLF-style cluster assignment and the label bins."""
import numpy as np
from scipy import stats
import pytest

from mmrest.analysis.variance import (
    EUCLIDEAN, GLOBAL, LOCAL, NO_CLUSTERS, decompose, nearest_center, variance_settings,
    variance_table,
)

# Group 0: (0,0), (2,0), centroid (1,0); group 1: (4,3), (4,5), centroid (4,4); overall (2.5, 2).
POINTS = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 3.0], [4.0, 5.0]])
GROUPS = np.array([0, 0, 1, 1])


def test_euclidean_by_hand():
    # total: (6.25+4 + 0.25+4 + 2.25+1 + 2.25+9) / 4; between: 2*6.25*2 / 4; within: 4*1 / 4.
    d = decompose(POINTS, GROUPS, np.eye(2))
    assert (d.total, d.between, d.within) == (7.25, 6.25, 1.0)
    assert (d.groups, d.rows) == (2, 4)


def test_one_weighted_metric_by_hand():
    # M = diag(2, 1): total (16.5 + 4.5 + 5.5 + 13.5) / 4, between 2*8.5*2 / 4, within (2+2+1+1) / 4.
    d = decompose(POINTS, GROUPS, np.diag([2.0, 1.0]))
    assert (d.total, d.between, d.within) == (10.0, 8.5, 1.5)


def test_per_group_metrics_by_hand_and_the_identity_holds():
    # Group 0 measures with diag(2, 1), group 1 with diag(1, 3).
    # total: (16.5 + 4.5 + 5.25 + 29.25) / 4; between: (2*8.5 + 2*14.25) / 4; within: (2+2+3+3) / 4.
    metrics = np.stack([np.diag([2.0, 1.0]), np.diag([1.0, 3.0])])
    d = decompose(POINTS, GROUPS, metrics)
    assert (d.total, d.between, d.within) == (13.875, 11.375, 2.5)
    assert d.total == d.between + d.within


def test_a_singleton_group_has_no_within_part_and_labels_need_not_be_contiguous():
    points = np.vstack([POINTS, [[10.0, 2.0]]])
    groups = np.array([5, 5, 2, 2, 9])
    metrics = np.zeros((10, 2, 2))
    metrics[5], metrics[2], metrics[9] = np.diag([2.0, 1.0]), np.diag([1.0, 3.0]), np.eye(2)
    d = decompose(points, groups, metrics)
    # Overall centroid (4, 2). Group 5: rows (-4,-2), (-2,-2) under diag(2,1): 36 + 12; centroid
    # (1,0)-(4,2) = (-3,-2): between 2*22, within 2+2. Group 2: rows (0,1), (0,3) under diag(1,3):
    # 3 + 27; centroid (0,2): between 2*12, within 3+3. Group 9: row (6,0): 36, between 36, within 0.
    assert d.total == pytest.approx((48 + 30 + 36) / 5)
    assert d.between == pytest.approx((44 + 24 + 36) / 5)
    assert d.within == pytest.approx((4 + 6) / 5)
    assert d.groups == 3


def _loop_oracle(x, groups, metrics):
    """The definitions written as plain loops over rows."""
    n, c = len(x), x.mean(axis=0)
    total = between = within = 0.0
    for g in sorted(set(groups.tolist())):
        m = metrics[g]
        members = [x[i] for i in range(n) if groups[i] == g]
        c_g = sum(members) / len(members)
        for row in members:
            total += (row - c) @ m @ (row - c)
            within += (row - c_g) @ m @ (row - c_g)
        between += len(members) * ((c_g - c) @ m @ (c_g - c))
    return total / n, between / n, within / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_points_match_the_loop_oracle_and_decompose_exactly(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 5)) * rng.uniform(0.1, 10, size=5)
    groups = rng.integers(0, 4, size=60)
    a = rng.normal(size=(4, 5, 5))
    metrics = a @ a.transpose(0, 2, 1) + rng.normal(size=(4, 5, 5))  # PSD part plus an antisymmetric-ish rest
    d = decompose(x, groups, metrics)
    assert (d.total, d.between, d.within) == pytest.approx(_loop_oracle(x, groups, metrics), rel=1e-12)
    assert d.total == pytest.approx(d.between + d.within, rel=1e-13)
    shared = decompose(x, groups, metrics[0])
    assert shared.total == pytest.approx(shared.between + shared.within, rel=1e-13)
    # With one metric the total does not depend on the grouping.
    assert shared.total == pytest.approx(decompose(x, np.zeros(60, int), metrics[0]).total, rel=1e-13)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="metric must be"):
        decompose(POINTS, GROUPS, np.eye(3))
    with pytest.raises(ValueError, match="do not index"):
        decompose(POINTS, np.array([0, 0, 1, 2]), np.stack([np.eye(2)] * 2))
    with pytest.raises(ValueError, match="need x"):
        decompose(POINTS, GROUPS[:3], np.eye(2))


def test_nearest_center_uses_each_clusters_own_metric_and_skips_inactive_ones():
    centers = np.array([[0.0, 0.0], [4.0, 0.0]])
    M0 = np.eye(2)
    dM = np.stack([np.zeros((2, 2)), 8 * np.eye(2)])  # cluster 1 measures with 9 I
    x = np.array([[2.9, 0.0], [3.5, 0.0], [-1.0, 0.0]])
    # (2.9, 0): 8.41 to center 0, 9 * 1.21 = 10.89 to center 1 -> 0, though Euclidean-nearer 1.
    # (3.5, 0): 12.25 vs 9 * 0.25 = 2.25 -> 1.
    assert nearest_center(x, M0, dM, centers, np.array([True, True]), beta=0.0).tolist() == [0, 1, 0]
    assert nearest_center(x, M0, dM, centers, np.array([False, True]), beta=0.0).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="no active cluster"):
        nearest_center(x, M0, dM, centers, np.array([False, False]), beta=0.0)


def _outputs(active):
    # Two samples, three rows each (text, visual, acoustic), 2-d features.
    z = np.array([[[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]], [[4.0, 3.0], [4.0, 5.0], [5.0, 4.0]]])
    labels = np.array([-2.0, 1.0])  # bins 1 and 4
    M0 = np.array([[2.0, 0.0], [0.0, 1.0]])
    dM = np.stack([np.zeros((2, 2)), np.diag([0.0, 2.0]), np.eye(2)])
    centers = np.array([[0.5, 0.5], [4.0, 4.0], [100.0, 100.0]])
    return dict(z=z, labels=labels, M0=M0, dM=dM, centers=centers, active=np.array(active), beta=0.5)


def test_the_three_settings_on_a_tiny_model():
    o = _outputs([True, True, False])
    local, glob, eucl = variance_settings(**o)
    x = o["z"].reshape(-1, 2)
    groups = np.array([0, 0, 0, 1, 1, 1])  # each sample's rows sit near one center; center 2 is inactive
    assert nearest_center(x, o["M0"], o["dM"], o["centers"], o["active"], 0.5).tolist() == groups.tolist()
    eye = np.eye(2)
    metrics = np.stack([o["M0"] + o["dM"][i] + 0.5 * eye for i in range(3)])
    assert local.setting == LOCAL and local.decomposition == decompose(x, groups, metrics)
    assert glob.setting == GLOBAL and glob.decomposition == decompose(x, groups, o["M0"])
    assert eucl.setting == EUCLIDEAN and eucl.decomposition == decompose(x, np.array([1, 1, 1, 4, 4, 4]), eye)
    for s in (local, glob, eucl):
        d = s.decomposition
        assert d.total == pytest.approx(d.between + d.within, rel=1e-13)


def test_a_model_without_clusters_gets_only_the_euclidean_setting_with_a_reason():
    local, glob, eucl = variance_settings(**_outputs([False, False, False]))
    assert local.decomposition is None and glob.decomposition is None
    assert local.reason == glob.reason == NO_CLUSTERS and "never ran MMC" in NO_CLUSTERS
    assert eucl.decomposition is not None


def test_table_averages_seeds_and_states_what_does_not_apply():
    with_clusters = variance_settings(**_outputs([True, True, False]))
    o = _outputs([True, True, False])
    o["z"] = 2 * o["z"]  # every variance scales by 4
    doubled = variance_settings(**o)
    without = variance_settings(**_outputs([False, False, False]))
    rows = variance_table({"full": {1: with_clusters, 2: doubled}, "no_mmc_no_bias": {1: without}}, reference="full")
    assert [(r.variant, r.setting) for r in rows] == [
        ("full", LOCAL), ("full", GLOBAL), ("full", EUCLIDEAN),
        ("no_mmc_no_bias", LOCAL), ("no_mmc_no_bias", GLOBAL), ("no_mmc_no_bias", EUCLIDEAN),
    ]
    t = with_clusters[0].decomposition.total
    assert rows[0].total.mean == pytest.approx(2.5 * t) and rows[0].total.n == 2
    assert rows[0].total.std == pytest.approx(np.std([t, 4 * t], ddof=1))
    assert rows[3].total is None and rows[3].reason == NO_CLUSTERS
    assert rows[5].total.n == 1 and rows[5].total.std is None and rows[5].reason == ""
    # The full model is the reference; the other variant is compared only where the setting applies.
    assert rows[0].paired == {} and rows[3].paired == {}
    assert set(rows[5].paired) == {"total", "between", "within"}


def test_variants_are_compared_with_the_full_model_seed_by_seed():
    base = _outputs([True, True, False])
    per_seed, scaled = {}, {}
    for seed, factor in ((1, 1.0), (2, 1.5), (3, 2.0)):
        o = dict(base, z=factor * base["z"])
        per_seed[seed] = variance_settings(**o)
        o["z"] = 1.1 * o["z"]  # the variant's variances are the full model's times 1.21, seed by seed
        scaled[seed] = variance_settings(**o)
    rows = variance_table({"full": per_seed, "no_bias": scaled}, reference="full")
    euclid = next(r for r in rows if (r.variant, r.setting) == ("no_bias", EUCLIDEAN))
    totals = np.array([per_seed[s][2].decomposition.total for s in (1, 2, 3)])
    diffs = 0.21 * totals
    paired = euclid.paired["total"]
    assert paired.seeds == 3 and paired.diff == pytest.approx(diffs.mean())
    half = stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / np.sqrt(3)
    assert (paired.ci_low, paired.ci_high) == (pytest.approx(diffs.mean() - half), pytest.approx(diffs.mean() + half))
    # No minimum effect for a variance: a comparison either differs or is undecided.
    assert paired.verdict in ("differs", "undecided")

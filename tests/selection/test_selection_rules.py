"""The choice rules on their own: ranks against a plain loop, scores by hand, tie-breaking."""
import numpy as np
import pytest

from mmrest.errors import InputError
from mmrest.metrics import METRIC_NAMES
from mmrest.selection.rules import MEAN_RANK, OBJECTIVE, RULES, average_ranks, get_rule, order


def _ranks_by_loop(values):
    """Oracle: rank = 1 + (number smaller) + (number equal - 1) / 2."""
    out = []
    for v in values:
        if np.isnan(v):
            out.append(np.nan)
            continue
        others = values[~np.isnan(values)]
        out.append(1 + np.sum(others < v) + (np.sum(others == v) - 1) / 2)
    return np.array(out)


def test_average_ranks_match_a_plain_loop():
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = rng.integers(0, 5, size=rng.integers(1, 12)).astype(float)
        values[rng.random(values.size) < 0.2] = np.nan
        np.testing.assert_array_equal(average_ranks(values), _ranks_by_loop(values))


def test_average_ranks_rank_each_column_apart():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 4, size=(7, 9)).astype(float)
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:, 4] = np.nan  # a metric no candidate has
    expected = np.column_stack([_ranks_by_loop(col) for col in values.T])
    np.testing.assert_array_equal(average_ranks(values), expected)


def test_mean_rank_scores_by_hand():
    # Two candidates; candidate 0 better on mae (lower) and acc7, candidate 1 on the other seven.
    means = np.array([[0.7, 0.5, 45, 40, 60, 80, 80, 80, 80], [0.8, 0.6, 44, 41, 61, 81, 81, 81, 81]], float)
    scores = MEAN_RANK.score(means, np.array([0.7, 0.8]), False)
    np.testing.assert_allclose(scores, [(1 + 2 + 1 + 2 * 6) / 9, (2 + 1 + 2 + 1 * 6) / 9])


def test_a_missing_metric_does_not_rank():
    means = np.array([[0.7] + [50.0] * 8, [0.8] + [np.nan] * 8])
    np.testing.assert_allclose(MEAN_RANK.score(means, np.zeros(2), False), [(1 + 1.0 * 8) / 9, 2.0])


def test_ties_go_to_the_smaller_spread_then_the_paper_then_the_smaller_values():
    means = np.full((4, len(METRIC_NAMES)), 50.0)  # every metric ties: every score equal
    objective = np.full(4, 0.7)
    stds = np.array([0.2, 0.1, 0.1, 0.1])
    configs = np.array([[0.5], [4.0], [2.0], [3.0]])
    ranked, scores = order(MEAN_RANK, means, objective, False, stds, configs, paper=np.array([3.0]))
    assert ranked.tolist() == [3, 2, 1, 0]  # steadier first; among equals the paper's 3.0; then 2 < 4
    assert len(set(scores.tolist())) == 1
    ranked, _ = order(MEAN_RANK, means, objective, False, stds, configs, paper=np.array([9.0]))
    assert ranked.tolist() == [2, 3, 1, 0]


def test_objective_rule_follows_the_direction():
    objective = np.array([0.8, 0.7, 0.9])
    stds, configs = np.zeros(3), np.array([[1.0], [2.0], [3.0]])
    means = np.zeros((3, len(METRIC_NAMES)))
    paper = np.array([1.0])  # the paper's value loses when it is not tied
    assert order(OBJECTIVE, means, objective, False, stds, configs, paper)[0].tolist() == [1, 0, 2]
    assert order(OBJECTIVE, means, objective, True, stds, configs, paper)[0].tolist() == [2, 0, 1]


def test_unknown_rule_names_the_flag_and_the_choices():
    assert get_rule("objective") is RULES["objective"]
    with pytest.raises(InputError, match="--rule: unknown rule 'borda'. Choose one of: mean_rank, objective"):
        get_rule("borda")

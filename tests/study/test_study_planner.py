"""The planner against hand-counted plans: every design, refine around the winner (linear,
log-spaced, integer, at an edge, with failed points), and stable unique keys."""
from __future__ import annotations

import math

import pytest

from mmrest.study.planner import (
    PointResult,
    base_point,
    between,
    plan_stage,
    refine_values,
)
from mmrest.study.recorder import stage_distributions
from mmrest.study.spec import validate_spec
from study_helpers import tiny_spec

MOSI = {"k": 7, "v1": 0.8, "v2": 1.0, "xi": 3.0, "alpha": 1.0, "gamma": 0.05, "eta": 0.01, "kmeans_mode": 0}


def _spec(stages, seeds=(1, 2, 3)):
    return validate_spec(tiny_spec("plan", stages=stages, seeds=list(seeds)), source="test.yaml")


def test_one_at_a_time_has_the_base_point_once():
    spec = _spec([{"name": "c", "design": "one_at_a_time", "params": {"k": [3, 5, 7, 9], "xi": [1, 3, 10]}}])
    plan = plan_stage(spec, spec.stages[0])
    # base + k 3, 5, 9 (7 is the base) + xi 1, 10 (3 is the base) = 6 points, 3 seeds each.
    assert len(plan) == 18
    assert [p.key for p in plan[:6]] == ["c/base/seed=1", "c/k=3/seed=1", "c/k=5/seed=1", "c/k=9/seed=1",
                                         "c/xi=1/seed=1", "c/xi=10/seed=1"]
    assert sum(p.varied == "base" for p in plan) == 3
    assert plan[0].point == MOSI
    assert plan[4].point == {**MOSI, "xi": 1.0} and plan[4].varied == "xi"
    assert len({p.key for p in plan}) == 18


def test_grid_is_the_full_product():
    spec = _spec([{"name": "g", "design": "grid", "params": {"k": [3, 5], "gamma": [0, 0.05, 0.5]}}], seeds=[7])
    plan = plan_stage(spec, spec.stages[0])
    assert len(plan) == 6
    assert {(p.point["k"], p.point["gamma"]) for p in plan} == {(k, g) for k in (3, 5) for g in (0, 0.05, 0.5)}
    assert "g/k=3,gamma=0.05/seed=7" in {p.key for p in plan}
    assert all(p.varied == "" and p.point["xi"] == 3.0 for p in plan)


def test_tpe_plans_n_trials_per_seed_without_points():
    spec = _spec([{"name": "t", "design": "tpe", "n_trials": 4,
                   "ranges": {"gamma": {"low": 0.001, "high": 1, "log": True}}}], seeds=[1, 2])
    plan = plan_stage(spec, spec.stages[0])
    assert len(plan) == 8
    assert [p.key for p in plan[:3]] == ["t/n=0/seed=1", "t/n=0/seed=2", "t/n=1/seed=1"]
    assert all(p.point is None for p in plan)
    dists = stage_distributions(spec, spec.stages[0], plan)
    assert dists["gamma"].log and dists["gamma"].low == 0.001
    assert dists["k"].low == dists["k"].high == 7  # not searched: the base value


def _axis(name, values, means, base=MOSI):
    """Seed-averaged results of a one_at_a_time axis (the base point is added by the caller)."""
    return [PointResult({**base, name: v}, name, m) for v, m in zip(values, means)]


def test_refine_around_an_interior_integer_winner():
    # k axis 3, 5, 7 (base), 9, 11; 9 wins; neighbours 7 and 11; 3 values strictly between:
    # linspace(7, 11, 5) -> 8, 9, 10; plus the winner 9 -> [8, 9, 10].
    source = [PointResult(MOSI, "base", 1.0)] + _axis("k", [3, 5, 9, 11], [1.2, 1.1, 0.9, 1.05])
    anchor, values = refine_values(source, "one_at_a_time", 3, "min", MOSI)
    assert anchor == MOSI and values == {"k": [8, 9, 10]}


def test_refine_log_spaced_float_axis():
    # xi axis 1, 3 (base), 10, 30, 100 is geometric; 10 wins; neighbours 3 and 30;
    # geomspace(3, 30, 4) inner values: 3*10^(1/3) = 6.46330, 3*10^(2/3) = 13.9248 (6 digits).
    source = [PointResult(MOSI, "base", 1.0)] + _axis("xi", [1, 10, 30, 100], [1.1, 0.8, 0.95, 1.3])
    _, values = refine_values(source, "one_at_a_time", 2, "min", MOSI)
    assert values == {"xi": [6.4633, 10.0, 13.9248]}


def test_refine_at_the_edge_and_with_mode_max():
    # gamma axis 0, 0.05 (base), 0.5; mode max: 0.5 has the highest mean and is the top edge,
    # so the interval is [0.05, 0.5]: linear (3 values, ratios undefined at 0), 1 value inside: 0.275.
    source = [PointResult(MOSI, "base", 50.0)] + _axis("gamma", [0.0, 0.5], [40.0, 60.0])
    _, values = refine_values(source, "one_at_a_time", 1, "max", MOSI)
    assert values == {"gamma": [0.275, 0.5]}


def test_a_failed_point_is_a_neighbour_but_never_the_winner():
    # eta 1e308 failed (NaN): the base 0.01 wins although 1e308 has no value; the neighbours
    # are 0.001 and 1e308, geometric, so the one value between is sqrt(0.001 * 1e308) = 10^152.5.
    source = [PointResult(MOSI, "base", 1.0)] + _axis("eta", [0.001, 1e308], [1.1, math.nan])
    _, values = refine_values(source, "one_at_a_time", 1, "min", MOSI)
    assert values == {"eta": [0.01, 3.16228e152]}


def test_refine_plan_excludes_points_already_run():
    spec = _spec([{"name": "c", "design": "one_at_a_time", "params": {"k": [3, 5, 9, 11]}},
                  {"name": "f", "design": "one_at_a_time", "refine": {"from": "c", "points": 3}}], seeds=[1, 2])
    source = [PointResult(MOSI, "base", 1.0)] + _axis("k", [3, 5, 9, 11], [1.2, 1.1, 0.9, 1.05])
    plan = plan_stage(spec, spec.stages[1], source)
    # fine k values 8, 9, 10: k=9 and the base point ran in the coarse stage -> k=8 and k=10.
    assert [p.key for p in plan] == ["f/k=8/seed=1", "f/k=10/seed=1", "f/k=8/seed=2", "f/k=10/seed=2"]


def test_refine_of_a_grid_anchors_at_the_winning_point():
    spec = _spec([{"name": "g", "design": "grid", "params": {"k": [3, 5, 7], "gamma": [0.0, 0.1]}},
                  {"name": "f", "design": "grid", "refine": {"from": "g", "points": 1}}], seeds=[1])
    means = {(3, 0.0): 1.3, (3, 0.1): 1.2, (5, 0.0): 0.9, (5, 0.1): 1.0, (7, 0.0): 1.1, (7, 0.1): 1.4}
    source = [PointResult({**MOSI, "k": k, "gamma": g}, "", m) for (k, g), m in means.items()]
    anchor, values = refine_values(source, "grid", 1, "min", MOSI)
    assert anchor == {**MOSI, "k": 5, "gamma": 0.0}
    # k: neighbours 3 and 7 -> 5 (the winner itself); gamma: edge 0 with neighbour 0.1 -> 0.05.
    assert values == {"k": [5], "gamma": [0.0, 0.05]}
    plan = plan_stage(spec, spec.stages[1], source)
    assert [p.key for p in plan] == ["f/k=5,gamma=0.05/seed=1"]  # (5, 0.0) already ran


def test_refine_needs_its_source_results():
    spec = _spec([{"name": "c", "design": "grid", "params": {"k": [3, 5]}},
                  {"name": "f", "design": "grid", "refine": {"from": "c", "points": 2}}])
    with pytest.raises(ValueError, match="pass its results"):
        plan_stage(spec, spec.stages[1])


def test_between():
    assert between(1, 5, 3, log=False, integer=False) == [2.0, 3.0, 4.0]
    assert between(1, 100, 1, log=True, integer=False) == [10.0]
    assert between(3, 5, 3, log=False, integer=True) == [4]  # 3.5, 4, 4.5 round to 4 (and 4, 4)
    assert between(2, 2, 3, log=False, integer=False) == []


def test_base_point_applies_train_overrides():
    spec = validate_spec(tiny_spec("b", train={"max_epochs": 2, "gamma": 0.0}), source="test.yaml")
    assert base_point(spec) == {**MOSI, "gamma": 0.0}
    mosei = validate_spec(tiny_spec("b", base="mosei"), source="test.yaml")
    assert base_point(mosei) == {"k": 10, "v1": 0.7, "v2": 0.5, "xi": 70.0, "alpha": 0.7, "gamma": 0.05, "eta": 0.01,
                                 "kmeans_mode": 0}
    restart = validate_spec(tiny_spec("b", train={"max_epochs": 2, "kmeans_mode": "restart"}), source="test.yaml")
    assert base_point(restart)["kmeans_mode"] == 1


def test_a_one_at_a_time_refine_of_a_grid_is_anchored_and_raced_at_the_grid_winner():
    from mmrest.study.planner import stage_anchor, stage_points
    from mmrest.study.racing import race_stage

    stages = [{"name": "g", "design": "grid", "params": {"k": [3, 5, 7], "gamma": [0.0, 0.1]}},
              {"name": "f", "design": "one_at_a_time", "refine": {"from": "g", "points": 1}}]
    spec = validate_spec(tiny_spec("plan", stages=stages, seeds={"list": [1, 2, 3, 4], "start": 2, "max": 4}),
                         source="test.yaml")
    means = {(3, 0.0): 1.3, (3, 0.1): 1.2, (5, 0.0): 0.9, (5, 0.1): 1.0, (7, 0.0): 1.1, (7, 0.1): 1.4}
    source = [PointResult({**MOSI, "k": k, "gamma": g}, "", m) for (k, g), m in means.items()]
    winner = {**MOSI, "k": 5, "gamma": 0.0}
    assert stage_anchor(spec, spec.stages[1], source) == winner
    assert stage_anchor(spec, spec.stages[0]) == base_point(spec)
    points = stage_points(spec, spec.stages[1], source)
    race = race_stage(spec, spec.stages[1], points, stage_anchor(spec, spec.stages[1], source), [], [])
    # The race's base is the grid winner (its seeds are run as the base of this stage when the
    # grid did not run them), never the paper's point, which this stage does not vary around.
    bases = [t.point for t in race.planned if t.varied == "base"]
    assert bases and all(p == winner for p in bases)
    assert all(sum(t.point[h] != winner[h] for h in MOSI) == 1 for t in race.planned if t.varied != "base")

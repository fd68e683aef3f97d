"""Racing rounds on constructed cases, replay from stored values, and bad input."""
import numpy as np
import pytest

from mmrest.stats import (
    AT_MAX, DECIDED, DIFFERS, FUTILE, NO_PRACTICAL_DIFFERENCE, RUNNING, UNDECIDED, Schedule, judge_family,
    race_round, replay,
)

SCHEDULE = Schedule(start=3, max=12)


def run_race(values, base, *, schedule=SCHEDULE, min_effect=1.0, pairs=()):
    """The engine's loop on values known in advance: each plan's seeds come from the arrays."""
    have = dict.fromkeys(values, schedule.start)
    base_have = schedule.start
    plans = []
    while True:
        current = {name: v[: have[name]] for name, v in values.items()}
        plan = race_round(current, base[:base_have], schedule=schedule, min_effect=min_effect,
                          pairs=pairs(current) if callable(pairs) else pairs)
        plans.append(plan)
        if plan.over:
            return plans, {name: v[: have[name]] for name, v in values.items()}, base[:base_have]
        for name in plan.next_seed:
            have[name] += 1
        base_have += plan.base_next


def test_a_huge_effect_stops_early_as_differs():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 12)
    plans, final, _ = run_race({"big": base + 50 + rng.normal(0, 1, 12)}, base)
    assert plans[-1].status == {"big": DECIDED}
    assert plans[-1].verdicts == {"big": DIFFERS}
    assert final["big"].size < 12


def test_an_exact_null_with_tiny_noise_stops_as_no_practical_difference():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, 12)
    plans, final, _ = run_race({"same": base + rng.normal(0, 1e-4, 12)}, base)
    assert plans[-1].verdicts == {"same": NO_PRACTICAL_DIFFERENCE}
    assert final["same"].size < 12


def test_a_question_seeds_cannot_answer_stops_as_futile():
    rng = np.random.default_rng(2)
    base = rng.normal(0, 1, 12)
    # Noise sd 3 against a band of +-1: neither verdict is within reach of 12 seeds.
    plans, final, _ = run_race({"noisy": base + rng.normal(0, 3, 12)}, base)
    assert plans[-1].status == {"noisy": FUTILE}
    assert plans[-1].verdicts == {"noisy": UNDECIDED}
    assert final["noisy"].size < 12


def test_undecided_at_max_is_at_max():
    base = np.zeros(12)
    values = {"tie": np.array([0.3, -0.3] * 6)}  # mean 0, sd 0.31: the interval is about +-0.2
    plan = race_round(values, base, schedule=SCHEDULE, min_effect=0.15)
    assert plan.status == {"tie": AT_MAX} and plan.over and not plan.base_next


def test_a_plain_seed_list_is_judged_once():
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, 5)
    values = {"a": base + 3 + rng.normal(0, 0.1, 5), "b": rng.normal(0, 1, 5)}
    schedule = Schedule(start=5, max=5)
    plan = race_round(values, base, schedule=schedule, min_effect=1.0)
    assert plan.over and plan.next_seed == () and not plan.base_next
    family = judge_family([(values["a"], base), (values["b"], base)], schedule=schedule, min_effect=1.0)
    assert plan.verdicts == {"a": family[0].verdict, "b": family[1].verdict}


def test_an_undecided_pair_keeps_both_points_running():
    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, 12)
    a = base + 40 + rng.normal(0, 1, 12)
    b = a + 2 + rng.normal(0, 1, 12)
    values = {"a": a[:8], "b": b[:8]}
    alone = race_round(values, base[:8], schedule=SCHEDULE, min_effect=1.0)
    assert alone.over  # both differ from the base already ...
    paired = race_round(values, base[:8], schedule=SCHEDULE, min_effect=1.0, pairs=[("a", "b")])
    assert paired.pair_status == (RUNNING,)  # ... but not (yet) from each other
    assert paired.next_seed == ("a", "b") and paired.base_next and not paired.over


def test_a_point_that_missed_a_round_stays_stopped_unless_a_pair_needs_it():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 1, 6)
    a = base[:4] + rng.normal(0, 1, 4)
    b = a + 2 + rng.normal(0, 1, 4)
    alone = race_round({"a": a, "b": b}, base, schedule=SCHEDULE, min_effect=1.0)
    assert alone.over and alone.status == {"a": FUTILE, "b": FUTILE}  # both missed rounds 5 and 6
    paired = race_round({"a": a, "b": b}, base, schedule=SCHEDULE, min_effect=1.0, pairs=[("a", "b")])
    assert paired.pair_status == (RUNNING,)
    assert paired.next_seed == ("a", "b") and not paired.base_next  # the base already has their next seed


def test_a_round_is_a_pure_function_of_the_values():
    rng = np.random.default_rng(6)
    base = rng.normal(0, 1, 7)
    values = {f"p{i}": base + e + rng.normal(0, 1, 7) for i, e in enumerate([0, 0.5, 1, 2, 4, 8])}
    first = race_round(values, base, schedule=SCHEDULE, min_effect=1.0)
    again = race_round(dict(reversed(values.items())), base, schedule=SCHEDULE, min_effect=1.0)
    assert first.status == again.status and first.verdicts == again.verdicts
    assert set(first.next_seed) == set(again.next_seed) and first.base_next == again.base_next
    for name in values:
        assert first.judgements[name].p_holm == again.judgements[name].p_holm


def _race_data(seed):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, 12)
    effects = [0, 0, 0.5, 1, 2, 4, 4, 0.1]
    return {f"p{i}": base * 0 + e + rng.normal(0, 1, 12) for i, e in enumerate(effects)}, base


def _best_two(values):
    """The engine's rule for an extra pair: the two points with the highest means so far."""
    ranked = sorted(values, key=lambda name: (-float(np.mean(values[name])), name))
    return [(ranked[0], ranked[1])]


@pytest.mark.parametrize("pairs", [(), (("p0", "p1"),), _best_two])
def test_replay_rebuilds_every_round_from_the_final_values(pairs):
    for seed in range(3):
        values, base = _race_data(seed)
        plans, final, final_base = run_race(values, base, pairs=pairs)
        race = replay(final, final_base, schedule=SCHEDULE, min_effect=1.0, pairs=pairs)
        assert race.finished and race.missing == () and not race.base_missing
        assert len(race.rounds) == len(plans)
        for ours, theirs in zip(race.rounds, plans):
            assert (ours.next_seed, ours.base_next, ours.status, ours.verdicts, ours.pairs, ours.pair_status) == (
                theirs.next_seed, theirs.base_next, theirs.status, theirs.verdicts, theirs.pairs, theirs.pair_status)


def test_verdicts_within_a_race_never_lose_differs():
    checked = 0
    for seed in range(3):
        values, base = _race_data(seed)
        plans, _, _ = run_race(values, base)
        for before, after in zip(plans, plans[1:]):
            for name, verdict in before.verdicts.items():
                if verdict == DIFFERS:
                    assert after.verdicts[name] == DIFFERS
                    checked += 1
    assert checked > 0  # some point differed before a later round, so there was something to lose


def test_replay_finds_the_round_in_progress():
    values, base = _race_data(0)
    plans, final, final_base = run_race(values, base)
    # Cut the race inside a round: the base and one point have their seed of that round, others not.
    cut = next(k for k, plan in enumerate(plans) if len(plan.next_seed) >= 2)
    lengths = {name: sum(name in plan.next_seed for plan in plans[:cut]) + SCHEDULE.start for name in final}
    done, *waiting = plans[cut].next_seed
    partial = {name: v[: lengths[name] + (name == done)] for name, v in final.items()}
    partial_base = final_base[: plans[cut].seeds + 1]
    race = replay(partial, partial_base, schedule=SCHEDULE, min_effect=1.0)
    assert not race.finished
    assert race.missing == tuple(waiting) and not race.base_missing
    assert race.final.next_seed == plans[cut].next_seed


def test_replay_refuses_values_the_race_never_asked_for():
    values, base = _race_data(1)
    _, final, final_base = run_race(values, base)
    stopped = next(name for name, v in final.items() if v.size < 12)
    extra = dict(final, **{stopped: values[stopped][: final[stopped].size + 2]})
    with pytest.raises(ValueError, match=f"point '{stopped}' holds"):
        replay(extra, final_base, schedule=SCHEDULE, min_effect=1.0)


def test_spare_reads_values_beyond_the_race_and_says_so():
    values, base = _race_data(1)
    _, final, final_base = run_race(values, base)
    assert not replay(final, final_base, schedule=SCHEDULE, min_effect=1.0, spare=True).unread
    stopped = next(name for name, v in final.items() if v.size < 12)
    extra = dict(final, **{stopped: values[stopped][: final[stopped].size + 2]})
    race = replay(extra, final_base, schedule=SCHEDULE, min_effect=1.0, spare=True)
    assert race.unread and race.lengths[stopped] == final[stopped].size  # the race read what it gave


def test_base_seeds_an_earlier_stage_ran_may_go_unused():
    # An earlier stage raced the same base point to 8 seeds; here every point equals it seed by
    # seed, so the race decides at its first look and reads only 3 of them.
    base = np.random.default_rng(3).normal(0, 1, 8)
    points = {"a": base[:3].copy(), "b": base[:3].copy()}
    race = replay(points, base, schedule=SCHEDULE, min_effect=1.0, base_given=8)
    assert race.finished and len(race.rounds) == 1 and race.final.seeds == 3
    assert set(race.final.verdicts.values()) == {NO_PRACTICAL_DIFFERENCE}
    with pytest.raises(ValueError, match="the base holds 8 seeds but the race gave it 3"):
        replay(points, base, schedule=SCHEDULE, min_effect=1.0)  # seeds this race ran itself
    with pytest.raises(ValueError, match="the base holds 8 seeds but the race gave it 3"):
        replay(points, base, schedule=SCHEDULE, min_effect=1.0, base_given=7)


@pytest.mark.parametrize("values, base, pairs, message", [
    ({"a": np.zeros(5)}, np.zeros(4), (), "point 'a' has 5 seeds"),
    ({"a": np.zeros(2)}, np.zeros(4), (), "at least start=3"),
    ({"a": np.zeros(3)}, np.zeros(13), (), "the base has 13 seeds"),
    ({"a": np.zeros(3)}, np.zeros(3), [("a", "zz")], "names a point that is not among the points"),
    ({"a": np.zeros(3), "b": np.ones(3)}, np.zeros(3), [("a", "b"), ("b", "a")], "repeats a pair"),
    ({"a": np.zeros((3, 1))}, np.zeros(3), (), "point 'a': need a 1-D array"),
])
def test_bad_rounds_are_refused(values, base, pairs, message):
    with pytest.raises(ValueError, match=message):
        race_round(values, base, schedule=SCHEDULE, min_effect=1.0, pairs=pairs)

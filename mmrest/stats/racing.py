"""Racing seeds: after each round, which points run the next seed of the list.

A round is a pure function of the values stored so far (each point's own seeds and the base
point's, in seed-list order), so an engine that lost its memory recomputes any round from its
storage and gets the same decisions; `replay` rebuilds a whole race that way.

The family is every comparison of the stage: each point against the base, and the extra pairs the
engine names (per curve, the chosen value and its runner-up). All are judged together by
`judge_family` every round. A comparison is:

- *decided* once its verdict is *differs* or *no practical difference*;
- *at max* when it is undecided with `max` seeds;
- *futile* when it is undecided and neither verdict is reachable even at `max`: the predictive
  power of each verdict at the final look (the chance, over what the remaining seeds may show
  given the seeds so far, that the verdict is reached at `max`) is below `schedule.futility`;
- *running* otherwise.

Next seed: every point whose comparison with the base is running, and the shorter member(s) of
each running pair; the base whenever a point as long as the base gets one. Racing is over when no
point gets a seed.

Stopping is final and written in the values themselves: a point with fewer seeds than the base
missed a round, so its base comparison is stopped (its verdict may still change as the family's
Holm levels change; *futile* then reads "stopped undecided"). Only an extra pair gives it seeds
again. So `race_round` assumes the last round is complete; after a crash in the middle of a
round, `replay` tells the round in progress and the trials it still lacks.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr, stdtrit

from mmrest.stats.family import UNDECIDED, Judgement, judge_comparisons
from mmrest.stats.schedule import Schedule

RUNNING, DECIDED, FUTILE, AT_MAX = "running", "decided", "futile", "at max"
STATUSES = (RUNNING, DECIDED, FUTILE, AT_MAX)

Pairs = Sequence[tuple[str, str]]
PairRule = Pairs | Callable[[Mapping[str, np.ndarray]], Pairs]
_BASE = ("the base point",)  # its key among the points judged: no point's name (a str) can equal it


@dataclass(frozen=True)
class RoundPlan:
    """The decisions after one round."""

    seeds: int  # the base point's seeds so far
    status: dict[str, str]  # per point: its comparison with the base
    judgements: dict[str, Judgement]  # per point: its comparison with the base
    pairs: tuple[tuple[str, str], ...]
    pair_status: tuple[str, ...]
    pair_judgements: tuple[Judgement, ...]
    next_seed: tuple[str, ...]  # the points that run their next seed, in the points' order
    base_next: bool
    over: bool

    @property
    def verdicts(self) -> dict[str, str]:
        return {name: j.verdict for name, j in self.judgements.items()}


@dataclass(frozen=True)
class Race:
    """A race rebuilt from stored values: its rounds and what the last one still lacks."""

    rounds: tuple[RoundPlan, ...]
    missing: tuple[str, ...]  # points the last plan gave a seed that the data does not hold yet
    base_missing: bool
    lengths: dict[str, int]  # per point, the seeds the race has read of it
    base_length: int
    unread: bool = False  # `spare`: the values held seeds the race never gave (else ValueError)

    @property
    def final(self) -> RoundPlan:
        return self.rounds[-1]

    @property
    def finished(self) -> bool:
        return self.final.over


def race_round(
    points: Mapping[str, np.ndarray], base: np.ndarray, *, schedule: Schedule, min_effect: float,
    pairs: Pairs = (), others: Pairs = (),
) -> RoundPlan:
    """The plan after a round, from each point's values so far and the base's. `others` are
    comparisons judged in the family (their Holm levels count) that give no point a seed: the
    engine passes every pair of each curve's candidates, so that the race's family is the one
    the report judges the stage in."""
    values = {name: _values(f"point {name!r}", v) for name, v in points.items()}
    base = _values("the base", base)
    _check_race(values, base, schedule, pairs)
    _check_race(values, base, schedule, others)
    names = list(values)
    comparisons = [(name, _BASE) for name in names] + [(a, b) for a, b in pairs]
    judged = {frozenset(c) for c in comparisons}
    extra = [(a, b) for a, b in others if frozenset((a, b)) not in judged]
    # One stage, one pooling group: its points share the noise estimate (mmrest.stats.family).
    judgements = judge_comparisons({**values, _BASE: base}, comparisons + extra, schedule=schedule,
                                   min_effect=min_effect)[: len(comparisons)]
    lengths = np.array([min(values[a].size, base.size if b is _BASE else values[b].size) for a, b in comparisons],
                       dtype=np.int64)
    # A point that missed a round stopped then: its base comparison stays stopped.
    stopped = np.array([values[name].size < base.size for name in names] + [False] * len(pairs))
    status = _status(judgements, lengths, stopped, schedule, min_effect)
    chosen = {name for name, s in zip(names, status) if s == RUNNING}
    for (a, b), s, n in zip(pairs, status[len(names):], lengths[len(names):]):
        if s == RUNNING:
            chosen |= {name for name in (a, b) if values[name].size == n}
    next_seed = tuple(name for name in names if name in chosen)
    return RoundPlan(
        seeds=base.size,
        status=dict(zip(names, status)),
        judgements=dict(zip(names, judgements)),
        pairs=tuple((a, b) for a, b in pairs),
        pair_status=tuple(status[len(names):]),
        pair_judgements=tuple(judgements[len(names):]),
        next_seed=next_seed,
        base_next=any(values[name].size == base.size for name in next_seed),
        over=not next_seed,
    )


def replay(
    points: Mapping[str, np.ndarray], base: np.ndarray, *, schedule: Schedule, min_effect: float,
    pairs: PairRule = (), others: Pairs = (), base_given: int = 0, spare: bool = False,
) -> Race:
    """Rebuild a race round by round from its stored values.

    `pairs` is the extra pairs, fixed or as a function of the points' values so far (the engine's
    rule for the chosen value and its runner-up). Stops at the first plan that is over or whose
    seeds the data does not hold yet (a round in progress). Values beyond what the rounds gave
    mean the data did not come from this race: ValueError. Only the first `base_given` values of
    the base may go unused: they were there before the race (an earlier stage ran the same point),
    and a race that ends sooner than that earlier one simply reads fewer of them. With `spare`,
    any values beyond the race's may go unused: a simulation that drew every seed in advance runs
    the race on them (benchmarks/stats_calibration.py).
    """
    values = {name: _values(f"point {name!r}", v) for name, v in points.items()}
    base = _values("the base", base)
    length = dict.fromkeys(values, schedule.start)
    base_length = schedule.start
    rounds: list[RoundPlan] = []
    while True:
        prefix = {name: v[: length[name]] for name, v in values.items()}
        plan = race_round(prefix, base[:base_length], schedule=schedule, min_effect=min_effect,
                          pairs=pairs(prefix) if callable(pairs) else pairs, others=others)
        rounds.append(plan)
        missing = tuple(name for name in plan.next_seed if values[name].size <= length[name])
        base_missing = plan.base_next and base.size <= base_length
        if plan.over or missing or base_missing:
            break
        for name in plan.next_seed:
            length[name] += 1
        base_length += plan.base_next
    beyond = _beyond(values, base, length, base_length, plan, base_given)
    if beyond and not spare:
        raise ValueError(beyond)
    return Race(rounds=tuple(rounds), missing=missing, base_missing=base_missing, lengths=dict(length),
                base_length=base_length, unread=beyond is not None)


def _status(judgements: list[Judgement], lengths: np.ndarray, stopped: np.ndarray, schedule: Schedule,
            min_effect: float) -> list[str]:
    futile = _futile(judgements, lengths, schedule, min_effect) | stopped
    return [
        DECIDED if j.verdict != UNDECIDED else AT_MAX if n >= schedule.max else FUTILE if f else RUNNING
        for j, n, f in zip(judgements, lengths, futile)
    ]


def _futile(judgements: list[Judgement], lengths: np.ndarray, schedule: Schedule, min_effect: float) -> np.ndarray:
    """Predictive power of each verdict below `schedule.futility` (docs/statistics.md, "Futility").

    With n pairs and mean m now, s the sd of differences the comparison's test uses (its own, or
    the group's pooled one: se * sqrt(n) at its last look) with df degrees of freedom, and R more
    seeds to max (N = n + R), the mean of the R future differences is predicted by
    m + s sqrt(1/n + 1/R) T with T ~ t_df (the prediction interval of a future mean), so the mean at
    max is m + (R/N) s sqrt(1/n + 1/R) T. At max the test's standard error is about s / sqrt(N),
    with df_N = df (N - 1) / (n - 1) degrees of freedom (a test's df grow with its seeds). "differs"
    needs |mean| > t_{df_N}(1 - a(max) h / (2 alpha)) s / sqrt(N), with h the comparison's Holm
    level now; "no practical difference" needs |mean| < min_effect - t_{df_N}(1 - a(max)) s / sqrt(N)
    (its TOST at the final look; earlier looks only add chances, so this is a lower bound). The t
    distribution and its quantiles are scipy.special's stdtr and stdtrit. No estimate yet (n < 2):
    not futile. No spread (s = 0): more seeds change nothing, so an undecided comparison is futile.
    """
    n = np.array([j.difference.n for j in judgements], dtype=np.float64)
    if n.size == 0 or not len(schedule.looks):
        return np.zeros(n.size, dtype=bool)
    m = np.array([j.difference.mean for j in judgements])
    s = np.array([j.se for j in judgements]) * np.sqrt(n)
    df = np.array([j.df for j in judgements])
    h = np.array([j.level for j in judgements])
    remaining = np.maximum(schedule.max - lengths, 0)
    final = n + remaining
    with np.errstate(invalid="ignore", divide="ignore"):
        df_final = df * (final - 1) / np.maximum(n - 1, 1)
        se_final = s / np.sqrt(final)
        w_differs = stdtrit(df_final, 1.0 - schedule.levels[-1] * h / schedule.alpha / 2.0) * se_final
        w_equivalent = stdtrit(df_final, 1.0 - schedule.levels[-1]) * se_final
        spread = remaining / final * s * np.sqrt(1.0 / n + 1.0 / np.maximum(remaining, 1))
        scale = np.where(spread > 0, spread, 1.0)
        df_now = np.maximum(df, 1)
        differs = stdtr(df_now, (m - w_differs) / scale) + stdtr(df_now, (-w_differs - m) / scale)
        room = np.maximum(min_effect - w_equivalent, 0.0)
        equivalent = np.maximum(stdtr(df_now, (room - m) / scale) - stdtr(df_now, (-room - m) / scale), 0.0)
    power = np.where(spread > 0, np.fmax(differs, equivalent), 0.0)
    return (n >= 2) & (power < schedule.futility)


def _values(name: str, values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name}: need a 1-D array of per-seed values; got shape {v.shape}")
    return v


def _check_race(values: dict[str, np.ndarray], base: np.ndarray, schedule: Schedule, pairs: Pairs) -> None:
    if not schedule.start <= base.size <= schedule.max:
        raise ValueError(f"the base has {base.size} seeds; a race needs between start={schedule.start} and max={schedule.max}")
    for name, v in values.items():
        if not schedule.start <= v.size <= base.size:
            raise ValueError(
                f"point {name!r} has {v.size} seeds; a racing point has at least start={schedule.start} "
                f"and at most the base's {base.size}"
            )
    seen: set[frozenset[str]] = set()
    for a, b in pairs:
        if a not in values or b not in values:
            raise ValueError(f"pair ({a!r}, {b!r}) names a point that is not among the points; "
                             "a pair with the base is already that point's base comparison")
        if a == b or frozenset((a, b)) in seen:
            raise ValueError(f"pair ({a!r}, {b!r}) compares a point with itself or repeats a pair")
        seen.add(frozenset((a, b)))


def _beyond(values: dict[str, np.ndarray], base: np.ndarray, length: dict[str, int], base_length: int,
            plan: RoundPlan, base_given: int) -> str | None:
    """What the data holds beyond what the race gave, in words; None when nothing."""
    pending = set() if plan.over else set(plan.next_seed)
    for name, v in values.items():
        if v.size > length[name] + (name in pending):
            return (f"point {name!r} holds {v.size} seeds but the race gave it {length[name]}: "
                    "these values did not come from a race with this schedule and min_effect")
    if base.size > max(base_length + (plan.base_next and not plan.over), base_given):
        return (f"the base holds {base.size} seeds but the race gave it {base_length}: "
                "these values did not come from a race with this schedule and min_effect")
    return None

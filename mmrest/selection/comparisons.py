"""Paired comparisons by seed from a study's trial table, judged per metric (mmrest.stats).

Every point of a stage runs the same ordered seed list (a racing point a prefix of it), so two
points are compared on their per-seed differences. The comparisons a report shows:

- LEVEL: each level of a one_at_a_time curve against its stage's base point (the base's values
  may come from an earlier stage that ran the same point);
- CANDIDATE: each candidate of a final value against the chosen one (mmrest.selection.choose).

For one metric they form one family: `judge` corrects them together (Holm over sequential
p-values, docs/statistics.md). A curve's overall test (does the parameter change the metric at
all?) runs on the seeds every level of the curve ran; curves form a family of their own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES
from mmrest.selection.choice import Choices
from mmrest.selection.rows import decisive_rows
from mmrest.stats import Judgement, OverallTest, Schedule, detectable_differences, holm, judge_family, overall_test
from mmrest.trial_table import (
    BASE, ONE_AT_A_TIME, VALID_COLUMNS, StageFacts, StudyFacts, at_point, complete, finished, metric_column,
    same_value,
)

LEVEL, CANDIDATE = "level", "candidate"


@dataclass(frozen=True)
class Pairing:
    """Two points of a study, each as its trials (one row per seed it ran, COMPLETE or FAIL)."""

    kind: str  # LEVEL or CANDIDATE
    stage: str
    param: str  # the hyperparameter whose value the two points differ in
    value: float  # the treatment's value of `param` (a level, or a candidate)
    reference: float  # the reference's value (the base's, or the chosen one)
    treatment: pd.DataFrame
    reference_rows: pd.DataFrame
    # The two points differ in `param` alone (always for a level; a grid or tpe candidate may
    # differ from the chosen configuration in other parameters too).
    alike: bool = True

    def values(self, columns: list[str], seeds: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The two sides' values of `columns`, (seeds, columns) by position in the seed list, over
        the seeds the treatment ran (NaN where a trial failed; the reference's missing seeds are
        NaN too)."""
        treatment = _by_seed(self.treatment, columns, seeds)
        return treatment, _by_seed(self.reference_rows, columns, seeds, length=len(treatment))


@dataclass(frozen=True)
class Curve:
    """A one_at_a_time curve: its stage, parameter and levels (the base's value first)."""

    stage: str
    param: str
    levels: tuple[float, ...]
    rows: tuple[pd.DataFrame, ...]  # per level, its trials


def schedule(facts: StudyFacts) -> Schedule:
    """The looks the study's comparisons had: every racing round, or one."""
    return Schedule(start=facts.seed_start, max=facts.seed_max)


def level_pairings(trials: pd.DataFrame, facts: StudyFacts, found: list[Curve] | None = None) -> list[Pairing]:
    """Every level of every one_at_a_time curve (`found`, else `curves(trials, facts)`) against
    its stage's base point."""
    found = curves(trials, facts) if found is None else found
    return [Pairing(LEVEL, c.stage, c.param, level, c.levels[0], rows, c.rows[0])
            for c in found for level, rows in zip(c.levels[1:], c.rows[1:])]


def curves(trials: pd.DataFrame, facts: StudyFacts) -> list[Curve]:
    """The one_at_a_time curves of the study whose base point has trials, in stage order."""
    ended = finished(trials)
    found = []
    for i, stage in enumerate(facts.tuning_stages()):
        if stage.design != ONE_AT_A_TIME:
            continue
        own = ended.loc[ended["stage"] == stage.name]
        base = _base_rows(ended, facts, stage, [s.name for s in facts.tuning_stages()[: i + 1]])
        if base.empty:
            continue
        for param in stage.params:
            line = own.loc[own["varied"] == param]
            levels = sorted(v for v in line[param].unique() if not same_value(v, facts.base_values[param]))
            if levels:
                found.append(Curve(stage.name, param, (facts.base_values[param], *levels),
                                   (base, *(line.loc[same_value(line[param], v)] for v in levels))))
    return found


def candidate_pairings(trials: pd.DataFrame, facts: StudyFacts, choices: Choices) -> list[Pairing]:
    """Each candidate of each final value against the chosen candidate, on the rows the choice
    rests on: the same complete trials and the same configuration `choose` picked."""
    done, stages = complete(trials), facts.tuning_stages()
    index = {p: i for i, p in enumerate(STUDY_HYPERPARAMETERS)}
    pairings = []
    for choice in choices.items:
        if choice.config is None:
            continue
        _, rows = decisive_rows(done, stages, choice.param)
        configs = dict(list(rows.groupby(list(STUDY_HYPERPARAMETERS), sort=True)))
        chosen_key = next(key for key in configs if same_value(key, choice.config).all())
        others = [i for p, i in index.items() if p != choice.param]
        for key, group in configs.items():
            if key is chosen_key:
                continue
            alike = same_value([key[i] for i in others], [chosen_key[i] for i in others]).all()
            pairings.append(Pairing(CANDIDATE, choice.stage, choice.param, float(key[index[choice.param]]),
                                    choice.chosen, group, configs[chosen_key], alike=bool(alike)))
    return pairings


Values = list[tuple[np.ndarray, np.ndarray]]  # per pairing, its two sides by position in the seed list


def valid_values(pairings: list[Pairing], facts: StudyFacts) -> dict[str, Values]:
    """Per validation metric, each pairing's two sides aligned by seed: built once, read by
    `judge` and `seed_plans`."""
    sides = [p.values(list(VALID_COLUMNS), facts.seeds) for p in pairings]
    return {m: [(t[:, j], r[:, j]) for t, r in sides] for j, m in enumerate(METRIC_NAMES)}


def judge(values: Values, metric: str, facts: StudyFacts) -> list[Judgement]:
    """The pairings' verdicts on one metric (`values` as `valid_values` gives them), corrected
    as one family."""
    return judge_family(values, schedule=schedule(facts), min_effect=facts.min_effect[metric])


@dataclass(frozen=True)
class CurveTest:
    curve: Curve
    test: OverallTest
    p_holm: float  # across the family of curves


def curve_tests(found: list[Curve], metric: str, facts: StudyFacts, *, split: str = "valid") -> list[CurveTest]:
    """Each curve's overall test on `metric`, Holm-corrected across the curves."""
    column = metric_column(split, metric)
    tests = [overall_test([_by_seed(rows, [column], facts.seeds)[:, 0] for rows in c.rows]) for c in found]
    adjusted = holm([t.p for t in tests], alpha=schedule(facts).alpha).p_adjusted
    return [CurveTest(c, t, float(p)) for c, t, p in zip(found, tests, adjusted)]


def seed_plans(values: dict[str, Values]) -> dict[str, dict[int, float] | None]:
    """Per validation metric, the smallest difference the study's family could detect with 3, 5,
    10 and 20 seeds at 80 % power, from the spread of its paired differences (None without any)."""
    plans = {}
    for metric, pairs in values.items():
        sd = pooled_sd(pairs)
        plans[metric] = None if sd is None else detectable_differences(sd, family_size=max(len(pairs), 1))
    return plans


def study_pairings(trials: pd.DataFrame, facts: StudyFacts, choices: Choices,
                   found: list[Curve] | None = None) -> tuple[list[Pairing], list[Pairing]]:
    """The report's family: every curve level against its base, every final candidate against
    the chosen value."""
    return level_pairings(trials, facts, found), candidate_pairings(trials, facts, choices)


def pooled_sd(values: Values) -> float | None:
    """The sd of paired differences pooled over the pairings (weighted by degrees of freedom)."""
    sums, dof = 0.0, 0
    for a, b in values:
        diff = (a - b)[np.isfinite(a - b)]
        if diff.size >= 2:
            sums += float(np.var(diff, ddof=1)) * (diff.size - 1)
            dof += diff.size - 1
    return math.sqrt(sums / dof) if dof else None


def _base_rows(ended: pd.DataFrame, facts: StudyFacts, stage: StageFacts, upto: list[str]) -> pd.DataFrame:
    """The base point's trials for `stage`: its own, else those of earlier stages that ran the
    same point (a refine stage has no base of its own), one per seed."""
    rows = ended.loc[at_point(ended, facts.base_values) & ended["stage"].isin(upto)]
    own_first = rows.assign(_own=rows["stage"] != stage.name).sort_values(["_own", "number"], kind="stable")
    return own_first.drop_duplicates("seed").drop(columns="_own").assign(varied=BASE)


def _by_seed(rows: pd.DataFrame, columns: list[str], seeds: tuple[int, ...], length: int | None = None) -> np.ndarray:
    """(seeds, columns): values by position in the seed list, up to the last seed `rows` hold
    (or `length`); NaN for a seed with no COMPLETE trial."""
    position = {seed: i for i, seed in enumerate(seeds)}
    at = np.array([position.get(int(s), -1) for s in rows["seed"]], dtype=np.int64)
    if length is None:
        length = 1 + int(at.max(initial=-1))
    out = np.full((length, len(columns)), np.nan)
    keep = (rows["state"].to_numpy() == "COMPLETE") & (at >= 0) & (at < length)
    values = rows[columns].to_numpy(dtype=np.float64)[keep]
    # Several COMPLETE trials of one seed (never expected): the last in the table's order wins.
    out[at[keep]] = values
    return out

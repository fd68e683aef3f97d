"""Paired comparisons by seed from a study's trial table, judged per metric (mmrest.stats).

Every point of a stage runs the same ordered seed list (a racing point a prefix of it), so two
points are compared on their per-seed differences. The comparisons a report shows:

- LEVEL: each level of a one_at_a_time curve against its stage's base point (the base's values
  may come from an earlier stage that ran the same point);
- CANDIDATE: each candidate of a final value against the chosen one (mmrest.selection.choose),
  on the chosen value's line (the candidates that differ from it in that hyperparameter alone).

For one metric they form one family with every pair of candidates on every line
(mmrest.selection.family says why): `judge` corrects them together (Holm over sequential
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
from mmrest.selection.family import Line, PointId, Shown, StudyFamily, lines_of
from mmrest.selection.rows import decisive_rows
from mmrest.stats import Judgement, OverallTest, Schedule, detectable_differences, holm, overall_test
from mmrest.trial_table import (
    BASE, ONE_AT_A_TIME, VALID_COLUMNS, StageFacts, StudyFacts, at_point, complete, finished, metric_column,
    point_label, same_value,
)

LEVEL, CANDIDATE = "level", "candidate"


@dataclass(frozen=True)
class Pairing:
    """A comparison the report shows: treatment minus reference, two points of one stage."""

    kind: str  # LEVEL or CANDIDATE
    stage: str
    param: str  # the hyperparameter whose value the two points differ in
    value: float  # the treatment's value of `param` (a level, or a candidate)
    reference: float  # the reference's value (the base's, or the chosen one)
    treatment_id: PointId
    reference_id: PointId
    label: str = ""  # a level's point label in its stage (its trials' keys: <stage>/<label>/seed=...)


@dataclass(frozen=True)
class Curve:
    """A one_at_a_time curve: its stage, parameter and levels (the base's value first)."""

    stage: str
    param: str
    levels: tuple[float, ...]
    rows: tuple[pd.DataFrame, ...]  # per level, its trials


@dataclass(frozen=True)
class StudyComparisons:
    """The report's comparisons of a study: the shown pairings, the family they are judged in,
    and every point's trials (one row per seed it ran, COMPLETE or FAIL)."""

    pairings: tuple[Pairing, ...]
    family: StudyFamily
    points: dict[PointId, pd.DataFrame]

    def of(self, kind: str) -> list[Pairing]:
        return [p for p in self.pairings if p.kind == kind]


def schedule(facts: StudyFacts) -> Schedule:
    """The looks the study's comparisons had: every racing round, or one."""
    return Schedule(start=facts.seed_start, max=facts.seed_max)


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


def study_comparisons(trials: pd.DataFrame, facts: StudyFacts, choices: Choices,
                      found: list[Curve] | None = None) -> StudyComparisons:
    """The report's family: every curve level against its base, every final candidate against
    the chosen value, and every pair of candidates on every line behind them."""
    found = curves(trials, facts) if found is None else found
    points: dict[PointId, pd.DataFrame] = {}
    pairings: list[Pairing] = []
    shown: list[Shown] = []
    for c in found:
        base_id = _point(points, c.stage, c.rows[0])
        for level, rows in zip(c.levels[1:], c.rows[1:]):
            level_id = _point(points, c.stage, rows)
            pairings.append(Pairing(LEVEL, c.stage, c.param, level, c.levels[0], level_id, base_id,
                                    label=point_label(str(rows["key"].iloc[0]))))
            shown.append(Shown(c.stage, level_id, base_id))
    lines: list[Line] = []
    done, stages = complete(trials), facts.tuning_stages()
    for choice in choices.items:
        if choice.config is None:
            continue
        _, rows = decisive_rows(done, stages, choice.param)
        configs = list(rows.groupby(list(STUDY_HYPERPARAMETERS), sort=True))
        keys = [np.asarray(key, dtype=np.float64) for key, _ in configs]
        ids = [_point(points, choice.stage, group, key=tuple(key)) for key, (_, group) in zip(keys, configs)]
        column = STUDY_HYPERPARAMETERS.index(choice.param)
        for line in lines_of(keys, column):
            lines.append(Line(choice.stage, tuple(ids[i] for i in line)))
            chosen = next((i for i in line if same_value(keys[i], choice.config).all()), None)
            if chosen is None:
                continue
            for i in line:
                if i != chosen:
                    pairings.append(Pairing(CANDIDATE, choice.stage, choice.param, float(keys[i][column]),
                                            choice.chosen, ids[i], ids[chosen]))
                    shown.append(Shown(choice.stage, ids[i], ids[chosen]))
    return StudyComparisons(tuple(pairings), StudyFamily.of(shown, lines), points)


Values = dict[PointId, np.ndarray]  # each point's per-seed values of one metric, by position in the seed list


def valid_values(comparisons: StudyComparisons, facts: StudyFacts) -> dict[str, Values]:
    """Per validation metric, every point's values by seed: built once, read by `judge` and
    `seed_plans`."""
    tables = {pid: _by_seed(rows, list(VALID_COLUMNS), facts.seeds) for pid, rows in comparisons.points.items()}
    return {m: {pid: table[:, j] for pid, table in tables.items()} for j, m in enumerate(METRIC_NAMES)}


def judge(comparisons: StudyComparisons, values: Values, metric: str, facts: StudyFacts) -> list[Judgement]:
    """The shown comparisons' verdicts on one metric (`values` as `valid_values` gives them),
    corrected as one family."""
    return comparisons.family.judge(values, schedule=schedule(facts), min_effect=facts.min_effect[metric])


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


def seed_plans(comparisons: StudyComparisons, values: dict[str, Values], facts: StudyFacts
               ) -> dict[str, dict[int, float] | None]:
    """Per validation metric, the smallest difference a comparison of the study's family detects
    at 80 % power after 3, 5, 10 and 20 seeds of the study's schedule (mmrest.stats.planner), in
    the metric's units: the spread of the shown comparisons' paired differences times one
    simulation shared by every metric (None without any spread to scale by)."""
    plans = {}
    for metric, by_point in values.items():
        sd = pooled_sd([(by_point[p.treatment_id], by_point[p.reference_id]) for p in comparisons.pairings])
        plans[metric] = None if sd is None else detectable_differences(
            sd, family_size=max(comparisons.family.size, 1), start=facts.seed_start, max_seeds=facts.seed_max)
    return plans


def pooled_sd(values: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """The sd of paired differences pooled over the pairings (weighted by degrees of freedom)."""
    sums, dof = 0.0, 0
    for a, b in values:
        n = min(a.size, b.size)
        diff = (a[:n] - b[:n])[np.isfinite(a[:n] - b[:n])]
        if diff.size >= 2:
            sums += float(np.var(diff, ddof=1)) * (diff.size - 1)
            dof += diff.size - 1
    return math.sqrt(sums / dof) if dof else None


def _point(points: dict[PointId, pd.DataFrame], stage: str, rows: pd.DataFrame,
           key: tuple[float, ...] | None = None) -> PointId:
    """The id of the point whose trials are `rows` in `stage`: (stage, its seven hyperparameters).
    A point met twice in a stage keeps the trials it was first met with."""
    if key is None:
        key = tuple(float(v) for v in rows[list(STUDY_HYPERPARAMETERS)].iloc[0])
    for existing in points:
        if existing[0] == stage and same_value(existing[1], key).all():
            return existing
    points[(stage, key)] = rows
    return (stage, key)


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
    # Several COMPLETE trials of one seed (never expected): the last in the table's order wins.
    out[at[keep]] = rows[columns].to_numpy(dtype=np.float64)[keep]
    return out

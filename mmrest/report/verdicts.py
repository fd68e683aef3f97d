"""Which differences are real: every comparison the report shows, judged against the seed noise.

Numbers only; the figures and templates draw them. Per validation metric, the levels of every
one_at_a_time curve (against their stage's base) and the candidates of every final value (against
the chosen one) form one family (mmrest.selection.comparisons); each curve's overall test is
corrected across the curves. Test metrics are never judged: they only describe.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmrest.metrics import METRIC_NAMES
from mmrest.selection import Choices
from mmrest.selection.comparisons import (
    LEVEL, Curve, curve_tests, curves, judge, schedule, seed_plans, study_comparisons, valid_values,
)
from mmrest.stats import (
    AT_MAX, DECIDED, DIFFERS, FUTILE, NO_PRACTICAL_DIFFERENCE, RUNNING, UNDECIDED, Judgement, OverallTest,
    paired_difference,
)
from mmrest.trial_table import BASE, ONE_AT_A_TIME, SPLITS, StudyFacts, finished, metric_column, point_key, same_value


@dataclass(frozen=True)
class Comparison:
    """One paired comparison on one validation metric."""

    kind: str  # "level" (against the stage's base) or "candidate" (against the chosen value)
    stage: str
    param: str
    value: float
    reference: float
    metric: str
    judgement: Judgement
    racing: str = ""  # a level of a racing stage: where its race left its point (running, futile, ...)

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def reading(self) -> str:
        """The verdict in words; an undecided level of a racing stage says why its point stopped."""
        if self.verdict != UNDECIDED or not self.racing:
            return self.verdict
        n = self.judgement.difference.n
        why = {
            FUTILE: f"stopped at {n} seeds: neither verdict reachable by max",
            DECIDED: f"stopped at {n} seeds, decided on the objective in its stage's race",
            AT_MAX: f"ran the most seeds, {n}",
            RUNNING: "still running: more seeds may tell",
        }[self.racing]
        return f"{UNDECIDED}: {why}"


@dataclass(frozen=True)
class CurveVerdict:
    """Whether a parameter changes a metric at all, over one stage's curve."""

    stage: str
    param: str
    metric: str
    levels: tuple[float, ...]
    test: OverallTest
    p_holm: float
    verdict: str  # differs: the overall test rejects; no practical difference: every level is; else undecided
    effect: Comparison | None  # the level farthest from the base (largest |mean paired difference|)


@dataclass(frozen=True)
class Band:
    """A point's mean over seeds and the 95 % interval of that mean (t distribution)."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Budget:
    """Trials racing ran against the design that runs every point at `max` seeds."""

    ran: int
    fixed: int
    stages: tuple[tuple[str, int, int], ...]  # (stage, ran, fixed)


@dataclass(frozen=True)
class Verdicts:
    alpha: float
    min_effect: dict[str, float]
    seed_start: int
    seed_max: int
    family_size: int  # hypotheses judged together on one metric (mmrest.selection.family)
    comparisons: tuple[Comparison, ...]  # every metric
    curves: tuple[CurveVerdict, ...]  # every metric
    base: dict[str, dict[str, Band]]  # param -> metric column (valid_* and test_*) -> the base point's band
    planner: dict[str, dict[int, float] | None]  # metric -> seeds -> smallest detectable difference
    budget: Budget | None  # None without racing

    def of(self, kind: str, metric: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.kind == kind and c.metric == metric]

    def level(self, stage: str, param: str, value: float, metric: str) -> Comparison | None:
        return next((c for c in self.of(LEVEL, metric) if (c.stage, c.param) == (stage, param)
                     and same_value(c.value, value)), None)

    def curve(self, param: str, metric: str) -> CurveVerdict | None:
        """The curve of the first stage that varies `param` one at a time (its widest range)."""
        return next((c for c in self.curves if c.param == param and c.metric == metric), None)


def verdicts(trials: pd.DataFrame, facts: StudyFacts, choices: Choices) -> Verdicts:
    found = curves(trials, facts)
    study = study_comparisons(trials, facts, choices, found)
    values = valid_values(study, facts)
    comparisons, curve_verdicts = [], []
    for metric in METRIC_NAMES:
        race = {s.name: s.race for s in facts.stages}
        judged = [Comparison(p.kind, p.stage, p.param, p.value, p.reference, metric, j,
                             racing=race.get(p.stage, {}).get(p.label, "") if p.kind == LEVEL else "")
                  for p, j in zip(study.pairings, judge(study, values[metric], metric, facts))]
        comparisons += judged
        curve_verdicts += _curve_verdicts(found, [c for c in judged if c.kind == LEVEL], metric, facts)
    return Verdicts(
        alpha=schedule(facts).alpha, min_effect=dict(facts.min_effect), seed_start=facts.seed_start,
        seed_max=facts.seed_max, family_size=study.family.size, comparisons=tuple(comparisons),
        curves=tuple(curve_verdicts), base=_bands(found, facts), planner=seed_plans(study, values, facts),
        budget=_budget(trials, facts) if facts.racing else None,
    )


def _curve_verdicts(found: list[Curve], levels: list[Comparison], metric: str, facts: StudyFacts) -> list[CurveVerdict]:
    out = []
    for tested in curve_tests(found, metric, facts):
        c = tested.curve
        own = [x for x in levels if (x.stage, x.param) == (c.stage, c.param)]
        if tested.p_holm <= schedule(facts).alpha:
            verdict = DIFFERS
        elif own and all(x.verdict == NO_PRACTICAL_DIFFERENCE for x in own):
            verdict = NO_PRACTICAL_DIFFERENCE
        else:
            verdict = UNDECIDED
        effect = max(own, key=lambda x: abs(x.judgement.difference.mean) if math.isfinite(x.judgement.difference.mean)
                     else -1.0, default=None)
        out.append(CurveVerdict(c.stage, c.param, metric, c.levels, tested.test, tested.p_holm, verdict, effect))
    return out


def _bands(found: list[Curve], facts: StudyFacts) -> dict[str, dict[str, Band]]:
    """Per parameter, the base point's band on every metric, from its first curve."""
    bands: dict[str, dict[str, Band]] = {}
    for c in found:
        if c.param in bands:
            continue
        base = c.rows[0].loc[c.rows[0]["state"] == "COMPLETE"]
        bands[c.param] = {col: _band(base[col].astype(float).to_numpy())
                          for col in (metric_column(s, m) for s in SPLITS for m in METRIC_NAMES)}
    return bands


def _band(values: np.ndarray) -> Band:
    # The interval of a mean is that of its difference from zero: the paired test's, edge cases included.
    d = paired_difference(values, np.zeros_like(values))
    return Band(d.mean, d.ci_low, d.ci_high, d.n)


def _budget(trials: pd.DataFrame, facts: StudyFacts) -> Budget:
    """Per racing stage, its trials against every point of the stage at `max` seeds."""
    rows = []
    for stage in facts.tuning_stages():
        if stage.design != ONE_AT_A_TIME:
            continue
        own = finished(trials).loc[lambda rows: rows["stage"] == stage.name]
        labels = own["key"].map(point_key)
        # A refine stage runs the base point only for seeds its source did not: without racing it
        # would not run it at all.
        own_base = bool(((own["varied"] == BASE) & (own["seed"] == facts.seeds[0])).any())
        points = labels[own["varied"] != BASE].nunique() + own_base
        rows.append((stage.name, len(own), points * facts.seed_max))
    return Budget(sum(r[1] for r in rows), sum(r[2] for r in rows), tuple(rows))

"""The report's family of comparisons on one metric, on arrays: which pairs of points are judged
together, and each shown comparison's judgement.

Two kinds of comparison are shown (mmrest.selection.comparisons builds them from a trial table;
benchmarks/stats_calibration.py from simulated values):

- a level of a one_at_a_time curve against its stage's base point (fixed before the data);
- a final-value candidate against the value the rule chose. The chosen value was picked on the
  same data, so such a comparison is one of many the choice could have produced: the family holds
  every pair of candidates on the chosen value's line (Tukey's principle: a pair picked after
  looking is still a member, so the family-wise guarantee covers it whatever the rule picked),
  not just the pairs with the winner. A grid stage has a line per setting of the other
  hyperparameters, and all of its lines are in the family: the chosen configuration's line is
  itself picked on the data.

Every distinct pair of points is one hypothesis, judged once (a level against the base and the
same two points as candidates are one test); the hypotheses of a study are one family per metric
(Holm across all of them), and the comparisons of a stage borrow its noise estimate
(mmrest.stats.family).
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np

from mmrest.stats import Judgement, Schedule, judge_comparisons
from mmrest.trial_table import same_value

PointId = Hashable  # a point within its stage: (stage, configuration) in the report


@dataclass(frozen=True)
class Shown:
    """A comparison the report shows: treatment minus reference, in a stage (its pooling group)."""

    stage: str
    treatment: PointId
    reference: PointId


@dataclass(frozen=True)
class Line:
    """Candidates of a final value on one line: points that differ only in the chosen
    hyperparameter, in a stage. Every pair of them is a hypothesis."""

    stage: str
    points: tuple[PointId, ...]


@dataclass(frozen=True)
class StudyFamily:
    """The hypotheses of a study's report and which of them each shown comparison reads."""

    hypotheses: tuple[tuple[PointId, PointId, str], ...]  # (treatment, reference, stage)
    shown: tuple[tuple[int, bool], ...]  # per shown comparison: its hypothesis, and whether reversed

    @classmethod
    def of(cls, shown: Sequence[Shown], lines: Sequence[Line]) -> StudyFamily:
        index: dict[tuple[str, frozenset], int] = {}
        hypotheses: list[tuple[PointId, PointId, str]] = []

        def hypothesis(stage: str, treatment: PointId, reference: PointId) -> tuple[int, bool]:
            key = (stage, frozenset((treatment, reference)))
            if key not in index:
                index[key] = len(hypotheses)
                hypotheses.append((treatment, reference, stage))
            return index[key], hypotheses[index[key]][0] != treatment

        mapped = [hypothesis(s.stage, s.treatment, s.reference) for s in shown]
        for line in lines:
            for a, b in combinations(line.points, 2):
                hypothesis(line.stage, b, a)
        return cls(hypotheses=tuple(hypotheses), shown=tuple(mapped))

    @property
    def size(self) -> int:
        return len(self.hypotheses)

    def judge(self, values: Mapping[PointId, Sequence[float]], *, schedule: Schedule,
              min_effect: float) -> list[Judgement]:
        """Each shown comparison's judgement on one metric (`values`: each point's per-seed values
        in seed-list order), the whole family corrected together."""
        if not self.hypotheses:
            return []
        judged = judge_comparisons(values, [(t, r) for t, r, _ in self.hypotheses], schedule=schedule,
                                   min_effect=min_effect, groups=[g for _, _, g in self.hypotheses])
        return [reversed_judgement(judged[i]) if flip else judged[i] for i, flip in self.shown]


def reversed_judgement(j: Judgement) -> Judgement:
    """The same test read the other way round: reference minus treatment."""
    d = j.difference
    return replace(
        j, difference=replace(d, mean=-d.mean, ci_low=-d.ci_high, ci_high=-d.ci_low),
        corrected_low=-j.corrected_high, corrected_high=-j.corrected_low,
        adjusted_low=-j.adjusted_high, adjusted_high=-j.adjusted_low,
        equivalence_low=-j.equivalence_high, equivalence_high=-j.equivalence_low,
    )


def lines_of(configs: Sequence[tuple[float, ...]], param_index: int) -> list[list[int]]:
    """The configurations (indices into `configs`) grouped by their values of every
    hyperparameter but `param_index` (the same values by `same_value`): each group of two or
    more is a line along that hyperparameter."""
    others = [np.delete(np.asarray(c, dtype=np.float64), param_index) for c in configs]
    groups: list[list[int]] = []
    for i, rest in enumerate(others):
        home = next((g for g in groups if same_value(others[g[0]], rest).all()), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return [g for g in groups if len(g) >= 2]

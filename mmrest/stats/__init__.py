"""Seed-aware statistics of a study: paired comparisons, their verdicts, racing, planning.

Pure computation on per-seed values; the study engine, the report and the analyses call it, and
`benchmarks/stats_calibration.py` validates it by simulation. Definitions: docs/statistics.md.
"""
from mmrest.stats.defaults import DEFAULT_MIN_EFFECT
from mmrest.stats.family import (
    DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED, VERDICTS, Holm, Judgement, holm, judge_family,
)
from mmrest.stats.overall import OverallTest, overall_test
from mmrest.stats.paired import PairedDifference, paired_difference
from mmrest.stats.planner import detectable_differences, planned_power
from mmrest.stats.racing import (
    AT_MAX, DECIDED, FUTILE, RUNNING, STATUSES, Race, RoundPlan, race_round, replay,
)
from mmrest.stats.schedule import Schedule

__all__ = [
    "AT_MAX", "DECIDED", "DEFAULT_MIN_EFFECT", "DIFFERS", "FUTILE", "Holm", "Judgement",
    "NO_PRACTICAL_DIFFERENCE", "OverallTest", "PairedDifference", "RUNNING", "Race", "RoundPlan",
    "STATUSES", "Schedule", "UNDECIDED", "VERDICTS", "detectable_differences", "holm",
    "judge_family", "overall_test", "paired_difference", "planned_power", "race_round", "replay",
]

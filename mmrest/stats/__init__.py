"""Seed-aware statistics of a study: paired comparisons, their verdicts, racing, planning.

Pure computation on per-seed values; the study engine, the report and the analyses call it, and
`benchmarks/stats_calibration.py` validates it by simulation. Definitions: docs/statistics.md.

The names below load their module on first use: validating a spec needs only the defaults, and a
typo in a spec is refused before scipy and statsmodels load (about a second).
"""
from mmrest.lazy import lazy_exports

_EXPORTS = {
    "defaults": ("DEFAULT_MIN_EFFECT",),
    "family": ("DIFFERS", "NO_PRACTICAL_DIFFERENCE", "UNDECIDED", "VERDICTS", "Holm", "Judgement", "holm",
               "judge_comparisons", "judge_family", "FamilyData", "OWN", "POOLED"),
    "overall": ("OverallTest", "overall_test"),
    "paired": ("PairedDifference", "paired_difference"),
    "planner": ("PLANNER_SEEDS", "detectable_differences", "planned_power"),
    "racing": ("AT_MAX", "DECIDED", "FUTILE", "RUNNING", "STATUSES", "Race", "RoundPlan", "race_round", "replay"),
    "schedule": ("Schedule",),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

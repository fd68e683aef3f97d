"""The supplement's analyses of one configuration: ablations, variance (Table 6), case study (Table 7).

Compute functions (`ablation`, `variance`, `case_study`, combined by `summary.compute_analysis`)
are pure and return small records; `outputs` reads what a trial saved, `store` keeps the result
as JSON in the study folder, and `driver` runs `mmrest-study analyze`. What other packages may
use is exported here: the result type `Analysis` with the records inside it, and how to load it.
"""
from mmrest.analysis.ablation import REFERENCE, RULE, AblationRow, Cell
from mmrest.analysis.case_study import CaseStudy
from mmrest.analysis.stats import Paired, Stat
from mmrest.analysis.store import load_analysis_if_any
from mmrest.analysis.summary import Analysis
from mmrest.analysis.variance import SETTING_LABELS, SETTINGS, VarianceRow
from mmrest.analysis.variants import FULL

__all__ = [
    "FULL", "REFERENCE", "RULE", "SETTINGS", "SETTING_LABELS", "AblationRow", "Analysis", "CaseStudy", "Cell",
    "Paired",
    "Stat", "VarianceRow", "load_analysis_if_any",
]

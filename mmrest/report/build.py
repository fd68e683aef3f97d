"""Build a study's report: compute every section's numbers, render one HTML page, write it and
the trials as CSV beside it. Input is checked before anything is written."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmrest.analysis import Analysis
from mmrest.errors import InputError
from mmrest.files import write_text_atomic
from mmrest.report.compute import panels, study_facts_summary
from mmrest.report.html import Report, render_page
from mmrest.report.importance import importance
from mmrest.report.standing import standing
from mmrest.report.table import check_split
from mmrest.report.verdicts import Verdicts, verdicts
from mmrest.selection import DEFAULT_RULE, choose_for_study
from mmrest.training.floor import Floor
from mmrest.trial_table import StudyFacts, check_table, complete


def compute_report(
    trials: pd.DataFrame, facts: StudyFacts, *, rule: str = DEFAULT_RULE, analysis: Analysis | None = None,
    floor: Floor | None = None,
) -> Report:
    """All numbers of the report, from a trials table and the study's facts (mmrest.trial_table),
    the study's floor (mmrest.training.floor), and its analysis when `mmrest-study analyze` has
    written one."""
    check_table(trials)
    done, stages = complete(trials), facts.tuning_stages()
    choices = choose_for_study(trials, facts, rule)
    judged = verdicts(trials, facts, choices)
    return Report(
        facts=study_facts_summary(trials, facts),
        panels=panels(done, stages, facts.base_values, {c.param: c.chosen for c in choices.items}),
        choices=choices,
        importance=importance(done, stages, facts.objective),
        verdicts=judged,
        standing=standing(done, trials, facts, choices, judged, floor),
        analysis=analysis,
    )


def build_report(
    trials: pd.DataFrame, facts: StudyFacts, out_html: Path, *, rule: str = DEFAULT_RULE, split: str = "valid",
    analysis: Analysis | None = None, floor: Floor | None = None,
) -> Path:
    """Write the report to `out_html` and every trial to the .csv beside it; return the HTML path.

    `split` is the metrics split the figures show first; choices always use validation."""
    out_html = Path(out_html)
    if out_html.suffix != ".html":
        raise InputError(f"-o {out_html}: the report is one HTML file; give a path ending in .html")
    check_split(split)
    return write_report(compute_report(trials, facts, rule=rule, analysis=analysis, floor=floor), trials, out_html,
                        split=split)


def write_report(report: Report, trials: pd.DataFrame, out_html: Path, *, split: str = "valid") -> Path:
    """Write a computed report's page to `out_html`, its trials and its comparisons as CSVs beside it."""
    write_text_atomic(out_html, render_page(report, split=split))
    write_text_atomic(out_html.with_suffix(".csv"), trials.to_csv(index=False))
    write_text_atomic(comparisons_path(out_html), comparisons_table(report.verdicts).to_csv(index=False))
    return out_html


COMPARISON_COLUMNS = [
    "kind", "stage", "param", "value", "reference", "metric", "seeds", "mean_difference", "ci95_low", "ci95_high", "p",
    "test", "df", "p_sequential", "p_holm", "corrected_low", "corrected_high", "equivalence_low", "equivalence_high",
    "min_effect", "verdict", "racing", "reading",
]


def comparisons_path(out_html: Path) -> Path:
    return out_html.with_name(f"{out_html.stem}_comparisons.csv")


def comparisons_table(judged: Verdicts) -> pd.DataFrame:
    """Every comparison on every validation metric: the paired numbers and the verdict."""
    return pd.DataFrame([
        {"kind": c.kind, "stage": c.stage, "param": c.param, "value": c.value, "reference": c.reference,
         "metric": c.metric, "seeds": c.judgement.difference.n, "mean_difference": c.judgement.difference.mean,
         "ci95_low": c.judgement.difference.ci_low, "ci95_high": c.judgement.difference.ci_high,
         "p": c.judgement.difference.p, "test": c.judgement.test, "df": c.judgement.df,
         "p_sequential": c.judgement.p_sequential, "p_holm": c.judgement.p_holm,
         "corrected_low": c.judgement.corrected_low, "corrected_high": c.judgement.corrected_high,
         "equivalence_low": c.judgement.equivalence_low, "equivalence_high": c.judgement.equivalence_high,
         "min_effect": judged.min_effect[c.metric], "verdict": c.verdict, "racing": c.racing, "reading": c.reading}
        for c in judged.comparisons
    ], columns=COMPARISON_COLUMNS)

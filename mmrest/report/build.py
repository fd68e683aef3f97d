"""Build a study's report: compute every section's numbers, render one HTML page, write it and
the trials as CSV beside it. Input is checked before anything is written."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmrest.analysis import Analysis
from mmrest.errors import InputError
from mmrest.files import write_text_atomic
from mmrest.report.compute import curves, study_facts_summary
from mmrest.report.html import Report, render_page
from mmrest.report.importance import importance
from mmrest.report.table import check_split
from mmrest.selection import DEFAULT_RULE, choose, get_rule
from mmrest.trial_table import StudyFacts, check_table, complete


def compute_report(
    trials: pd.DataFrame, facts: StudyFacts, *, rule: str = DEFAULT_RULE, analysis: Analysis | None = None,
) -> Report:
    """All numbers of the report, from a trials table and the study's facts (mmrest.trial_table),
    and the study's analysis when `mmrest-study analyze` has written one."""
    check_table(trials)
    done, stages = complete(trials), facts.tuning_stages()
    choices = choose(done, stages, facts.base_values, facts.objective, get_rule(rule),
                     study_name=facts.name, base=facts.base)
    return Report(
        facts=study_facts_summary(trials, facts),
        curves=curves(done, stages, facts.base_values, {c.param: c.chosen for c in choices.items}),
        choices=choices,
        importance=importance(done, stages, facts.objective),
        analysis=analysis,
    )


def build_report(
    trials: pd.DataFrame, facts: StudyFacts, out_html: Path, *, rule: str = DEFAULT_RULE, split: str = "valid",
    analysis: Analysis | None = None,
) -> Path:
    """Write the report to `out_html` and every trial to the .csv beside it; return the HTML path.

    `split` is the metrics split the figures show first; choices always use validation."""
    out_html = Path(out_html)
    if out_html.suffix != ".html":
        raise InputError(f"-o {out_html}: the report is one HTML file; give a path ending in .html")
    check_split(split)
    page = render_page(compute_report(trials, facts, rule=rule, analysis=analysis), split=split)
    write_text_atomic(out_html, page)
    write_text_atomic(out_html.with_suffix(".csv"), trials.to_csv(index=False))
    return out_html

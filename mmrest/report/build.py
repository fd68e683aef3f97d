"""Build a study's report: compute every section's numbers, render one HTML page, write it and
the trials as CSV beside it. Input is checked before anything is written."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmrest.analysis.summary import Analysis
from mmrest.errors import InputError
from mmrest.report.choice import choose
from mmrest.report.compute import curves, study_facts_summary
from mmrest.report.html import Report, render_page
from mmrest.report.importance import importance
from mmrest.report.rules import DEFAULT_RULE, get_rule
from mmrest.report.table import (
    check_facts, check_split, check_trials, complete, objective, tuning_stages,
)


def compute_report(
    trials: pd.DataFrame, facts: dict, *, rule: str = DEFAULT_RULE, analysis: Analysis | None = None,
) -> Report:
    """All numbers of the report, from a trials table and facts dict that follow the contract, and
    the study's analysis when `mmrest-study analyze` has written one."""
    check_trials(trials)
    check_facts(facts)
    chosen_rule, target = get_rule(rule), objective(facts)
    done, stages = complete(trials), tuning_stages(facts)
    choices = choose(
        done, stages, facts["base_values"], target, chosen_rule,
        study_name=str(facts["name"]), base=facts["spec"].get("base"),
    )
    return Report(
        facts=study_facts_summary(trials, facts, target),
        curves=curves(done, stages, facts["base_values"], {c.param: c.chosen for c in choices.items}),
        choices=choices,
        importance=importance(done, stages, target),
        analysis=analysis,
    )


def build_report(
    trials: pd.DataFrame, facts: dict, out_html: Path, *, rule: str = DEFAULT_RULE, split: str = "valid",
    analysis: Analysis | None = None,
) -> Path:
    """Write the report to `out_html` and every trial to the .csv beside it; return the HTML path.

    `split` is the metrics split the figures show first; choices always use validation."""
    out_html = Path(out_html)
    if out_html.suffix != ".html":
        raise InputError(f"-o {out_html}: the report is one HTML file; give a path ending in .html")
    check_split(split)
    page = render_page(compute_report(trials, facts, rule=rule, analysis=analysis), split=split)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(page, encoding="utf-8")
    trials.to_csv(out_html.with_suffix(".csv"), index=False)
    return out_html

"""One self-contained HTML page: plotly.js inlined once in the head, every figure a div that
calls it, tables and text from the records. No external URL is referenced, so the page works
offline and makes no network request.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from mmrest.analysis.summary import Analysis
from mmrest.data.dataset import MODALITIES
from mmrest.report.analysis_sections import analysis_sections
from mmrest.report.choice import Choice, Choices
from mmrest.report.compute import Curve, Facts
from mmrest.report.importance import ONE_AT_A_TIME_STATEMENT, Importance, StageImportance
from mmrest.report.render import (
    METRIC_LABELS, SPLIT_LABELS, fig4, metric_grid, param_label, spread_figure, stage_importance_figure,
)

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 1.5em 3em; color: #222; }
h1 { margin-top: 1em; } h2 { border-bottom: 1px solid #ccc; padding-top: 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
pre { background: #f6f8fa; padding: 0.8em; border: 1px solid #ddd; }
.partial { background: #fff3cd; border: 2px solid #d39e00; padding: 0.8em 1em; font-size: 1.1em; }
.note { color: #555; } nav a { margin-right: 1em; }
"""


@dataclass(frozen=True)
class Report:
    """Every number the page shows, computed before any drawing."""

    facts: Facts
    curves: tuple[Curve, ...]
    choices: Choices
    importance: Importance
    analysis: Analysis | None = None  # written by `mmrest-study analyze`, when it has run


def render_page(report: Report, *, split: str) -> str:
    facts = report.facts
    sections = [
        ("fig4", "Fig. 4, rebuilt: Acc-5 and Acc-7 against each hyperparameter", _fig4_section(report, split)),
        ("metrics", "Every metric against each hyperparameter", _metrics_section(report, split)),
        ("final", "Final values", _final_section(report.choices)),
        ("importance", "Importance", _importance_section(report.importance)),
    ]
    if report.analysis is not None:
        sections += analysis_sections(report.analysis, report.choices.config, _figure_div)
    sections.append(("facts", "Facts of the study", _facts_section(facts)))
    sections = [(sid, f"{i}. {title}", html) for i, (sid, title, html) in enumerate(sections, start=1)]
    nav = " ".join(f'<a href="#{sid}">{escape(title.split(":")[0])}</a>' for sid, title, _ in sections)
    body = "\n".join(f'<section id="{sid}"><h2>{escape(title)}</h2>\n{html}</section>' for sid, title, html in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>mmrest-study report: {escape(facts.name)}</title><style>{CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"<h1>mmrest-study report: {escape(facts.name)}</h1>{_partial_banner(facts)}"
        f"<p>{escape(facts.dataset)} &middot; objective {escape(facts.objective.metric)} "
        f"({'higher' if facts.objective.higher_is_better else 'lower'} is better) &middot; "
        f"final values by rule <b>{escape(report.choices.rule.name)}</b></p><nav>{nav}</nav>\n{body}</body></html>\n"
    )


def _figure_div(fig: go.Figure, div_id: str) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)


def _partial_banner(facts: Facts) -> str:
    if not facts.partial:
        return ""
    return (
        f'<p class="partial" id="partial"><b>Partial study.</b> {facts.done} of {facts.planned} planned '
        f"trials are complete; {facts.failed} failed, {facts.running} running, {facts.waiting} waiting. "
        "Every number below covers only the complete trials and may change when the study finishes "
        "(resume it with <code>mmrest-study run SPEC --resume</code>).</p>"
    )


def _fig4_section(report: Report, split: str) -> str:
    rule = report.choices.rule.name
    text = (
        "<p>Points: mean over seeds; bars: min to max over seeds; marker shape: stage. Grey dashed "
        f"line: the paper's value; green line: the value chosen by rule <b>{escape(rule)}</b> "
        f"(section 3). {SPLIT_LABELS[split]} metrics are shown first; the buttons switch splits "
        "(choices use validation only). A log axis is used where the grid is log-spaced. In a "
        "one-at-a-time stage a curve holds the parameter's points and the base point; in a grid or "
        "tpe stage each point also averages over the other parameters.</p>"
    )
    if not report.curves:
        return text + '<p class="note">No hyperparameter varies in this study.</p>'
    return text + _figure_div(fig4(report.curves, split=split), "fig4-plot")


def _metrics_section(report: Report, split: str) -> str:
    text = (
        "<p>Rows: metrics (MAE lower is better, all others higher); columns: hyperparameters; "
        "colour and shape: stage; bars: min to max over seeds.</p>"
    )
    if not report.curves:
        return text + '<p class="note">No hyperparameter varies in this study.</p>'
    return text + _figure_div(metric_grid(report.curves, split=split), "metrics-plot")


def _final_section(choices: Choices) -> str:
    head = (
        f"<p>Rule <b>{escape(choices.rule.name)}</b>: {escape(choices.rule.definition)} "
        "Only validation metrics enter the choice. The study objective is "
        f"<b>{escape(choices.objective.metric)}</b>. Each difference is shown beside the seed noise "
        "(std over seeds, n - 1; for two candidates the root mean square of both). A choice rests on "
        "the latest stage that varies the parameter: in a one-at-a-time stage the candidates are its "
        "values with the others at the base point (earlier lines through the same base join in); in a "
        "grid or tpe stage they are whole configurations, and every parameter takes the winner's "
        "value.</p>"
    )
    header = (
        "<tr><th>parameter</th><th>paper</th><th>chosen</th><th>runner-up</th><th>rests on</th>"
        f"<th>{escape(choices.objective.metric)} at chosen</th><th>at runner-up</th>"
        "<th>metrics agreeing</th><th>metrics disagreeing (means over seeds)</th></tr>"
    )
    rows = "".join(_choice_row(c) for c in choices.items)
    return (
        head + f"<table>{header}{rows}</table>"
        "<p>The chosen configuration, ready to paste into a spec (parameters that no stage varied "
        f"keep the paper's value):</p><pre id=\"chosen-yaml\">{escape(choices.yaml)}</pre>"
    )


def _choice_row(c: Choice) -> str:
    if c.chosen is None:
        cells = [param_label(c.param), _num(c.paper), "no complete trial yet: paper's value kept", "", "", "", "", "", ""]
        return "<tr>" + "".join(f"<td>{escape(x)}</td>" for x in cells) + "</tr>"
    dissent = "<br>".join(
        f"{METRIC_LABELS[d.metric]} prefers {_num(d.preferred)}: {_num(d.best)} there vs "
        f"{_num(d.at_chosen)} at the chosen value; gap {_num(d.gap, 3)}, seed noise {_num(d.noise, 3)}"
        f"{_versus_noise(d.gap, d.noise)}"
        for d in c.disagreements
    ) or "none"
    cells = [
        escape(param_label(c.param)), _num(c.paper), f"<b>{_num(c.chosen)}</b>", _num(c.runner_up),
        escape(f"{c.stage} ({c.design}, {c.candidates} candidates)"),
        _mean_std(c.objective, c.objective_std), _mean_std(c.runner_up_objective, c.runner_up_objective_std),
        escape(", ".join(METRIC_LABELS[m] for m in c.agree) or "none"), dissent,
    ]
    return "<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>"


def _importance_section(result: Importance) -> str:
    html = "".join(_stage_importance(stage, result.objective.metric) for stage in result.stages)
    if result.spreads:
        rows = "".join(
            f"<tr><td>{escape(param_label(s.param))}</td><td>{_num(s.spread)}</td><td>{_num(s.noise)}</td>"
            f"<td>{_ratio(s.spread, s.noise)}</td><td>{_num(s.best)}</td><td>{_num(s.worst)}</td>"
            f"<td>{escape(s.stage)}</td></tr>"
            for s in result.spreads
        )
        html += (
            f"<h3>One-at-a-time stages</h3><p>{escape(ONE_AT_A_TIME_STATEMENT)}</p>"
            "<table><tr><th>parameter</th><th>spread</th><th>seed noise</th><th>spread / noise</th>"
            f"<th>best at</th><th>worst at</th><th>stage</th></tr>{rows}</table>"
            + _figure_div(spread_figure(result), "importance-spread")
        )
    return html or '<p class="note">No stage has complete trials that vary a parameter yet.</p>'


def _stage_importance(stage: StageImportance, metric: str) -> str:
    title = f"<h3>Stage {escape(stage.stage)} ({escape(stage.design)})</h3>"
    if stage.fanova is None:
        return f'{title}<p class="note">Not computed: {escape(stage.note)}.</p>'
    rows = "".join(
        f"<tr><td>{escape(param_label(p))}</td><td>{_num(stage.ped_anova[p], 3)}</td>"
        f"<td>{_num(stage.fanova[p], 3)}</td></tr>"
        for p in sorted(stage.params, key=lambda p: -stage.fanova[p])
    )
    return (
        f"{title}<p>Optuna's PED-ANOVA and fANOVA on the stage's {stage.trials} complete trials "
        f"(each seed a trial), objective {escape(metric)}; each evaluator's shares sum to 1.</p>"
        f"<table><tr><th>parameter</th><th>PED-ANOVA</th><th>fANOVA</th></tr>{rows}</table>"
        + _figure_div(stage_importance_figure(stage), f"importance-{stage.stage}")
    )


def _facts_section(facts: Facts) -> str:
    real = [m for m in MODALITIES if m not in facts.absent_modalities]
    rows = [
        ("dataset", facts.dataset),
        ("modalities", f"real: {', '.join(real)}; absent (placeholder inputs): {', '.join(facts.absent_modalities) or 'none'}"),
        ("seeds", ", ".join(str(s) for s in facts.seeds)),
        ("objective", f"{facts.objective.metric} ({'max' if facts.objective.higher_is_better else 'min'})"),
        ("paper's values", f"preset {facts.base}: " + ", ".join(f"{p} = {_num(v)}" for p, v in facts.base_values.items())),
        ("trials", f"{facts.done} complete of {facts.planned} planned; {facts.failed} failed; "
                   f"{facts.running} running; {facts.waiting} waiting"),
        ("status", "partial: not every planned trial is done" if facts.partial else "finished"),
        ("started / finished", f"{facts.started or 'n/a'} / {facts.finished or 'not finished'}"),
        ("wall time", _duration(facts.wall_seconds)),
        ("trial time (summed)", _duration(facts.trial_seconds)),
        ("machine", _mapping(facts.machine)),
        ("versions", _mapping(facts.versions)),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    stage_rows = "".join(
        f"<tr><td>{escape(s.stage)}</td><td>{escape(s.design)}</td><td>{s.complete}</td><td>{s.failed}</td>"
        f"<td>{s.running}</td><td>{s.waiting}</td></tr>"
        for s in facts.stages
    )
    html = (
        f"<table>{table}</table><table><tr><th>stage</th><th>design</th><th>complete</th><th>failed</th>"
        f"<th>running</th><th>waiting</th></tr>{stage_rows}</table>"
    )
    if facts.failures:
        items = "".join(f"<li><code>{escape(key)}</code>: {escape(err)}</li>" for key, err in facts.failures)
        html += f"<p>Failed trials (left out of every number above):</p><ul>{items}</ul>"
    return html


def _num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    return f"{x:.{digits}g}"


def _mean_std(mean: float | None, std: float | None) -> str:
    return "n/a" if mean is None else f"{_num(mean)} ± {_num(std)}"


def _versus_noise(gap: float, noise: float) -> str:
    if math.isnan(noise):
        return ""
    return " (<b>beyond</b> the noise)" if gap > noise else " (within the noise)"


def _ratio(spread: float, noise: float) -> str:
    return "n/a" if not noise or math.isnan(noise) else f"{spread / noise:.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a (not finished)"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _mapping(value: dict | str) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)

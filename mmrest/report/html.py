"""One self-contained HTML page from the report's records, through the Jinja2 templates in
`templates/` (autoescaped: every text from a study, a transcript or a spec is escaped on the way
out). plotly.js is inlined once in the head and every figure is a div that calls it; no external
URL is referenced, so the page works offline and makes no network request.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from mmrest.analysis import RULE, SETTING_LABELS, SETTINGS, Analysis, Stat
from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.data.dataset import MODALITIES
from mmrest.formatting import format_duration, format_number
from mmrest.metrics import METRIC_NAMES
from mmrest.report.analysis_figures import ablation_figure, variance_figure
from mmrest.report.compute import Facts, Panel
from mmrest.report.curve_figures import Marks, fig4, metric_grid
from mmrest.report.importance import ONE_AT_A_TIME_STATEMENT, Importance
from mmrest.report.labels import METRIC_LABELS, SPLIT_LABELS, VERDICT_COLOURS, param_label
from mmrest.report.render import ForestRow, forest_figure, stage_importance_figure
from mmrest.report.standing import Standing
from mmrest.report.verdicts import Comparison, Verdicts
from mmrest.selection import Choices
from mmrest.selection.comparisons import CANDIDATE, LEVEL
from mmrest.stats import DIFFERS, NO_PRACTICAL_DIFFERENCE, PLANNER_SEEDS, UNDECIDED
from mmrest.trial_table import DIAGNOSTIC_COLUMNS, same_value

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
    panels: tuple[Panel, ...]
    choices: Choices
    importance: Importance
    verdicts: Verdicts
    standing: Standing
    analysis: Analysis | None = None  # written by `mmrest-study analyze`, when it has run


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    html: Markup


def render_page(report: Report, *, split: str) -> str:
    sections = [
        ("verdicts", "Verdicts: how a difference is judged", _legend_section(report)),
        ("fig4", "Fig. 4, rebuilt: Acc-5 and Acc-7 against each hyperparameter", _fig4_section(report, split)),
        ("metrics", "Every metric against each hyperparameter", _metrics_section(report, split)),
        ("differences", "Differences, drawn as differences", _differences_section(report)),
        ("final", "Final values", _final_section(report)),
        ("importance", "Importance", _importance_section(report)),
        ("seeds", "Seeds: the noise, the racing budget and what more seeds would buy", _seeds_section(report)),
    ]
    if report.analysis is not None:
        sections += _analysis_sections(report.analysis, report.choices.config, report.standing)
    sections.append(("facts", "Facts of the study", _facts_section(report)))
    numbered = [Section(sid, f"{i}. {title}", html) for i, (sid, title, html) in enumerate(sections, start=1)]
    return _render("page.html.j2", facts=report.facts, rule=report.choices.rule.name, sections=numbered,
                   standing=report.standing, css=CSS, plotly_js=Markup(get_plotlyjs())) + "\n"


def _figure_div(fig: go.Figure, div_id: str) -> Markup:
    # plotly writes the div and its script itself: trusted markup, not text.
    return Markup(pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG))


def _marks(report: Report) -> Marks:
    return Marks(verdicts=report.verdicts, floor=report.standing.floor, floor_name=report.standing.floor_name or "")


def _legend_section(report: Report) -> Markup:
    v = report.verdicts
    return _render("legend.html.j2", v=v, metric_labels=METRIC_LABELS, colours=VERDICT_COLOURS,
                   objective=report.facts.objective.metric, verdict_names=(DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED))


def _fig4_section(report: Report, split: str) -> Markup:
    figure = _figure_div(fig4(report.panels, split=split, marks=_marks(report)), "fig4-plot") if report.panels else None
    return _render("fig4.html.j2", rule=report.choices.rule.name, split_label=SPLIT_LABELS[split], figure=figure,
                   standing=report.standing)


def _metrics_section(report: Report, split: str) -> Markup:
    figure = (_figure_div(metric_grid(report.panels, split=split, marks=_marks(report)), "metrics-plot")
              if report.panels else None)
    return _render("metrics.html.j2", figure=figure)


def _differences_section(report: Report) -> Markup:
    v, metric = report.verdicts, report.facts.objective.metric.removeprefix("valid_")
    rows = {m: [ForestRow.of(_comparison_label(c), c.judgement) for c in v.comparisons if c.metric == m]
            for m in METRIC_LABELS}
    figure = (_figure_div(forest_figure(rows, v.min_effect, shown=metric, title="Every paired difference (validation)"),
                          "forest-plot") if any(rows.values()) else None)
    table = [(_comparison_label(c), c) for c in v.comparisons if c.metric == metric]
    return _render("differences.html.j2", figure=figure, table=table, metric=report.facts.objective.metric,
                   colours=VERDICT_COLOURS)


def _final_section(report: Report) -> Markup:
    metric = report.facts.objective.metric.removeprefix("valid_")
    rows = []
    for c in report.choices.items:
        # Only candidates that differ from the chosen configuration in this parameter alone say
        # something about its value (in a grid, others share the value and differ elsewhere).
        against = [x for x in report.verdicts.of(CANDIDATE, metric) if x.param == c.param]
        same = sorted({x.value for x in against if x.verdict != DIFFERS})
        is_paper = c.chosen is not None and same_value(c.chosen, c.paper)
        paper = None if is_paper else next((x for x in against if same_value(x.value, c.paper)), None)
        rows.append((c, same, paper, is_paper))
    return _render("final.html.j2", choices=report.choices, rows=rows, standing=report.standing,
                   metric=report.facts.objective.metric, colours=VERDICT_COLOURS)


def _importance_section(report: Report) -> Markup:
    result, metric = report.importance, report.facts.objective.metric.removeprefix("valid_")
    stage_figures = {s.stage: _figure_div(stage_importance_figure(s), f"importance-{s.stage}")
                     for s in result.stages if s.fanova is not None}
    curves = [c for c in report.verdicts.curves if c.metric == metric]
    effects = {metric: [ForestRow.of(f"{c.stage} · {param_label(c.param)} = {c.effect.value:g}", c.effect.judgement)
                        for c in curves if c.effect is not None]}
    figure = (_figure_div(forest_figure(effects, report.verdicts.min_effect, shown=metric,
                                        title="Each curve's largest difference from the base point"), "importance-effects")
              if effects[metric] else None)
    return _render("importance.html.j2", importance=result, stage_figures=stage_figures, curves=curves,
                   effects_figure=figure, one_at_a_time_statement=ONE_AT_A_TIME_STATEMENT, colours=VERDICT_COLOURS)


def _seeds_section(report: Report) -> Markup:
    return _render("seeds.html.j2", v=report.verdicts, metric_labels=METRIC_LABELS, planner_seeds=PLANNER_SEEDS)


def _comparison_label(c: Comparison) -> str:
    if c.kind == LEVEL:
        return f"{c.stage} · {param_label(c.param)} = {c.value:g} vs base {c.reference:g}"
    return f"final {param_label(c.param)}: {c.value:g} vs chosen {c.reference:g}"


def _facts_section(report: Report) -> Markup:
    facts, standing = report.facts, report.standing
    real = [m for m in MODALITIES if m not in facts.absent_modalities]
    base_values = ", ".join(f"{p} = {format_number(v)}" for p, v in facts.base_values.items())
    rows = [
        ("dataset", facts.dataset),
        ("modalities", f"real: {', '.join(real)}; absent (placeholder inputs): "
                       f"{', '.join(facts.absent_modalities) or 'none'}"),
        ("text", facts.text_path),
        ("seeds", ", ".join(str(s) for s in facts.seeds)),
        ("objective", f"{facts.objective.metric} ({'max' if facts.objective.higher_is_better else 'min'})"),
        ("paper's values", f"preset {facts.base}: {base_values}"),
        ("trials", f"{facts.done} complete of {facts.planned} planned; {facts.failed} failed; "
                   f"{facts.running} running; {facts.waiting} waiting"),
        ("status", "partial: not every planned trial is done" if facts.partial else "finished"),
        ("started / finished", f"{facts.started or 'n/a'} / {facts.finished or 'not finished'}"),
        ("wall time", format_duration(facts.wall_seconds) if facts.wall_seconds is not None else "n/a (not finished)"),
        ("trial time (summed)", format_duration(facts.trial_seconds)),
        ("machine", _mapping(facts.machine)),
        ("versions", _mapping(facts.versions)),
    ]
    if standing.floor is not None:
        rows.append(("floor", f"{standing.floor_name}: " + ", ".join(
            f"{METRIC_LABELS[m]} {format_number(v)}" for m, v in standing.floor["valid"].items()) + " (validation)"))
    diagnostics = standing.chosen_diagnostics
    rows.append(("diagnostics of the chosen configuration", "not run as one point of the study" if diagnostics is None
                 else ", ".join(f"{c} {format_number(diagnostics[c], 3)}" for c in DIAGNOSTIC_COLUMNS)))
    return _render("facts.html.j2", facts=facts, rows=rows)


def _analysis_sections(a: Analysis, chosen: dict[str, float], standing: Standing) -> list[tuple[str, str, Markup]]:
    labels = {v.name: v.label for v in a.variants}
    mismatch = [(p, a.config.get(p, math.nan), chosen[p]) for p in STUDY_HYPERPARAMETERS
                if p in chosen and not same_value(a.config.get(p, math.nan), chosen[p])]
    notes = [*a.notes]
    if a.missing:
        notes.append("no trained model (failed or not run), left out of every number: " + "; ".join(a.missing))
    ablation = _render("ablation.html.j2", a=a, labels=labels, metrics=METRIC_NAMES, rule_text=RULE,
                       mismatch=mismatch, notes=notes, steering=standing.ablation_notes, colours=VERDICT_COLOURS,
                       figure=_figure_div(ablation_figure(a), "ablation-plot"))
    settings = [(s, [r for r in a.variance if r.setting == s]) for s in SETTINGS]
    variance = _render("variance.html.j2", a=a, labels=labels, settings=settings, setting_labels=SETTING_LABELS,
                       colours=VERDICT_COLOURS,
                       figure=_figure_div(variance_figure(a), "variance-plot"))
    return [
        ("ablation", "Ablations: what each part of the model buys", ablation),
        ("variance", "Variance analysis (Table 6)", variance),
        ("cases", "Case study (Table 7)", _render("cases.html.j2", c=a.cases, labels=labels)),
    ]


def _mapping(value: dict | str) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# ---------------------------------------------------------------- templates


def _mean_std(mean: float | None, std: float | None) -> str:
    return "n/a" if mean is None else f"{format_number(mean)} ± {format_number(std)}"


def _stat_text(s: Stat) -> str:
    return format_number(s.mean) if s.std is None else f"{format_number(s.mean)} ± {format_number(s.std, 3)}"


def _versus_noise(gap: float, noise: float) -> Markup:
    if math.isnan(noise):
        return Markup("")
    return Markup(" (<b>beyond</b> the noise)") if gap > noise else Markup(" (within the noise)")


def _ratio(spread: float, noise: float) -> str:
    return "n/a" if not noise or math.isnan(noise) else f"{spread / noise:.1f}"


def _config_text(values: dict[str, float]) -> str:
    return ", ".join(f"{param_label(p)} = {format_number(values[p])}" for p in STUDY_HYPERPARAMETERS if p in values)


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("mmrest.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters.update(
        num=format_number, param_label=param_label, metric_label=METRIC_LABELS.__getitem__,
        by_share=lambda params, shares: sorted(params, key=lambda p: -shares[p]),
    )
    env.globals.update(mean_std=_mean_std, stat_text=_stat_text, versus_noise=_versus_noise, ratio=_ratio,
                       config_text=_config_text)
    return env


def _render(template: str, **context) -> Markup:
    return Markup(_environment().get_template(template).render(**context))

"""Plotly figures of the report's judgements and importance (the curve figures live in
`curve_figures`). Nothing here computes a number the page shows; the records carry them all."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmrest.report.importance import StageImportance
from mmrest.report.labels import METRIC_LABELS, STAGE_COLOURS, VERDICT_COLOURS, param_label
from mmrest.stats import Judgement


def stage_importance_figure(stage: StageImportance) -> go.Figure:
    """PED-ANOVA and fANOVA shares of one grid or tpe stage, side by side."""
    params = sorted(stage.params, key=lambda p: stage.fanova[p])
    fig = make_subplots(rows=1, cols=2, subplot_titles=["PED-ANOVA", "fANOVA"], shared_yaxes=True)
    for col, values in ((1, stage.ped_anova), (2, stage.fanova)):
        fig.add_trace(go.Bar(
            x=[values[p] for p in params], y=[param_label(p) for p in params], orientation="h",
            marker_color=STAGE_COLOURS[col - 1], showlegend=False,
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        ), row=1, col=col)
        fig.update_xaxes(title_text="share of importance", range=[0, 1], row=1, col=col)
    fig.update_layout(
        title_text=f"Stage {stage.stage} ({stage.design}, {stage.trials} complete trials)",
        height=140 + 40 * len(params),
    )
    return fig


class ForestRow(NamedTuple):
    """One paired difference as the forest plot draws it."""

    label: str
    mean: float
    low: float  # the corrected interval
    high: float
    p_holm: float
    seeds: int
    verdict: str

    @classmethod
    def of(cls, label: str, j: Judgement) -> ForestRow:
        return cls(label, j.difference.mean, j.corrected_low, j.corrected_high, j.p_holm, j.difference.n, j.verdict)


def forest_figure(rows: dict[str, list[ForestRow]], min_effect: dict[str, float], *, shown: str,
                  title: str) -> go.Figure:
    """Paired differences drawn as differences: per comparison its mean with the corrected
    interval, coloured by verdict, beside the +-min_effect band and zero. `rows` maps metrics to
    their rows; a menu switches metrics when there are several."""
    fig = go.Figure()
    metrics = [m for m in rows if rows[m]]
    owner: list[str] = []
    for metric in metrics:
        for verdict, colour in VERDICT_COLOURS.items():
            picked = [r for r in rows[metric] if r.verdict == verdict]
            if not picked:
                continue
            means = np.array([r.mean for r in picked])
            low, high = np.array([r.low for r in picked]), np.array([r.high for r in picked])
            fig.add_trace(go.Scatter(
                x=means.tolist(), y=[r.label for r in picked], mode="markers", name=verdict, legendgroup=verdict,
                visible=metric == shown, marker=dict(color=colour, size=8),
                error_x=dict(type="data", symmetric=False, array=np.nan_to_num(high - means),
                             arrayminus=np.nan_to_num(means - low), thickness=1.5),
                customdata=np.column_stack([low, high, [r.p_holm for r in picked], [r.seeds for r in picked]]),
                hovertemplate=("%{y}<br>difference %{x:.4g}, corrected interval [%{customdata[0]:.4g}, "
                               "%{customdata[1]:.4g}]<br>Holm p %{customdata[2]:.3g}, %{customdata[3]} seeds"
                               f"<extra>{verdict}</extra>"),
            ))
            owner.append(metric)
    labels = list(dict.fromkeys(r.label for m in metrics for r in rows[m]))
    fig.update_layout(shapes=_band_shapes(min_effect.get(shown, 0.0)), title_text=title,
                      xaxis_title=f"difference in {METRIC_LABELS.get(shown, shown)}",
                      xaxis_range=_focus_range(rows.get(shown, []), min_effect.get(shown, 0.0)),
                      yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=labels),
                      height=160 + 22 * len(labels), legend=dict(orientation="h", y=-0.15), margin=dict(l=260))
    if len(metrics) > 1:
        fig.update_layout(updatemenus=[dict(
            buttons=[dict(label=METRIC_LABELS.get(m, m), method="update",
                          args=[{"visible": [o == m for o in owner]},
                                {"shapes": _band_shapes(min_effect.get(m, 0.0)),
                                 "xaxis.title.text": f"difference in {METRIC_LABELS.get(m, m)}",
                                 "xaxis.range": _focus_range(rows[m], min_effect.get(m, 0.0))}])
                     for m in metrics],
            active=metrics.index(shown) if shown in metrics else 0, x=1, xanchor="right", y=1.02, yanchor="bottom",
        )])
    return fig


def _focus_range(rows: list[ForestRow], min_effect: float) -> list[float] | None:
    """An x range that shows the min_effect band and at least half the intervals whole. A few
    intervals from points with few seeds can be a hundred times wider than the rest; letting them
    set the scale would shrink every other interval to a dot, so they run off the edge instead
    (their numbers are in the hover text and the table)."""
    ends = np.abs([[r.low, r.high] for r in rows if np.isfinite(r.low) and np.isfinite(r.high)]).reshape(-1, 2)
    if not len(ends):
        return None
    means = np.abs([r.mean for r in rows if np.isfinite(r.mean)] or [0.0])
    limit = max(3 * min_effect, 1.2 * float(means.max()), float(np.median(ends.max(1))))
    return [-1.05 * limit, 1.05 * limit] if limit > 0 else None


def _band_shapes(min_effect: float) -> list[dict]:
    """The +-min_effect band (no practical difference inside it) and the zero line."""
    return [
        dict(type="rect", xref="x", yref="paper", x0=-min_effect, x1=min_effect, y0=0, y1=1,
             fillcolor="rgba(44, 160, 44, 0.12)", line=dict(width=0), layer="below"),
        dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1, line=dict(color="#444", width=1)),
    ]

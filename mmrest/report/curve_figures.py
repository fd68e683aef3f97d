"""The curve figures: Fig. 4 (Acc-5 and Acc-7 against each hyperparameter) and every metric against
every hyperparameter. Nothing here computes a number; the records carry them all.

Every panel shows the seed-mean curve of each stage with min-max bars, the base point's 95 %
interval as a shaded band, a ring on each level whose comparison with the base *differs*
(validation, corrected across the family), the ridge floor as a dotted line, and the paper's and
the chosen value as vertical lines. Under each Fig. 4 panel (and as the grid's last row) a thin
panel shows how much each part of the objective steered training: L_MMC's share of the gradient
and PDLF's share of the prediction, mean over seeds. Validation and test copies of every
split-dependent trace are switched by buttons; verdicts are validation statements only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmrest.metrics import METRIC_NAMES
from mmrest.report.compute import Panel, Series
from mmrest.report.labels import (
    CHOSEN_COLOUR, FIG4_COLOURS, METRIC_LABELS, PAPER_COLOUR, SPLIT_LABELS, STAGE_COLOURS, STAGE_SYMBOLS,
    VERDICT_COLOURS, param_label,
)
from mmrest.report.verdicts import Verdicts
from mmrest.stats import DIFFERS
from mmrest.trial_table import SPLITS, metric_column

FIG4_COLUMNS = 3
FLOOR_COLOUR = "#8c564b"
BOTH = "both"  # a trace shown whatever the split
SHARES = (("grad_share_mmc", "L_MMC share of the gradient", "#9467bd"),
          ("pdlf_share", "PDLF share of the prediction", "#17becf"))


@dataclass(frozen=True)
class Marks:
    """What every curve panel marks beside its curves."""

    verdicts: Verdicts | None = None
    floor: dict[str, dict[str, float]] | None = None  # split -> metric -> the ridge floor's value
    floor_name: str = ""


@dataclass
class _Figure:
    """A figure being filled, with the split of each trace (for the buttons)."""

    fig: go.Figure
    shown: str
    splits: list[str] = field(default_factory=list)
    in_legend: set = field(default_factory=set)
    # Shapes and annotations wait here and go into the layout at once (`place_marks`): plotly's
    # add_vline and add_annotation re-validate every earlier one, which made the metric grid
    # quadratic in its panels (24 of a report's 33 s of CPU on a six-curve study).
    shapes: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)

    def add(self, trace: go.Scatter, row: int, col: int, split: str) -> None:
        first = (split, trace.name) not in self.in_legend
        self.in_legend.add((split, trace.name))
        # meta names the split a trace belongs to, so a reader (or a test) can tell what the buttons show.
        trace.update(showlegend=first and bool(trace.name), visible=split in (BOTH, self.shown), meta=split)
        self.fig.add_trace(trace, row=row, col=col)
        self.splits.append(split)

    def vline(self, x: float, row: int, col: int, line: dict) -> None:
        """What `fig.add_vline(x, row=row, col=col, exclude_empty_subplots=False)` adds."""
        xref, yref = self._axes(row, col)
        self.shapes.append(dict(type="line", x0=x, x1=x, y0=0, y1=1, xref=xref, yref=f"{yref} domain", line=line))

    def note(self, row: int, col: int, *, xref: str = "x", yref: str = "y", **annotation) -> None:
        """What `fig.add_annotation(..., row=row, col=col)` adds: "x" and "x domain" name this
        panel's axes."""
        x, y = self._axes(row, col)
        self.notes.append(dict(annotation, xref=xref.replace("x", x, 1), yref=yref.replace("y", y, 1)))

    def place_marks(self) -> None:
        self.fig.update_layout(shapes=[*self.fig.layout.shapes, *self.shapes],
                               annotations=[*self.fig.layout.annotations, *self.notes])
        self.shapes, self.notes = [], []

    def _axes(self, row: int, col: int) -> tuple[str, str]:
        subplot = self.fig.get_subplot(row, col)
        return (subplot.xaxis.plotly_name.replace("xaxis", "x"), subplot.yaxis.plotly_name.replace("yaxis", "y"))

    def buttons(self) -> None:
        buttons = [
            dict(label=f"{SPLIT_LABELS[sp]} metrics", method="restyle",
                 args=[{"visible": [t in (BOTH, sp) for t in self.splits]}])
            for sp in SPLITS
        ]
        self.fig.update_layout(updatemenus=[dict(
            type="buttons", direction="right", active=SPLITS.index(self.shown), buttons=buttons,
            x=0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=40),
        )])


def fig4(curves: tuple[Panel, ...], *, split: str, marks: Marks = Marks()) -> go.Figure:
    """Acc-5 and Acc-7 against each varied hyperparameter, each panel over its diagnostics."""
    cols = min(FIG4_COLUMNS, len(curves))
    rows = math.ceil(len(curves) / cols)
    titles = []
    for r in range(rows):
        row_curves = curves[r * cols:(r + 1) * cols]
        titles += [_fig4_title(c, marks.verdicts) for c in row_curves] + [""] * (cols - len(row_curves))
        titles += [""] * cols
    out = _Figure(make_subplots(rows=2 * rows, cols=cols, subplot_titles=titles, row_heights=[0.78, 0.22] * rows,
                                horizontal_spacing=0.07, vertical_spacing=0.1 / rows + 0.02), split)
    for i, curve in enumerate(curves):
        row, col = 2 * (i // cols) + 1, i % cols + 1
        for metric in ("acc5", "acc7"):
            _panel(out, curve, metric, row, col, colour=FIG4_COLOURS[metric], marks=marks,
                   name=lambda s, m=metric: f"{METRIC_LABELS[m]} · {s.stage}")
        _mark_values(out, curve, row, col)
        out.fig.update_yaxes(title_text="%" if col == 1 else None, row=row, col=col)
        _shares(out, curve, row + 1, col)
    out.place_marks()
    out.buttons()
    out.fig.update_layout(height=420 * rows + 110, margin=dict(t=110), legend=dict(orientation="h", y=-0.08 / rows))
    return out.fig


def metric_grid(curves: tuple[Panel, ...], *, split: str, marks: Marks = Marks()) -> go.Figure:
    """Every metric (rows) against every varied hyperparameter (columns), and the diagnostics."""
    cols = len(curves)
    out = _Figure(make_subplots(
        rows=len(METRIC_NAMES) + 1, cols=cols, column_titles=[param_label(c.param) for c in curves],
        row_titles=[METRIC_LABELS[m] for m in METRIC_NAMES] + ["shares"],
        horizontal_spacing=0.25 / cols + 0.01, vertical_spacing=0.018,
    ), split)
    for j, curve in enumerate(curves):
        for i, metric in enumerate(METRIC_NAMES):
            _panel(out, curve, metric, i + 1, j + 1, colour=None, marks=marks, name=lambda s: s.stage, size=5)
            _mark_values(out, curve, i + 1, j + 1, labels=False)
            _verdict_note(out, curve.param, metric, marks.verdicts, i + 1, j + 1)
        _shares(out, curve, len(METRIC_NAMES) + 1, j + 1)
    out.place_marks()
    out.buttons()
    out.fig.update_annotations(font_size=11)
    out.fig.update_layout(height=150 * (len(METRIC_NAMES) + 1) + 120, margin=dict(t=90, r=90),
                          legend=dict(orientation="h", y=-0.03))
    return out.fig


def _panel(out: _Figure, curve: Panel, metric: str, row: int, col: int, *, colour: str | None, marks: Marks,
           name, size: int = 8) -> None:
    for sp in SPLITS:
        column = metric_column(sp, metric)
        band = marks.verdicts.base.get(curve.param, {}).get(column) if marks.verdicts else None
        if band is not None and math.isfinite(band.low):
            out.add(_band_trace(curve, band, colour or STAGE_COLOURS[0]), row, col, sp)
        for series in curve.series:
            series_colour = colour or STAGE_COLOURS[series.stage_index % len(STAGE_COLOURS)]
            out.add(_curve_trace(series, column, colour=series_colour, name=name(series), size=size), row, col, sp)
            if sp == "valid" and marks.verdicts is not None:
                ring = _differs_trace(series, curve.param, metric, column, marks.verdicts, series_colour, size)
                if ring is not None:
                    out.add(ring, row, col, sp)
        if marks.floor is not None and metric in marks.floor.get(sp, {}):
            out.add(_floor_trace(curve, marks.floor[sp][metric], marks.floor_name), row, col, sp)


def _fig4_title(curve: Panel, verdicts: Verdicts | None) -> str:
    title = param_label(curve.param)
    if verdicts is None:
        return title
    parts = []
    for metric in ("acc5", "acc7"):
        v = verdicts.curve(curve.param, metric)
        if v is not None:
            parts.append(f"{METRIC_LABELS[metric]}: {v.verdict} (p = {_p(v.p_holm)})")
    return title + ("<br><sup>" + "; ".join(parts) + "</sup>" if parts else "")


def _verdict_note(out: _Figure, param: str, metric: str, verdicts: Verdicts | None, row: int, col: int) -> None:
    v = verdicts.curve(param, metric) if verdicts else None
    if v is None:
        return
    out.note(row, col, text=f"{v.verdict}, p = {_p(v.p_holm)}", x=0.02, y=0.98, xref="x domain", yref="y domain",
             xanchor="left", yanchor="top", showarrow=False, font=dict(size=9, color=VERDICT_COLOURS[v.verdict]))


def _p(p: float) -> str:
    return "n/a" if not math.isfinite(p) else f"{p:.2g}"


def _curve_trace(series: Series, column: str, *, colour: str, name: str, size: int) -> go.Scatter:
    """Mean over seeds with min-max bars."""
    mean = np.array(series.mean[column])
    low, high = np.array(series.low[column]), np.array(series.high[column])
    custom = np.column_stack([series.n, series.std[column], low, high])
    # tpe points are single samples scattered over a range: a line through them means nothing.
    mode = "markers" if series.design == "tpe" else "lines+markers"
    return go.Scatter(
        x=series.x, y=mean, mode=mode, name=name, legendgroup=name, legendrank=1000 + series.stage_index,
        marker=dict(symbol=STAGE_SYMBOLS[series.stage_index % len(STAGE_SYMBOLS)], size=size, color=colour),
        line=dict(color=colour, width=1.5),
        error_y=dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low, thickness=1),
        customdata=custom,
        hovertemplate=(
            "%{x}: mean %{y:.3f}<br>std %{customdata[1]:.3f}, min %{customdata[2]:.3f}, "
            "max %{customdata[3]:.3f}<br>%{customdata[0]} trials<extra>" + f"{name} ({series.design})</extra>"
        ),
    )


def _differs_trace(series: Series, param: str, metric: str, column: str, verdicts: Verdicts, colour: str,
                   size: int) -> go.Scatter | None:
    """A ring around each level of the series whose comparison with the base differs."""
    xs = [x for x in series.x if (c := verdicts.level(series.stage, param, x, metric)) and c.verdict == DIFFERS]
    if not xs:
        return None
    ys = [series.mean[column][series.x.index(x)] for x in xs]
    return go.Scatter(x=xs, y=ys, mode="markers", name="differs from the base", legendgroup="differs",
                      marker=dict(symbol="circle-open", size=size + 10, line=dict(width=2, color=VERDICT_COLOURS[DIFFERS])),
                      hovertemplate="%{x}: differs from the base point<extra></extra>")


def _band_trace(curve: Panel, band, colour: str) -> go.Scatter:
    low, high = _x_range(curve)
    return go.Scatter(
        x=[low, high, high, low, low], y=[band.low, band.low, band.high, band.high, band.low], mode="lines",
        fill="toself", fillcolor=_transparent(colour), line=dict(width=0), name="base point's 95 % interval",
        legendgroup="band", hovertemplate=f"base point: {band.mean:.4g} [{band.low:.4g}, {band.high:.4g}], "
                                          f"{band.n} seeds<extra></extra>")


def _floor_trace(curve: Panel, value: float, name: str) -> go.Scatter:
    low, high = _x_range(curve)
    return go.Scatter(x=[low, high], y=[value, value], mode="lines", name=f"floor: {name}", legendgroup="floor",
                      line=dict(color=FLOOR_COLOUR, dash="dot", width=1.5),
                      hovertemplate=f"{name}: {value:.4g}<extra></extra>")


def _shares(out: _Figure, curve: Panel, row: int, col: int) -> None:
    """The thin panel: L_MMC's share of the gradient and PDLF's share of the prediction (%)."""
    for column, label, colour in SHARES:
        for series in curve.series:
            y = 100 * np.array(series.mean.get(column, (math.nan,) * len(series.x)), dtype=float)
            if np.isnan(y).all():
                continue
            out.add(go.Scatter(x=series.x, y=y, mode="lines+markers", name=label, legendgroup=column,
                               marker=dict(size=4, color=colour), line=dict(color=colour, width=1),
                               hovertemplate=f"%{{x}}: {label} %{{y:.2f}} %<extra>{series.stage}</extra>"),
                    row, col, BOTH)
    out.fig.update_yaxes(title_text="%" if col == 1 else None, rangemode="tozero", row=row, col=col)
    if curve.log_x:
        out.fig.update_xaxes(type="log", range=_log_range(curve), tickvals=curve.grid,
                             ticktext=[f"{v:g}" for v in curve.grid], row=row, col=col)


def _mark_values(out: _Figure, curve: Panel, row: int, col: int, *, labels: bool = True) -> None:
    marks = [(curve.paper, PAPER_COLOUR, "dash", "paper", 0.0)]
    if curve.chosen is not None:
        marks.append((curve.chosen, CHOSEN_COLOUR, "solid", "chosen", 1.0))
    if curve.log_x:
        out.fig.update_xaxes(type="log", range=_log_range(curve), tickvals=curve.grid,
                             ticktext=[f"{v:g}" for v in curve.grid], row=row, col=col)
    for x, colour, dash, text, y in marks:
        out.vline(x, row, col, line=dict(color=colour, dash=dash, width=1.5))
        if labels:
            # Annotations on a log axis take the exponent, unlike the line itself.
            out.note(row, col, x=np.log10(x) if curve.log_x else x, y=y, yref="y domain", text=text, showarrow=False,
                     xanchor="left", yanchor="bottom" if y == 0.0 else "top", xshift=3, font=dict(color=colour, size=10))


def _x_range(curve: Panel) -> tuple[float, float]:
    xs = [x for s in curve.series for x in s.x] + [curve.paper] + ([curve.chosen] if curve.chosen is not None else [])
    return min(xs), max(xs)


def _log_range(curve: Panel) -> list[float]:
    """An explicit range: plotly's autorange reads vertical lines on a log axis as exponents."""
    low, high = (np.log10(x) for x in _x_range(curve))
    pad = 0.06 * (high - low) + 0.05
    return [low - pad, high + pad]


def _transparent(colour: str, alpha: float = 0.15) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"

"""How long the report's curve figures take to build, with their vertical lines and notes placed in
one layout update, against plotly's add_vline / add_annotation per panel (how they were placed
before; plotly re-validates every earlier shape and annotation on each call), in the same run.

The curves: the report test's realistic partial study (tests/fixtures/trial_tables.py: six
hyperparameters, coarse and fine stages, a grid and a tpe stage). Both ways must give the same
figure; the benchmark checks that before it prints.

    python benchmarks/bench_report_figures.py [--repeats 3]

Last line: `metric_grid_speedup: X`, the per-call build time over the batched one (CPU seconds).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from trial_tables import facts, grid_rows, grid_stage, realistic_case, table, tpe_case  # noqa: E402

from mmrest.report import curve_figures  # noqa: E402
from mmrest.report.build import compute_report  # noqa: E402
from mmrest.report.html import _marks  # noqa: E402


class PerCallFigure(curve_figures._Figure):
    """The placement before: each line and note goes into the figure as it is made."""

    def vline(self, x, row, col, line):
        self.fig.add_vline(x=x, row=row, col=col, exclude_empty_subplots=False, line=line)

    def note(self, row, col, **annotation):
        self.fig.add_annotation(**annotation, row=row, col=col)


def report():
    trials, raw = realistic_case()
    tpe_trials, tpe_raw = tpe_case()
    trials = table(trials.to_dict("records") + grid_rows() + tpe_trials.to_dict("records"))
    stages = [*raw.stages, grid_stage(), *tpe_raw.stages]
    return compute_report(trials, facts(stages, trials, finished_all=True, seeds=(1111, 1112, 1113)))


def build(computed, figure_class):
    curve_figures._Figure = figure_class
    marks = _marks(computed)
    started = time.process_time()
    figures = (curve_figures.metric_grid(computed.panels, split="valid", marks=marks),
               curve_figures.fig4(computed.panels, split="valid", marks=marks))
    return time.process_time() - started, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    computed = report()
    batched_class = curve_figures._Figure
    times = {"per_call": [], "batched": []}
    for _ in range(args.repeats):  # alternating, so that load on the machine falls on both
        t_old, old = build(computed, PerCallFigure)
        t_new, new = build(computed, batched_class)
        times["per_call"].append(t_old)
        times["batched"].append(t_new)
        for a, b in zip(old, new):
            assert a.to_plotly_json() == b.to_plotly_json(), "the two placements gave different figures"
    curve_figures._Figure = batched_class
    shapes, notes = len(new[0].layout.shapes), len(new[0].layout.annotations)
    print(f"metric grid: {len(computed.panels)} curves, {shapes} lines, {notes} annotations; figures equal")
    old_s, new_s = statistics.median(times["per_call"]), statistics.median(times["batched"])
    print(f"cpu_s (median of {args.repeats}, metric grid + Fig. 4): per call {old_s:.2f}, batched {new_s:.2f}")
    print(f"metric_grid_speedup: {old_s / new_s:.2f}")


if __name__ == "__main__":
    main()

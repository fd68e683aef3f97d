"""`mmrest-study report <study-dir>`: one offline HTML report of a study, and its trials as CSV."""
from __future__ import annotations

import argparse
from pathlib import Path

from mmrest.errors import InputError
from mmrest.selection.rules import DEFAULT_RULE, RULES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a study's report: Fig. 4 curves, every metric, final values, importance, facts",
        description=(
            "Write one self-contained HTML file (works offline), and beside it a CSV of every trial and one of every paired comparison (NAME_comparisons.csv). "
            "A study still running gives a report marked partial."
        ),
    )
    parser.add_argument("study_dir", type=Path, help="the study's folder, e.g. studies/demo")
    parser.add_argument(
        "-o", "--output", type=Path, default=None,
        help="HTML file to write (default: reports/<study name>.html); the CSV goes beside it",
    )
    parser.add_argument(
        "--rule", choices=tuple(RULES), default=DEFAULT_RULE,
        help="how final values are chosen on validation metrics: "
        + "; ".join(f"{r.name}: {r.summary}" for r in RULES.values()),
    )
    parser.add_argument(
        "--split", choices=("valid", "test"), default="valid",
        help="metrics the figures show first (a button switches); choices always use validation",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Heavy imports (pandas, plotly, optuna) only when the command runs, not for every CLI call.
    from mmrest.analysis import load_analysis_if_any
    from mmrest.report.build import build_report, comparisons_path
    from mmrest.study.results import StudyResults

    if not args.study_dir.is_dir():
        raise InputError(
            f"report: study folder '{args.study_dir}' does not exist; pass the folder that "
            "`mmrest-study run` made, e.g. studies/demo"
        )
    results = StudyResults.open(args.study_dir)
    out = args.output or Path("reports") / f"{results.spec.name}.html"
    path = build_report(results.trials, results.facts, out, rule=args.rule, split=args.split,
                        analysis=load_analysis_if_any(args.study_dir), floor=results.floor)
    print(f"wrote {path}, {path.with_suffix('.csv')} and {comparisons_path(path)}")
    return 0

"""`mmrest-study analyze <study-dir>`: ablations, variance analysis (Table 6) and case study
(Table 7) of one configuration, trained as the study's `analysis` stage."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmrest.errors import InputError
from mmrest.selection.rules import DEFAULT_RULE, RULES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="train the three ablation variants of a configuration and analyse them (Tables 6, 7)",
        description=(
            "Train the full model, 'w/ L_MMC, w/o bias' (gamma = 0) and 'w/o L_MMC, w/o bias' (eta = 0, "
            "gamma = 0) once per seed of the study, through the study's Ray Tune engine and into its "
            "Optuna storage as the stage 'analysis'; then compute the ablations, the variance analysis "
            "and the case study from the saved test outputs and write them to <study-dir>/analysis.json, "
            "which `mmrest-study report` shows. Trials already done are not trained again."
        ),
    )
    parser.add_argument("study_dir", type=Path, help="the study's folder, e.g. studies/demo")
    parser.add_argument(
        "--config", type=Path, default=None, metavar="FILE",
        help="YAML with the hyperparameters to analyse (k, v1, v2, xi, alpha, gamma, eta; the report's "
        "'chosen configuration' block works as is); default: the configuration the report chooses",
    )
    parser.add_argument("--rule", choices=tuple(RULES), default=DEFAULT_RULE,
                        help="the report's rule that chooses the default configuration")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="train nothing; recompute the analyses from the trials that exist")
    parser.add_argument("--redo", action="store_true",
                        help="discard the analysis stage (its trials and outputs) and train it again")
    parser.add_argument("--case-seed", type=int, default=0,
                        help="seed of the case study's random samples (default 0)")
    parser.add_argument("--ray-address",
                        help="join this Ray cluster instead of the spec's ray.address")
    parser.add_argument("--device", help="torch device of every trial (default: as `run` picks it)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Heavy imports (torch, ray, optuna, pandas) only when the command runs.
    from mmrest.analysis.driver import AnalyzeOptions, analyze
    from mmrest.analysis.summary import CaseOptions

    if not args.study_dir.is_dir():
        raise InputError(f"analyze: study folder '{args.study_dir}' does not exist; pass the folder that "
                         "`mmrest-study run` made, e.g. studies/demo")
    options = AnalyzeOptions(
        config_file=args.config, rule=args.rule, train=args.train, redo=args.redo,
        ray_address=args.ray_address, device=args.device, cases=CaseOptions(seed=args.case_seed),
    )
    return analyze(args.study_dir, options, sys.stdout)

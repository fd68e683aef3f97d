"""`mmrest-study run | status | dashboard`: run a study from a YAML spec, see where it stands,
browse it in optuna-dashboard."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    _register_run(subparsers)
    _register_status(subparsers)
    _register_dashboard(subparsers)


def _register_run(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a study (its stages of trials) from a YAML spec",
        description="Run every stage of a study spec through Ray Tune, recording each trial in the "
        "study's Optuna storage. Results go to <studies-dir>/<name>/.",
    )
    p.add_argument("spec", type=Path, help="study spec, e.g. search_spaces/demo.yaml")
    p.add_argument("--resume", action="store_true",
                   help="continue an existing study: finished trials are kept, the rest run")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (trials per stage, resources, time estimate) and stop")
    p.add_argument("--studies-dir", type=Path, default=Path("studies"),
                   help="where study folders go (default: studies/)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec value by dotted path, the value read as YAML: "
                   "--set train.max_epochs=2 --set seeds=[1] (repeatable)")
    p.add_argument("--ray-address",
                   help='join this Ray cluster ("auto", host:port or ray://host:port) instead of the spec\'s ray.address')
    p.add_argument("--device", help="torch device of every trial (default: cuda when resources.gpu > 0, else cpu)")
    p.set_defaults(handler=run_run)


def _register_status(subparsers) -> None:
    p = subparsers.add_parser(
        "status",
        help="per-stage counts, best point so far and time left of a study",
        description="Read a study folder's storage: planned, done, running and failed trials per stage, "
        "the best point so far, elapsed and estimated remaining time.",
    )
    p.add_argument("study_dir", type=Path, help="the study folder, e.g. studies/demo")
    p.add_argument("--json", action="store_true", help="print JSON (with `storage` and `stages`) instead of text")
    p.set_defaults(handler=run_status)


def _register_dashboard(subparsers) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="serve optuna-dashboard on a study's storage at 127.0.0.1",
        description="Start optuna-dashboard on the study's Optuna storage, bound to 127.0.0.1, and print its URL.",
    )
    p.add_argument("study_dir", type=Path, help="the study folder, e.g. studies/demo")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(handler=run_dashboard)


def run_run(args: argparse.Namespace) -> int:
    from mmrest.study.cluster import check_address
    from mmrest.study.engine import RunOptions, check_start, run_study
    from mmrest.study.folder import StudyFolder
    from mmrest.study.spec import load_spec
    from mmrest.study.storage import check_reachable, open_storage, storage_url

    spec = load_spec(args.spec, args.sets)
    folder = StudyFolder(args.studies_dir / spec.name)
    check_reachable(storage_url(spec, folder), where=f"{args.spec}: storage")
    check_start(spec, folder, resume=args.resume, source=str(args.spec))
    check_address(args.ray_address or spec.ray.address,
                  where="--ray-address" if args.ray_address else f"{args.spec}: ray.address")
    if args.dry_run:
        from mmrest.study.state import stage_states
        from mmrest.study.status import render_plan

        states = None
        if folder.exists():
            states = stage_states(spec, open_storage(storage_url(spec, folder), where=f"{args.spec}: storage"))
        print(render_plan(spec, folder, states, args.ray_address))
        return 0
    return run_study(spec, folder, RunOptions(ray_address=args.ray_address, device=args.device), sys.stdout)


def run_status(args: argparse.Namespace) -> int:
    from mmrest.study.folder import StudyFolder
    from mmrest.study.status import render_status, study_status

    status = study_status(StudyFolder(args.study_dir))
    print(json.dumps(status.to_json(), indent=1) if args.json else render_status(status))
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    from mmrest.study.dashboard import serve
    from mmrest.study.folder import StudyFolder

    serve(StudyFolder(args.study_dir), args.port, sys.stdout)
    return 0

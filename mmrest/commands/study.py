"""`mmrest-study run | status | dashboard`: run a study from a YAML spec, see where it stands,
browse it in optuna-dashboard."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mmrest.errors import InputError


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
    from mmrest.study.folder import StudyFolder
    from mmrest.study.spec import load_spec

    if args.studies_dir.exists() and not args.studies_dir.is_dir():
        raise InputError(f"--studies-dir {args.studies_dir}: is a file; give the folder where study folders go")
    spec = load_spec(args.spec, args.sets)
    # Only a valid spec pays for torch and Ray: a typo is refused at once.
    from mmrest.study.runner import RunOptions, StudyRunner

    runner = StudyRunner(spec, StudyFolder(args.studies_dir / spec.name),
                         RunOptions(ray_address=args.ray_address, device=args.device), out=sys.stdout)
    runner.check(resume=args.resume, source=str(args.spec))
    if args.dry_run:
        from mmrest.study.status import render_plan

        print(render_plan(spec, runner.folder, runner.states() if runner.folder.exists() else None, args.ray_address))
        return 0
    result = runner.fit()
    print(describe_result(result, resume=f"mmrest-study run {args.spec} --resume"))
    return exit_code(result)


def describe_result(result, *, resume: str) -> str:
    """What a run (or an `analyze`) leaves the user to know: counts, and where to look next."""
    counts = f"{result.done} trials done, {result.failed} failed"
    if not result.ran:
        return f"study {result.study!r} is finished ({counts}); nothing to do"
    if not result.finished:
        return f"study {result.study!r} stopped before all its trials ran ({counts}); continue it with: {resume}"
    lines = [f"study {result.study!r}: {counts}. Folder: {result.folder}"]
    if result.failures:
        lines.append(f"{result.failed} trial(s) failed; each error is in the trial's Optuna user attribute "
                     f"`error` (mmrest-study status {result.folder}) and its log:")
        lines += [f"  {key}: {log}" for key, log in result.failures]
    return "\n".join(lines)


def exit_code(result) -> int:
    """0 when every planned trial completed; 1 when some failed or are still to run."""
    return 0 if result.finished and not result.failures else 1


def run_status(args: argparse.Namespace) -> int:
    from mmrest.study.folder import StudyFolder

    folder = StudyFolder(args.study_dir)
    spec = folder.read_spec()  # a folder that is no study, or a broken spec, is refused at once
    from mmrest.study.results import StudyResults
    from mmrest.study.status import render_status

    status = StudyResults.of(folder, spec).status(planner=args.json)
    print(json.dumps(status.to_json(), indent=1) if args.json else render_status(status))
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    from mmrest.study.dashboard import serve
    from mmrest.study.results import StudyResults

    serve(StudyResults.open(args.study_dir), args.port, sys.stdout)
    return 0

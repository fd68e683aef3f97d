"""`analyze` end to end: pick the configuration, train what the analysis stage still lacks through
the study engine, then compute the three analyses from the saved outputs and write them into the
study folder. Every check on the user's input happens before anything is trained or written.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from mmrest.analysis.stage import (
    DESIGN, STAGE, check_same_config, completed_runs, normal_config, plan_analysis, read_config_file,
)
from mmrest.analysis.store import analysis_path, save_analysis
from mmrest.analysis.summary import Analysis, CaseOptions, compute_analysis
from mmrest.analysis.variants import FULL
from mmrest.errors import InputError
from mmrest.selection import DEFAULT_RULE
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import PlannedTrial
from mmrest.study.results import StudyResults
from mmrest.study.runner import RunOptions, StudyRunner
from mmrest.trial_table import FINISHED_STATES


@dataclass(frozen=True)
class AnalyzeOptions:
    config_file: Path | None = None  # default: the report's choice under `rule`
    rule: str | None = None  # None: the report's default rule
    train: bool = True  # False: compute from the trials that exist, train nothing
    redo: bool = False  # discard the analysis stage first
    ray_address: str | None = None
    device: str | None = None
    cases: CaseOptions = CaseOptions()


def analyze(study_dir: Path, options: AnalyzeOptions, out: TextIO) -> int:
    if options.redo and not options.train:
        raise InputError("--redo discards the analysis stage to train it again; it cannot go with --no-train")
    results = StudyResults.open(study_dir)
    folder, spec = results.folder, results.spec
    runner = StudyRunner(spec, folder, RunOptions(ray_address=options.ray_address, device=options.device), out=out)
    runner.check_not_driven()
    trials = results.trials
    config, source = _configuration(results, options)
    if not options.redo:
        check_same_config(trials, config, where=str(folder.root))
    planned = plan_analysis(config, spec.max_seeds)
    if options.train and (options.redo or _todo(trials, planned)):
        # Only training needs the Ray address and the GPUs; checked before anything is discarded.
        runner.preflight(source=str(folder.spec_file))
    if options.redo:
        _discard(results)
        trials = trials.loc[trials["stage"] != STAGE]
    todo = _todo(trials, planned)
    code = 0
    if todo and options.train:
        result = runner.fit_stage(STAGE, DESIGN, planned)
        print(f"stage {STAGE!r} of study {spec.name!r}: {result.done} trials done, {result.failed} failed", file=out)
        code = 0 if result.finished and not result.failures else 1
        trials = StudyResults.open(folder.root).trials  # the study changed: read it again
    elif todo:
        print(f"--no-train: {len(todo)} of {len(planned)} analysis trials have not run; they are left out", file=out)
    runs = completed_runs(trials, folder.trial_dir)
    if not any(r.variant == FULL for r in runs):
        hint = ("run it without --no-train" if not options.train
                else f"see the trial logs under {folder.trial_dir(STAGE)}")
        raise InputError(f"{folder.root}: the analysis stage has no trained full model to compare against; {hint}")
    analysis = compute_analysis(
        runs, study=spec.name, config=config, config_source=source, beta=_beta(spec), seeds=tuple(spec.max_seeds),
        min_effect=spec.min_effect, texts=_texts(spec, folder), cases=options.cases,
    )
    path = save_analysis(analysis, analysis_path(folder.root))
    print(_summary(analysis, path), file=out)
    return code


def _configuration(results: StudyResults, options: AnalyzeOptions) -> tuple[dict[str, float], str]:
    facts = results.facts
    if options.config_file is not None:
        config, filled = read_config_file(options.config_file, facts.base_values)
        kept = f"; {', '.join(filled)} from the study's base values" if filled else ""
        return config, f"from {options.config_file}{kept}"
    rule = options.rule or DEFAULT_RULE
    partial = "" if facts.finished_all else " (on a partial study: not every planned trial has run)"
    return normal_config(results.choices(rule).config), f"the report's choice, rule {rule}{partial}"


def _todo(trials: pd.DataFrame, planned: list[PlannedTrial]) -> list[PlannedTrial]:
    rows = trials.loc[(trials["stage"] == STAGE) & trials["state"].isin(FINISHED_STATES)]
    finished = set(rows["key"])
    return [p for p in planned if p.key not in finished]


def _discard(results: StudyResults) -> None:
    """Forget the analysis stage: its Optuna study, its trial folders and the analysis file."""
    import optuna

    from mmrest.study.storage import stage_study_name

    name = stage_study_name(results.spec, STAGE)
    if STAGE in results.recorded:
        optuna.delete_study(study_name=name, storage=results.storage)
    shutil.rmtree(results.folder.trial_dir(STAGE), ignore_errors=True)
    analysis_path(results.folder.root).unlink(missing_ok=True)


def _beta(spec) -> float:
    from mmrest.config import make_config

    return make_config(spec.base, spec.train).beta


def _texts(spec, folder: StudyFolder) -> dict[str, str] | None:
    from mmrest.study.data import load_study_dataset

    test = load_study_dataset(spec.dataset, folder.data_dir).test
    return None if test.raw_text is None else dict(zip(test.ids, test.raw_text))


def _summary(a: Analysis, path: Path) -> str:
    trained = {row.variant: row.seeds for row in a.ablation}
    lines = [f"analysis of {a.study} ({a.config_source}) written to {path}"]
    for row in a.ablation:
        mae, acc7 = row.cell("mae"), row.cell("acc7")
        diff = "" if mae.diff is None else f"  (MAE {mae.diff:+.4f} against the full model: {mae.verdict})"
        lines.append(f"  {row.variant:<15} {trained[row.variant]} seeds  test MAE {mae.value.mean:.4f}  "
                     f"Acc-7 {acc7.value.mean:.2f}{diff}")
    if a.missing:
        lines.append(f"  no trained model for: {'; '.join(a.missing)}")
    lines.append(f"show it with: mmrest-study report {path.parent}")
    return "\n".join(lines)

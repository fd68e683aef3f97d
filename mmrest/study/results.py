"""A study's trials as one table, and the facts a report states about the study
(the contract in notes/trial_table.md)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import base_point
from mmrest.study.spec import StudySpec
from mmrest.study.state import stage_states
from mmrest.study.storage import open_storage, stage_study_name, storage_url

METRIC_COLUMNS = [f"{split}_{m}" for split in ("valid", "test") for m in METRIC_NAMES]
COLUMNS = ["stage", "number", "key", "state", "design", "varied", "seed", *STUDY_HYPERPARAMETERS, "value",
           *METRIC_COLUMNS, "best_epoch", "params", "seconds", "error", "log"]


def load_trials(study_dir: str | Path) -> pd.DataFrame:
    """One row per Optuna trial of every stage, in stage then trial-number order."""
    folder = StudyFolder(Path(study_dir))
    spec = folder.read_spec()
    storage = open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")
    rows = [_row(state.stage.name, state.stage.design, t)
            for state in stage_states(spec, storage) for t in sorted(state.trials, key=lambda t: t.number)]
    rows += [_row(extra.name, extra.design, t) for extra in extra_stages(spec, storage) for t in extra.trials]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"number": int, "seed": int, "best_epoch": int, "params": int})


def study_facts(study_dir: str | Path) -> dict:
    folder = StudyFolder(Path(study_dir))
    spec = folder.read_spec()
    storage = open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")
    states = stage_states(spec, storage)
    run = folder.read_run()
    stages = [{"name": s.stage.name, "design": s.stage.design, "params": _stage_values(s.stage.design, s.trials)}
              for s in states]
    planned = sum(len(s.planned) for s in states if s.planned is not None)
    # Stages added after the run (the analysis stage) count in the trials, not in `finished_all`.
    extras = extra_stages(spec, storage)
    stages += [{"name": e.name, "design": e.design, "params": {}} for e in extras]
    planned += sum(e.planned for e in extras)
    done = sum(s.count(TrialState.COMPLETE) for s in states) + sum(e.count(TrialState.COMPLETE) for e in extras)
    failed = sum(s.count(TrialState.FAIL) for s in states) + sum(e.count(TrialState.FAIL) for e in extras)
    return {
        "name": spec.name,
        "spec": spec.resolved(),
        "dataset": run.get("dataset", ""),
        "absent_modalities": run.get("absent_modalities", []),
        "seeds": list(spec.seeds),
        "base_values": base_point(spec),
        "stages": stages,
        "started": run.get("started"),
        "finished": run.get("finished"),
        "finished_all": all(s.is_finished for s in states),
        "planned": planned,
        "done": done,
        "failed": failed,
        "machine": run.get("machine", {}),
        "versions": run.get("versions", {}),
    }


@dataclass(frozen=True)
class ExtraStage:
    """A stage outside the spec, added by `engine.run_stage` (the analysis stage)."""

    name: str
    design: str
    planned: int
    trials: list[FrozenTrial]

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.trials)


def extra_stages(spec: StudySpec, storage: BaseStorage) -> list[ExtraStage]:
    """The study's Optuna studies `<name>.<stage>` whose stage the spec does not list, by name."""
    known = {stage_study_name(spec, stage) for stage in spec.stages}
    prefix = stage_study_name(spec, "")
    extras = []
    for study in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        if not study.study_name.startswith(prefix) or study.study_name in known:
            continue
        study_id = storage.get_study_id_from_name(study.study_name)
        trials = sorted(storage.get_all_trials(study_id, deepcopy=False), key=lambda t: t.number)
        extras.append(ExtraStage(
            name=study.study_name.removeprefix(prefix), design=str(study.user_attrs.get("design", "")),
            planned=int(study.user_attrs.get("planned", len(trials))), trials=trials,
        ))
    return extras


def _stage_values(design: str, trials: list[FrozenTrial]) -> dict[str, list]:
    """The values each hyperparameter took in a stage: for one_at_a_time, those on its own axis
    (the points that vary it, plus the base point); otherwise those of every varying one."""
    if design == "one_at_a_time":
        varied = [t.user_attrs.get("varied") for t in trials]
        return {name: sorted({t.params[name] for t, v in zip(trials, varied) if v in (name, "base")})
                for name in STUDY_HYPERPARAMETERS if name in varied}
    values = {name: sorted({t.params[name] for t in trials if name in t.params}) for name in STUDY_HYPERPARAMETERS}
    return {name: v for name, v in values.items() if len(v) > 1}


def _row(stage: str, design: str, t: FrozenTrial) -> dict:
    attrs = t.user_attrs
    complete = t.state == TrialState.COMPLETE
    return {
        "stage": stage,
        "number": t.number,
        "key": attrs.get("key", ""),
        "state": t.state.name,
        "design": attrs.get("design", design),
        "varied": attrs.get("varied", ""),
        "seed": attrs.get("seed", -1),
        **{name: t.params.get(name, math.nan) for name in STUDY_HYPERPARAMETERS},
        "value": t.value if complete and t.value is not None else math.nan,
        **{col: float(attrs.get(col, math.nan)) for col in METRIC_COLUMNS},
        "best_epoch": attrs.get("best_epoch", -1),
        "params": attrs.get("params", -1),
        "seconds": attrs.get("seconds", math.nan),
        "error": attrs.get("error", ""),
        "log": attrs.get("log", ""),
    }

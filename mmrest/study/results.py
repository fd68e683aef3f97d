"""A study's trials as one table and the facts a report states about the study, both in the
schema of `mmrest.trial_table`, read from the study folder and its Optuna storage."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from mmrest.config import STUDY_HYPERPARAMETERS, TrainConfig, make_config
from mmrest.metrics import HIGHER_IS_BETTER
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import base_point
from mmrest.study.spec import StudySpec
from mmrest.study.state import stage_states
from mmrest.study.rows import trial_row
from mmrest.study.storage import open_storage, stage_study_name, storage_url
from mmrest.trial_table import (
    ONE_AT_A_TIME, Objective, StageFacts, StudyFacts, as_table,
)


def load_trials(study_dir: str | Path) -> pd.DataFrame:
    """One row per Optuna trial of every stage, in stage then trial-number order."""
    spec, storage = _open(study_dir)
    rows = [trial_row(state.stage.name, state.stage.design, t)
            for state in stage_states(spec, storage) for t in sorted(state.trials, key=lambda t: t.number)]
    rows += [trial_row(extra.name, extra.design, t) for extra in extra_stages(spec, storage) for t in extra.trials]
    return as_table(rows)


def study_facts(study_dir: str | Path) -> StudyFacts:
    folder = StudyFolder(Path(study_dir))
    spec, storage = _open(study_dir)
    states = stage_states(spec, storage)
    run = folder.read_run()
    extras = extra_stages(spec, storage)  # stages added after the run (the analysis stage)
    stages = [_stage_facts(spec, s.stage.name, s.stage.design, s.trials) for s in states]
    stages += [StageFacts(e.name, e.design, {}) for e in extras]
    counts = [*(s.count for s in states), *(e.count for e in extras)]
    return StudyFacts(
        name=spec.name,
        dataset=run.get("dataset", ""),
        absent_modalities=tuple(run.get("absent_modalities", ())),
        text_path=text_path(make_config(spec.base, spec.train, check_files=False)),
        seeds=tuple(spec.seed_list),
        seed_start=len(spec.start_seeds),
        seed_max=len(spec.max_seeds),
        base=spec.base,
        base_values=base_point(spec),
        objective=Objective(spec.objective.metric, HIGHER_IS_BETTER[spec.objective.metric.removeprefix("valid_")]),
        min_effect=dict(spec.min_effect),
        stages=tuple(stages),
        planned=sum(len(s.planned) for s in states if s.planned is not None) + sum(e.planned for e in extras),
        done=sum(count(TrialState.COMPLETE) for count in counts),
        failed=sum(count(TrialState.FAIL) for count in counts),
        # The analysis stage counts in the trials, not here: the spec's stages decide "finished".
        finished_all=all(s.is_finished for s in states),
        started=run.get("started"),
        finished=run.get("finished"),
        machine=run.get("machine", {}),
        versions=run.get("versions", {}),
    )


def text_path(config: TrainConfig) -> str:
    """Which text encoder a configuration trains with, in words."""
    if config.text_backend == "bert":
        return (f"fine-tuned BERT-family model {config.bert_path} (learning rate {config.bert_lr:g}, "
                f"{config.text_pooling} pooling, {config.bert_max_len} tokens)")
    return f"frozen pre-extracted text features ({config.text_pooling} pooling)"


@dataclass(frozen=True)
class ExtraStage:
    """A stage outside the spec, added by `StudyRunner.fit_stage` (the analysis stage)."""

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


def _open(study_dir: str | Path) -> tuple[StudySpec, BaseStorage]:
    folder = StudyFolder(Path(study_dir))
    spec = folder.read_spec()
    return spec, open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")


def _stage_facts(spec: StudySpec, name: str, design: str, trials: list[FrozenTrial]) -> StageFacts:
    """The values each hyperparameter took in a stage: for one_at_a_time, those on its own axis
    (the points that vary it, plus the base point); otherwise those of every varying one."""
    if design == ONE_AT_A_TIME:
        varied = [t.user_attrs.get("varied") for t in trials]
        params = {name: tuple(sorted({float(t.params[name]) for t, v in zip(trials, varied) if v in (name, "base")}))
                  for name in STUDY_HYPERPARAMETERS if name in varied}
    else:
        values = {p: tuple(sorted({float(t.params[p]) for t in trials if p in t.params})) for p in STUDY_HYPERPARAMETERS}
        params = {p: v for p, v in values.items() if len(v) > 1}
    ranges = spec.stage(name).ranges or {}
    return StageFacts(name, design, params, frozenset(p for p, r in ranges.items() if r.log))

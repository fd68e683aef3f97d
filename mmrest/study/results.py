"""The read side of a study, in the manner of Ray Tune's `ResultGrid` beside `Tuner`:

    results = StudyResults.open("studies/demo")   # the spec read once, the storage opened once,
                                                  # each stage's race replayed once
    results.trials        # the trial table (mmrest.trial_table), every stage
    results.facts         # StudyFacts
    results.states        # each spec stage's plan and trials (mmrest.study.state)
    results.choices()     # the final values (mmrest.selection), per rule
    results.status()      # what `status` prints (mmrest.study.status)
    results.seed_planner()
    results.floor         # floor.json

`status`, `report`, `analyze` and `dashboard` read a study through this object and nothing else;
`StudyRunner` (study.runner) is the write side. Everything is computed from one read of the
storage, so a study that changes afterwards needs a new `open`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from mmrest.config import STUDY_HYPERPARAMETERS, TrainConfig, make_config
from mmrest.metrics import HIGHER_IS_BETTER
from mmrest.selection import DEFAULT_RULE, Choices, choose_for_study
from mmrest.selection.comparisons import seed_plans, study_comparisons, valid_values
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import base_point
from mmrest.study.rows import trial_row
from mmrest.study.spec import StudySpec
from mmrest.study.state import StageState, stage_states
from mmrest.study.status import StageCounts, StudyStatus, study_status
from mmrest.study.storage import RecordedStage, open_storage, recorded_stages, storage_url
from mmrest.training.floor import Floor
from mmrest.trial_table import ONE_AT_A_TIME, Objective, StageFacts, StudyFacts, as_table


@dataclass(frozen=True)
class ExtraStage:
    """A stage outside the spec, added by `StudyRunner.fit_stage` (the analysis stage)."""

    name: str
    design: str
    planned: int
    trials: list[FrozenTrial]

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.trials)

    def counts(self) -> StageCounts:
        return StageCounts.of(self.design, self.planned, (t.state.name for t in self.trials))


@dataclass
class StudyResults:
    """A study as its folder and storage hold it; build it with `StudyResults.open`. What it
    offers is computed on first use, from one read of the storage."""

    folder: StudyFolder
    spec: StudySpec
    storage_url: str  # what optuna-dashboard opens as is
    storage: BaseStorage
    run: dict  # run.json
    _choices: dict[str, Choices] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, study_dir: str | Path) -> StudyResults:
        folder = StudyFolder(Path(study_dir))
        return cls.of(folder, folder.read_spec())

    @classmethod
    def of(cls, folder: StudyFolder, spec: StudySpec) -> StudyResults:
        """The study in `folder`, whose spec the caller has read (`folder.read_spec()`)."""
        url = storage_url(spec, folder)
        storage = open_storage(url, where=f"{folder.spec_file}: storage")
        return cls(folder=folder, spec=spec, storage_url=url, storage=storage, run=folder.read_run())

    @cached_property
    def recorded(self) -> dict[str, RecordedStage]:
        """Every stage the storage holds, with its trials: the one read of the storage."""
        return recorded_stages(self.storage, self.spec)

    @cached_property
    def states(self) -> list[StageState]:
        """The spec's stages in order, each race replayed once."""
        return stage_states(self.spec, {name: r.trials for name, r in self.recorded.items()})

    @cached_property
    def extras(self) -> list[ExtraStage]:
        """Stages added after the run (the analysis stage), by name."""
        known = {stage.name for stage in self.spec.stages}
        return [_extra(r) for name, r in self.recorded.items() if name not in known]

    @cached_property
    def trials(self) -> pd.DataFrame:
        """One row per Optuna trial of every stage, in stage then trial-number order."""
        rows = [trial_row(s.stage.name, s.stage.design, t) for s in self.states for t in s.trials]
        rows += [trial_row(e.name, e.design, t) for e in self.extras for t in e.trials]
        return as_table(rows)

    @cached_property
    def facts(self) -> StudyFacts:
        spec, run = self.spec, self.run
        stages = [_stage_facts(spec, s) for s in self.states]
        stages += [StageFacts(e.name, e.design, {}) for e in self.extras]
        counts = [*(s.count for s in self.states), *(e.count for e in self.extras)]
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
            objective=Objective(spec.objective.metric,
                                HIGHER_IS_BETTER[spec.objective.metric.removeprefix("valid_")]),
            min_effect=dict(spec.min_effect),
            stages=tuple(stages),
            planned=sum(len(s.planned) for s in self.states if s.planned is not None)
            + sum(e.planned for e in self.extras),
            done=sum(count(TrialState.COMPLETE) for count in counts),
            failed=sum(count(TrialState.FAIL) for count in counts),
            # The analysis stage counts in the trials, not here: the spec's stages decide "finished".
            finished_all=all(s.is_finished for s in self.states),
            started=run.get("started"),
            finished=run.get("finished"),
            machine=run.get("machine", {}),
            versions=run.get("versions", {}),
        )

    @cached_property
    def floor(self) -> Floor | None:
        return self.folder.read_floor()

    def choices(self, rule: str = DEFAULT_RULE) -> Choices:
        """The final values `rule` chooses on the validation metrics (computed once per rule)."""
        if rule not in self._choices:
            self._choices[rule] = choose_for_study(self.trials, self.facts, rule)
        return self._choices[rule]

    def seed_planner(self) -> dict[str, dict[int, float] | None]:
        """What more seeds would buy, from the report's comparisons so far (its default rule): a
        simulation of a few seconds (mmrest.stats.planner)."""
        study = study_comparisons(self.trials, self.facts, self.choices())
        return seed_plans(study, valid_values(study, self.facts), self.facts)

    def status(self, *, planner: bool = False) -> StudyStatus:
        """Where the study stands; with `planner`, the seed planner too (`status --json`)."""
        return study_status(self.spec, self.folder, self.storage_url, self.states,
                            {e.name: e.counts() for e in self.extras}, self.run,
                            self.seed_planner() if planner else None)


def text_path(config: TrainConfig) -> str:
    """Which text encoder a configuration trains with, in words."""
    if config.text_backend == "bert":
        return (f"fine-tuned BERT-family model {config.bert_path} (learning rate {config.bert_lr:g}, "
                f"{config.text_pooling} pooling, {config.bert_max_len} tokens)")
    return f"frozen pre-extracted text features ({config.text_pooling} pooling)"


def _extra(recorded: RecordedStage) -> ExtraStage:
    return ExtraStage(name=recorded.name, design=str(recorded.user_attrs.get("design", "")),
                      planned=int(recorded.user_attrs.get("planned", len(recorded.trials))), trials=recorded.trials)


def _stage_facts(spec: StudySpec, state: StageState) -> StageFacts:
    """The values each hyperparameter took in a stage: for one_at_a_time, those on its own axis
    (the points that vary it, plus the base point); otherwise those of every varying one. A
    racing stage also says where its race left each point."""
    name, design, trials = state.stage.name, state.stage.design, state.trials
    if design == ONE_AT_A_TIME:
        varied = [t.user_attrs.get("varied") for t in trials]
        params = {name: tuple(sorted({float(t.params[name]) for t, v in zip(trials, varied) if v in (name, "base")}))
                  for name in STUDY_HYPERPARAMETERS if name in varied}
    else:
        values = {p: tuple(sorted({float(t.params[p]) for t in trials if p in t.params})) for p in STUDY_HYPERPARAMETERS}
        params = {p: v for p, v in values.items() if len(v) > 1}
    ranges = spec.stage(name).ranges or {}
    race = {} if state.race is None else dict(state.race.status)
    return StageFacts(name, design, params, frozenset(p for p, r in ranges.items() if r.log), race)

"""Where a study stands (`status`) and what a run would do (`run --dry-run`): numbers first, in
small records, then text.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from mmrest.formatting import format_duration, format_value
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import plan_stage
from mmrest.study.racing import RaceState
from mmrest.study.spec import StudySpec
from mmrest.study.state import StageState, best_point


@dataclass
class StageCounts:
    """A stage's trials by state, and its race."""

    design: str
    planned: int | None  # None: a refine stage whose source has not finished
    done: int
    running: int
    failed: int
    waiting: int = 0
    round: int | None = None  # racing: looks taken so far (None: the stage does not race)
    seeds: dict[str, int] | None = None  # racing: per point (base included), the seeds it has been given
    racing: dict[str, str] | None = None  # racing: per point, running / decided / futile / at max
    other_rules: bool = False  # racing: its stored seeds follow an earlier version's rules (all are kept)

    @classmethod
    def of(cls, design: str, planned: int | None, states: Iterable[str], race: RaceState | None = None
           ) -> StageCounts:
        """From the state names (COMPLETE, FAIL, RUNNING, WAITING) of the stage's trials."""
        count = Counter(states)
        return cls(
            design=design, planned=planned, done=count["COMPLETE"], running=count["RUNNING"],
            failed=count["FAIL"], waiting=count["WAITING"],
            round=None if race is None else race.rounds,
            seeds=None if race is None else dict(race.seeds),
            racing=None if race is None else dict(race.status),
            other_rules=race is not None and race.other_rules,
        )


@dataclass
class StudyStatus:
    name: str
    folder: str
    storage: str  # what optuna-dashboard opens as is
    state: str  # "running", "finished", "stopped" or "not started"
    stages: dict[str, StageCounts]
    best: dict | None  # the point with the best objective mean over its seeds so far: key, value, seeds
    objective: str
    started: str | None
    finished: str | None
    elapsed_s: float | None
    remaining_s: float | None  # of the planned trials; None until a trial has finished
    unplanned: list[str]  # refine stages whose plan waits for their source stage
    # Per validation metric, the smallest difference detectable at 80 % power with 3, 5, 10, 20
    # seeds under the study's schedule, from the spread of its paired differences so far (None
    # for a metric before any; None altogether where not asked for: only --json computes it).
    seed_planner: dict[str, dict[int, float] | None] | None

    def to_json(self) -> dict:
        return asdict(self)


def study_status(spec: StudySpec, folder: StudyFolder, storage: str, states: list[StageState],
                 extras: dict[str, StageCounts], run: dict,
                 planner: dict[str, dict[int, float] | None] | None) -> StudyStatus:
    """The status from a study's stages as read (mmrest.study.results.StudyResults.status);
    `extras` counts the stages beyond the spec's (the `analysis` stage of `mmrest-study analyze`)."""
    best = best_point(states, spec.objective.mode)
    return StudyStatus(
        name=spec.name,
        folder=str(folder.root),
        storage=storage,
        state=_state(folder, states, run),
        stages={**{s.stage.name: _counts(s) for s in states}, **extras},
        best=None if best is None else {"key": best.key, "value": best.mean, "seeds": best.seeds},
        objective=spec.objective.metric,
        started=run.get("started"),
        finished=run.get("finished"),
        elapsed_s=_elapsed(run),
        remaining_s=estimate_seconds(spec, states),
        unplanned=[s.stage.name for s in states if s.planned is None],
        seed_planner=planner,
    )


def estimate_seconds(spec: StudySpec, states: list[StageState]) -> float | None:
    """Mean recorded trial time times the planned trials left, over the concurrency (stages not
    planned yet are not counted); None until a trial has finished."""
    seconds = [t.user_attrs["seconds"] for s in states for t in s.trials if "seconds" in t.user_attrs]
    if not seconds:
        return None
    left = sum(len(s.todo) for s in states if s.planned is not None)
    return sum(seconds) / len(seconds) * left / spec.max_concurrent


def render_status(status: StudyStatus) -> str:
    lines = [f"study {status.name} ({status.folder}): {status.state}", f"storage: {status.storage}",
             f"{'stage':<14}{'design':<16}{'planned':>8}{'done':>7}{'running':>9}{'failed':>8}"]
    for name, c in status.stages.items():
        planned = "?" if c.planned is None else str(c.planned)
        lines.append(f"{name:<14}{c.design:<16}{planned:>8}{c.done:>7}{c.running:>9}{c.failed:>8}")
    racing = [(name, c) for name, c in status.stages.items() if c.seeds is not None]
    for name, c in racing:
        lines.append(f"{name}: racing, {c.round} look(s) so far; seeds per point: "
                     + ", ".join(f"{p} {n}" + (f" ({c.racing[p]})" if p in c.racing else "")
                                 for p, n in c.seeds.items()))
        if c.other_rules:
            lines.append(f"{name}: raced under an earlier version's rules; every stored trial is kept, and the "
                         "race reads and goes on by this version's")
    if racing:
        # A point the race decided can still read "undecided" in the report, whose family is larger.
        lines.append("(why racing stopped a point, judged on the objective among its stage's comparisons; "
                     "the report's verdicts judge every comparison it shows together: mmrest-study report)")
    if status.best:
        best = status.best
        lines.append(f"best so far: {status.objective} {best['value']:.4f}, mean of {best['seeds']} seed(s) "
                     f"at {best['key']}")
    elapsed = "-" if status.elapsed_s is None else format_duration(status.elapsed_s)
    left = "unknown until a trial finishes"
    if status.remaining_s is not None:
        left = "about " + format_duration(status.remaining_s)
    if status.unplanned and status.remaining_s is not None:
        left += f" (not counting {', '.join(status.unplanned)}, planned later)"
    lines.append(f"elapsed {elapsed}; remaining {left if status.state != 'finished' else '0s'}")
    return "\n".join(lines)


def render_plan(spec: StudySpec, folder: StudyFolder, states: list[StageState] | None,
                ray_address: str | None = None) -> str:
    """The `--dry-run` text: trials per stage, resources and, once trials have finished, a time
    estimate. `states` None: a new study."""
    where = "new study" if states is None else "existing study"
    res = spec.resources
    lines = [
        f"plan of {spec.name} ({where} in {folder.root})",
        f"storage: {spec.storage or folder.journal.resolve()}",
        f"per trial: {format_value(res.cpu)} CPU, {format_value(res.gpu)} GPU; up to {spec.max_concurrent} "
        f"trials at once; Ray: {ray_address or spec.ray.address or 'a local runtime'}",
    ]
    for state in states or _planned_states(spec):
        lines.append(_plan_line(spec, state))
    estimate = None if states is None else estimate_seconds(spec, states)
    lines.append("time: " + ("no estimate until trials have finished" if estimate is None
                             else f"about {format_duration(estimate)} for the planned trials left"))
    return "\n".join(lines)


def _planned_states(spec: StudySpec) -> list[StageState]:
    return [StageState(s, None if s.refine else plan_stage(spec, s)) for s in spec.stages]


def _plan_line(spec: StudySpec, state: StageState) -> str:
    stage = state.stage
    head = f"stage {stage.name} ({stage.design})"
    if state.planned is None:
        source = stage.refine.source
        return f"{head}: refines {source} ({stage.refine.points} new values per parameter); planned when {source} finishes"
    seeds = len(spec.start_seeds)
    if state.race is not None:
        race = state.race
        where = "finished" if race.finished else f"round {race.rounds + 1}"
        return (f"{head}: racing ({where}), {len(state.planned)} trials so far, {len(state.todo)} to run, "
                f"at most {len(race.seeds) * len(spec.max_seeds)}")
    points = len(state.planned) // seeds
    if spec.racing is not None and stage.design == "one_at_a_time":
        return (f"{head}: {points} points race from {seeds} to {len(spec.max_seeds)} seeds: {len(state.planned)} "
                f"trials at the start, at most {points * len(spec.max_seeds)}")
    return f"{head}: {points} points x {seeds} seeds = {len(state.planned)} trials, {len(state.todo)} to run"


def _counts(state: StageState) -> StageCounts:
    return StageCounts.of(state.stage.design, None if state.planned is None else len(state.planned),
                          (t.state.name for t in state.trials), state.race)


def _state(folder: StudyFolder, states: list[StageState], run: dict) -> str:
    if all(s.is_finished for s in states):
        return "finished"
    if folder.live_driver() is not None:
        return "running"
    return "stopped" if run.get("started") else "not started"


def _elapsed(run: dict) -> float | None:
    if not run.get("started"):
        return None
    start = dt.datetime.fromisoformat(run["started"])
    end = dt.datetime.fromisoformat(run["finished"]) if run.get("finished") else dt.datetime.now().astimezone()
    return (end - start).total_seconds()

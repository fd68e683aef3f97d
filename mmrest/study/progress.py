"""The live display of `run`: one plain line per event, readable in a terminal, a CI log or a
file (no cursor tricks, so nothing is lost without a TTY)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TextIO

from mmrest.formatting import format_duration
from mmrest.study.planner import PlannedTrial
from mmrest.study.recorder import Finished
from mmrest.study.state import best_point, point_key


@dataclass
class Progress:
    """Counts of the running stage (and racing round) plus the best point so far, by its mean over
    the seeds run so far; prints a line on every event."""

    out: TextIO
    objective: str
    mode: str
    concurrency: int
    stage: str = ""
    planned: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    values: dict[str, list[float]] = field(default_factory=dict)  # objective per point, every seed so far
    durations: list[float] = field(default_factory=list)

    def begin_stage(self, stage: str, planned: int, done: int, failed: int, *, round: int | None = None,
                    values: dict[str, list[float]] | None = None) -> None:
        """A stage (or a racing round of it) starts; `values` are the objectives recorded so far."""
        self.stage, self.planned, self.done, self.failed, self.running = stage, planned, done, failed, 0
        self.values.update(values or {})
        name = stage if round is None else f"{stage}, round {round + 1}"
        self._print(f"stage {name}: {planned - done - failed} of {planned} trials to run")

    def __call__(self, event: str, payload: PlannedTrial | Finished) -> None:
        if event == "started":
            self.running += 1
            self._print(f"start {payload.key}")
            return
        self.running -= 1
        self.durations.append(payload.seconds)
        if payload.ok:
            self.done += 1
            self.values.setdefault(point_key(payload.planned.key), []).append(payload.value)
            took = format_duration(payload.seconds)
            self._print(f"done  {payload.planned.key}: {self.objective} {payload.value:.4f} ({took})")
        else:
            self.failed += 1
            self._print(f"FAIL  {payload.planned.key}: {payload.error}")

    def seconds_left(self) -> float | None:
        """Median trial time so far (robust to the first trials' worker start-up) times the
        trials still to finish, over the concurrency."""
        if not self.durations:
            return None
        left = self.planned - self.done - self.failed
        return statistics.median(self.durations) * left / self.concurrency

    def _print(self, what: str) -> None:
        counts = f"{self.done}/{self.planned} done, {self.running} running, {self.failed} failed"
        top = best_point(self.values, self.mode)
        best = (f"best {self.objective} {top.mean:.4f} (mean of {top.seeds} at {top.key})" if top
                else "best: none yet")
        left = self.seconds_left()
        eta = "time left: after the first trial" if left is None else f"~{format_duration(left)} left in stage"
        print(f"{time.strftime('%H:%M:%S')} [{self.stage}] {what} | {counts} | {best} | {eta}",
              file=self.out, flush=True)

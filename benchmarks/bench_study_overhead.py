"""What Ray Tune plus the Optuna journal cost per trial, against the same trainings in a plain
loop, and the throughput of 1 against 2 concurrent trials.

The same tiny study (synthetic data, a one-at-a-time sweep, 2 seeds) runs three ways:
  plain  - a Python loop calling `train` on each planned trial's config, one after another;
  c1, c2 - `mmrest-study run`'s engine with max_concurrent 1 and 2 (a local Ray runtime, the
           default journal storage), timed from the call to the last trial's end.
Steady state runs from the end of the first trial to the end of the last (n - 1 trials), so
start-up (Ray's runtime and workers; the plain loop's first-call warm-up) is reported apart.

    python benchmarks/bench_study_overhead.py [--epochs 6] [--train 384]
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import torch

from mmrest.config import make_config
from mmrest.study.data import load_study_dataset
from mmrest.study.runner import StudyRunner
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import plan_stage
from mmrest.study.results import StudyResults
from mmrest.study.spec import validate_spec
from mmrest.training import train


def spec_dict(name: str, concurrency: int, epochs: int, n_train: int) -> dict:
    return {
        "name": name,
        "dataset": {"synthetic": "mosi", "sizes": {"train": n_train, "valid": 64, "test": 64, "text_len": 8,
                                                   "text_dim": 32, "audio_len": 10, "vision_len": 10}},
        "train": {"max_epochs": epochs, "patience": epochs},
        "seeds": [1, 2],
        "stages": [{"name": "sweep", "design": "one_at_a_time",
                    "params": {"gamma": [0.0, 0.5, 1.0], "k": [3, 12], "eta": [0.1, 1.0]}}],
        "max_concurrent": concurrency,
    }


def plain_loop(spec, cache: Path) -> dict:
    torch.set_num_threads(1)  # as a Ray trial with cpu: 1
    start = time.perf_counter()
    data = load_study_dataset(spec.dataset, cache)
    ends = []
    for trial in plan_stage(spec, spec.stages[0]):
        train(make_config(spec.base, {**spec.train, **trial.point, "seed": trial.seed}), data)
        ends.append(time.perf_counter())
    return {"wall": ends[-1] - start, "steady": ends[-1] - ends[0], "n": len(ends)}


def engine(spec, root: Path) -> dict:
    start = time.time()
    result = StudyRunner(spec, StudyFolder(root / spec.name), out=io.StringIO()).fit()
    wall = time.time() - start
    assert result.finished and not result.failures
    trials = StudyResults.open(root / spec.name).trials
    assert (trials.state == "COMPLETE").all()
    first_end, last_end = _span(root / spec.name)
    return {"wall": wall, "startup": first_end - start, "steady": last_end - first_end, "n": len(trials)}


def _span(study_dir: Path) -> tuple[float, float]:
    """Ends (Optuna's tell) of the first and of the last trial, epoch seconds."""
    trials = [t for s in StudyResults.open(study_dir).states for t in s.trials]
    ends = sorted(t.datetime_complete.timestamp() for t in trials)
    return ends[0], ends[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train", type=int, default=384, help="training samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs = {c: validate_spec(spec_dict(f"bench_c{c}", c, args.epochs, args.train), source="bench") for c in (1, 2)}
        plain = plain_loop(specs[1], root / "cache")
        c1 = engine(specs[1], root)
        c2 = engine(specs[2], root)
    n, steady = plain["n"], plain["steady"] / (plain["n"] - 1)
    per_c1, per_c2 = c1["steady"] / (n - 1), c2["steady"] / (n - 1)
    print(f"trials: {n} ({args.train} training samples, {args.epochs} epochs each)")
    print(f"plain loop: wall {plain['wall']:.1f} s; steady {steady:.2f} s per trial")
    for name, run, per in (("1 at a time", c1, per_c1), ("2 at a time", c2, per_c2)):
        print(f"engine, {name}: wall {run['wall']:.1f} s = {run['startup']:.1f} s to the first trial's end "
              f"(Ray runtime, workers, first trial) + {run['steady']:.1f} s; steady {per:.2f} s per trial")
    print(f"steady time per trial, engine 1 at a time / plain loop: {per_c1 / steady:.2f}")
    print(f"wall time, engine 1 at a time / plain loop: {c1['wall'] / plain['wall']:.2f}")
    print(f"throughput (steady): 1 at a time {60 / per_c1:.1f} trials/min, 2 at a time {60 / per_c2:.1f} trials/min; "
          f"2 vs 1: {per_c1 / per_c2:.2f}x")
    print(f"overhead_seconds_per_trial: {per_c1 - steady:.3f}")


if __name__ == "__main__":
    main()

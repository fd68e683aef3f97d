"""How fast `status`, `status --json` and `report` read a study, against the code before the study
had a read side (a git worktree of `--old`), in the same run, on the same study.

The study: a racing study of about 200 trials written into a real Optuna journal through the
engine's own planning and recording code, with made-up results instead of training
(tests/fixtures/simulated_study.py): the coarse stage of `search_spaces/mosi_grid.yaml` (the seven
hyperparameters, 29 points), seeds racing from 3 to 10. The old engine
races it: the old code replays only races its own rules gave (and its refine stages could break
its own reading: issue 17), while the new one reads any, a stage raced by other rules in one
replay as it was run.

Each command runs in a fresh interpreter, as a user runs it: `--repeats` times per code base,
alternating old and new so that load on the machine falls on both; the medians are printed. A
further run of each under cProfile counts, per command, the spec reads (`StudyFolder.read_spec`),
storage opens (`open_storage`) and race replays (`mmrest.stats.racing.replay`).

    python benchmarks/bench_study_read.py [--old edde76b] [--repeats 5]

Last line: `status_speedup: X`, the old `status` time over the new (CPU seconds of the process).
"""
from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


OLD = "edde76b"  # the commit the read side (issue 19) started from
COUNTED = {"read_spec": "spec reads", "open_storage": "storage opens", "replay": "race replays"}
SPEC = {
    "name": "readbench",
    "dataset": {"synthetic": "mosi", "seed": 0, "sizes": {"train": 64, "valid": 32, "test": 32}},
    "base": "mosi",
    "train": {"max_epochs": 2},
    "seeds": {"list": list(range(1, 11)), "start": 3, "max": 10},
    "objective": {"metric": "valid_mae", "mode": "min"},
    "stages": [
        {"name": "coarse", "design": "one_at_a_time",
         "params": {"k": [3, 5, 9, 12], "v1": [0.1, 0.2, 0.4, 1.6, 3.2], "v2": [0.1, 0.3, 3.0, 10.0],
                    "xi": [0.3, 1.0, 10.0, 30.0], "alpha": [0.25, 0.5, 2.0, 4.0], "gamma": [0.0, 0.01, 0.2, 0.5],
                    "eta": [0.0, 0.001, 0.1, 1.0]}},
    ],
}


def effects(point: dict) -> float:
    """Seed-sds of shift: k and gamma matter a little, eta a lot at 1."""
    return 0.3 * abs(point["k"] - 7) / 5 + 1.0 * point["gamma"] + 2.0 * point["eta"]


BUILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
from simulated_study import gaussian_results, simulate_study
from mmrest.study.folder import StudyFolder
from mmrest.study.spec import validate_spec
sys.path.insert(0, sys.argv[4])
from bench_study_read import effects
spec = validate_spec(json.loads(sys.argv[1]), source="bench_study_read")
print(simulate_study(spec, StudyFolder(Path(sys.argv[2]) / spec.name), gaussian_results(effects, sd=1.0, seed=3)))
"""


def build(root: Path, code: Path) -> Path:
    """The study, raced by the engine of `code` (the old one: see the module docstring)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    # cwd: `python -c` puts the working directory first on sys.path, before PYTHONPATH.
    run = subprocess.run([sys.executable, "-c", BUILD, json.dumps(SPEC), str(root), str(ROOT / "tests" / "fixtures"),
                          str(ROOT / "benchmarks")], env=env, check=True, capture_output=True, text=True, cwd=code)
    trials = int(run.stdout.split()[-1])
    if trials < 150:
        raise SystemExit(f"the study has {trials} trials; this benchmark needs at least 150")
    print(f"study: {trials} trials, raced by the code before", flush=True)
    return root / SPEC["name"]


def worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True)
    return where


def command(name: str, study: Path, out: Path) -> list[str]:
    return {"status": ["status", str(study)], "status --json": ["status", str(study), "--json"],
            "report": ["report", str(study), "-o", str(out / "readbench.html")]}[name]


def run(code: Path, args: list[str], profile: Path | None = None) -> float:
    """CPU seconds (user + system) of `mmrest-study ARGS` run from `code` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else []) + ["-m", "mmrest.cli"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(prefix + args, env=env, check=True, capture_output=True, cwd=code)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def counts(profile: Path) -> dict[str, int]:
    """Calls of each counted function (by name, in the mmrest package) in a cProfile dump."""
    found = dict.fromkeys(COUNTED, 0)
    for (filename, _, function), (calls, *_rest) in pstats.Stats(str(profile)).stats.items():
        if function in COUNTED and "/mmrest/" in filename:
            found[function] += calls
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default=OLD, help=f"the code to compare against (a git revision; default {OLD})")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command per code base (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="readbench") as tmp:
        tmp = Path(tmp)
        old = worktree(args.old, tmp / "old")
        study = build(tmp, old)
        try:
            codes = {"old": old, "new": ROOT}
            times = {(c, name): [] for c in codes for name in ("status", "status --json", "report")}
            for _ in range(args.repeats):
                for name in ("status", "status --json", "report"):
                    for code, path in codes.items():
                        times[(code, name)].append(run(path, command(name, study, tmp)))
            for name in ("status", "status --json", "report"):
                for code, path in codes.items():
                    profile = tmp / f"{code}.prof"
                    run(path, command(name, study, tmp), profile)
                    found = counts(profile)
                    print(f"reads {code} {name}: " + ", ".join(f"{COUNTED[f]} {n}" for f, n in found.items()))
            for name in ("status", "status --json", "report"):
                old_s, new_s = (statistics.median(times[(c, name)]) for c in codes)
                print(f"{name.replace(' --', '_').replace(' ', '_')}_cpu_s: old {old_s:.2f}, new {new_s:.2f} "
                      f"(x{old_s / new_s:.2f})")
            print(f"status_speedup: {statistics.median(times[('old', 'status')]) / statistics.median(times[('new', 'status')]):.2f}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)


if __name__ == "__main__":
    main()

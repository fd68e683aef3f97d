"""Which cluster state PDLF uses at evaluation, measured on real MOSI transcripts.

For each seed the full model (`--preset mosi`, frozen mean-pooled MiniLM features) is trained
once; at its best epoch (chosen on validation) valid and test are scored three ways (MAE): the
score s alone, PDLF with the state the epoch's last step left (the state evaluation used before
the epoch state), and PDLF with the epoch state the trainer now uses. The last-step state is observed by
wrapping the trainer's end-of-epoch clustering, which leaves the training itself unchanged.

    python benchmarks/pdlf_state_mosi.py [--seeds 1111 1112 1113] [--epochs 40]

Needs `../shared/data/mosi/label.csv` and the offline MiniLM encoder, as real_language_mosi.py.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmrest.config import make_config
from mmrest.data.readers import load_dataset
from mmrest.training import train, trainer

from mosi_language import add_arguments, prepared_mosi  # the same folder: run as python benchmarks/...



def last_step_states() -> list[dict]:
    """Wrap the end-of-epoch clustering to keep the state each epoch's last step left."""
    seen = []
    original = trainer.cluster_epoch

    def observed(z, state, cfg, *, init):
        seen.append({name: value.clone() for name, value in state.state_dict().items()})
        original(z, state, cfg, init=init)

    trainer.cluster_epoch = observed
    return seen


def mae(run, tensors, data, split: str, *, state: dict | None) -> float:
    run.has_state = state is not None  # without a state, the prediction is s alone
    if state is not None:
        run.state.load_state_dict(state)
    pred, _ = trainer.evaluate(run, tensors[split])
    return float(np.mean(np.abs(pred - data.split(split).labels.astype(np.float64))))


def one_seed(data, seed: int, epochs: int, seen: list[dict]) -> dict:
    cfg = make_config("mosi", {"text_pooling": "mean", "max_epochs": epochs, "seed": seed})
    seen.clear()
    with tempfile.TemporaryDirectory() as out:
        result = train(cfg, data, out_dir=out)
        ckpt = torch.load(Path(out) / "best.pt", weights_only=False)
    run = trainer._build(cfg, data, torch.device("cpu"))
    trainer._restore(run, ckpt)
    tensors = trainer.to_tensors(data, cfg, torch.device("cpu"))
    states = {
        "s alone": None,
        "last step": seen[result.best_epoch - 1],
        "epoch": {name: value.clone() for name, value in ckpt["metric"].items()},
    }
    row = {"best epoch": result.best_epoch}
    for split in ("valid", "test"):
        row.update({f"{split}, {name}": mae(run, tensors, data, split, state=state) for name, state in states.items()})
    row.update({f"active, {name}": int(states[name]["active"].sum()) for name in ("last step", "epoch")})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1111, 1112, 1113])
    parser.add_argument("--epochs", type=int, default=40)
    add_arguments(parser)
    args = parser.parse_args()
    prepared, _ = prepared_mosi(args)
    torch.set_num_threads(1)
    data = load_dataset(prepared)
    seen = last_step_states()
    rows = {seed: one_seed(data, seed, args.epochs, seen) for seed in args.seeds}
    columns = list(next(iter(rows.values())))
    print("MAE at the best epoch, frozen mean-pooled MiniLM, --preset mosi, "
          f"max_epochs {args.epochs}; clusters active of 7")
    print(f"{'seed':<6}" + "".join(f"{c:>19}" for c in columns))
    for seed, row in rows.items():
        print(f"{seed:<6}" + "".join(f"{row[c]:>19.4f}" if isinstance(row[c], float) else f"{row[c]:>19}" for c in columns))
    means = {c: statistics.mean(row[c] for row in rows.values()) for c in columns}
    print(f"{'mean':<6}" + "".join(f"{means[c]:>19.4f}" for c in columns))


if __name__ == "__main__":
    main()

"""`mmrest-study train`: one training run, with its configuration, metrics and checkpoint saved."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import yaml

from mmrest.config import PRESETS, make_config
from mmrest.data.synthetic import PRESETS as SYNTHETIC_SHAPES
from mmrest.errors import InputError
from mmrest.metrics import METRIC_NAMES
from mmrest.overrides import parse_assignments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train MMRest once and report validation-selected test metrics",
        description="Train MMRest on a dataset file or on built-in synthetic data. The epoch is "
        "chosen by validation loss; test is scored at that epoch.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="an MMSA pickle, or an MMIM noalign pickle with --labels")
    source.add_argument("--synthetic", choices=sorted(SYNTHETIC_SHAPES), help="built-in synthetic data of this shape")
    p.add_argument("--labels", type=Path, help="label CSV of an MMIM-format pickle")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="hyperparameters of the paper, or mosi_frozen for frozen text features (default: the dataset's)")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", help="override a config value, e.g. --set xi=10 (repeatable)")
    p.add_argument("--epochs", type=int, help="maximum epochs (default: the preset's 200)")
    p.add_argument("--seed", type=int, help="training seed (default 1111)")
    p.add_argument("--device", default="auto", help="auto (cuda when available, else cpu), cpu, cuda, cuda:1, ...")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<time>)")
    p.add_argument("--cache-dir", type=Path, help="where synthetic data is cached (default: $MMREST_CACHE or ~/.cache/mmrest)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.set_defaults(handler=run_train)


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device is visible; use --device cpu")
    return name


def default_cache_dir() -> Path:
    return Path(os.environ.get("MMREST_CACHE", Path.home() / ".cache" / "mmrest"))


def _load_data(args):
    if args.synthetic:
        from mmrest.data.synthetic import synthetic_dataset

        return synthetic_dataset(args.synthetic, seed=0, cache_dir=args.cache_dir or default_cache_dir())
    from mmrest.data.readers import load_dataset

    return load_dataset(args.data, labels=args.labels)


def _print_table(result) -> None:
    print(f"{'split':<6}" + "".join(f"{m:>10}" for m in METRIC_NAMES))
    for split in ("valid", "test"):
        values = getattr(result, split)
        print(f"{split:<6}" + "".join(f"{values[m]:>10.4f}" for m in METRIC_NAMES))


def _print_diagnostics(result) -> None:
    from mmrest.training.diagnostics import DIAGNOSTICS

    if not result.diagnostics:
        print("diagnostics: off (--set diagnostics=true records them)")
        return
    print(f"diagnostics of epoch {result.best_epoch}, over its training steps (n/a: does not apply):")
    for name, value in result.diagnostics.items():
        shown = f"{value:.4g}" if math.isfinite(value) else "n/a"
        print(f"  {name:<24}{shown:>10}  {DIAGNOSTICS[name]}")


def _metrics_json(result) -> dict:
    """metrics.json: the selected epoch's metrics and diagnostics, and every epoch's record.
    A diagnostic that does not apply is NaN in the result and null here (JSON has no NaN)."""

    def finite(values: dict) -> dict:
        return {name: value if math.isfinite(value) else None for name, value in values.items()}

    history = [{**asdict(record), "diagnostics": finite(record.diagnostics)} for record in result.history]
    return {"best_epoch": result.best_epoch, "valid": result.valid, "test": result.test, "params": result.params,
            "seconds": round(result.seconds, 3), "diagnostics": finite(result.diagnostics), "history": history}


def run_train(args) -> int:
    from mmrest.training import train
    from mmrest.training.memory import keep_freed_memory

    overrides = parse_assignments(args.sets)
    if args.epochs is not None:
        overrides["max_epochs"] = args.epochs
    if args.seed is not None:
        overrides["seed"] = args.seed
    preset = args.preset or args.synthetic or "mosi"
    config = make_config(preset, overrides, where="--set")
    if args.labels and not args.data:
        raise InputError("--labels goes with --data (an MMIM-format pickle)")
    device = resolve_device(args.device)
    data = _load_data(args)
    out = args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out {out}: the folder exists and is not empty; choose another")

    def progress(rec):
        if not args.quiet:
            print(
                f"epoch {rec.epoch:>3}/{config.max_epochs}  train {rec.train_loss:.4f}  valid mae "
                f"{rec.valid_loss:.4f}  acc7 {rec.valid['acc7']:.2f}  acc2 {rec.valid['acc2_non0']:.2f}  "
                f"({rec.seconds:.1f}s)",
                file=sys.stderr,
            )

    print(f"training on {data.source} ({device}); output in {out}", file=sys.stderr)
    keep_freed_memory()
    result = train(config, data, device=device, on_epoch=progress, out_dir=out)
    (out / "config.yaml").write_text(yaml.safe_dump({"dataset": data.source, **config.model_dump()}, sort_keys=False))
    (out / "metrics.json").write_text(json.dumps(_metrics_json(result), indent=2))
    print(f"best epoch {result.best_epoch} of {len(result.history)} (by validation loss); "
          f"{result.params} parameters; {result.seconds:.1f}s")
    _print_table(result)
    _print_diagnostics(result)
    return 0

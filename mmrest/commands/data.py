"""`mmrest-study data`: make synthetic data, check a dataset file, prepare real text."""
from __future__ import annotations

import argparse
from pathlib import Path

from mmrest.data.synthetic import PRESETS

# Overrides of `data synth`: keyword of `write_synthetic` (flag: --text-len for text_len) -> type.
_SIZE_OPTIONS = {
    "train": int, "valid": int, "test": int,
    "text_len": int, "text_dim": int,
    "audio_len": int, "audio_dim": int,
    "vision_len": int, "vision_dim": int,
    "text_signal": float, "audio_signal": float, "vision_signal": float,
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="make synthetic data, check a dataset file, prepare real text",
        description="Dataset tools. Files are MMSA-format pickles unless said otherwise.",
    )
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    _register_synth(commands)
    _register_check(commands)
    _register_prepare(commands)


def _register_synth(commands) -> None:
    p = commands.add_parser(
        "synth",
        help="write a synthetic MOSI- or MOSEI-shaped MMSA pickle with a planted signal",
        description="Write synthetic data of a preset's shape (sizes overridable), deterministic "
        "under --seed, with a planted signal per modality (text > audio > vision by default).",
    )
    p.add_argument("--preset", choices=sorted(PRESETS), required=True)
    p.add_argument("--out", type=Path, required=True, help="the pickle to write")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    for name, kind in _SIZE_OPTIONS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, help=f"{_size_help(name)} (default: the preset's)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(handler=run_synth)


def _size_help(name: str) -> str:
    modality, _, what = name.partition("_")
    if not what:
        return f"samples in the {name} split"
    return {"len": f"padded {modality} length", "dim": f"{modality} feature size",
            "signal": f"planted {modality} correlation in [0, 1]"}[what]


def _register_check(commands) -> None:
    p = commands.add_parser(
        "check",
        help="read a dataset file and print per-split counts, sizes, lengths and labels",
        description="Read an MMSA pickle, or an MMIM noalign pickle with its label CSV, exactly as "
        "training would, and print a summary per split.",
    )
    p.add_argument("path", type=Path, help="MMSA or MMIM pickle")
    p.add_argument("--labels", type=Path, help="label CSV (video_id,clip_id,text,...) of an MMIM pickle")
    p.set_defaults(handler=run_check)


def _register_prepare(commands) -> None:
    p = commands.add_parser(
        "prepare",
        help="encode a transcript-and-label CSV with a local text model into an MMSA pickle",
        description="Read LABEL.csv (id,text,label,mode or video_id,clip_id,text,label,mode), "
        "encode each transcript with the model folder's tokenizer and model (no download), and "
        "write an MMSA pickle whose acoustic and visual entries are zeros marked absent.",
    )
    p.add_argument("--labels", type=Path, required=True, help="transcript-and-label CSV")
    p.add_argument("--text-model", type=Path, required=True, help="local transformers model folder")
    p.add_argument("--out", type=Path, required=True, help="the pickle to write")
    p.add_argument("--max-len", type=int, default=50, help="tokens per transcript (default 50)")
    p.add_argument("--batch-size", type=int, default=64, help="transcripts per forward pass (default 64)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(handler=run_prepare)


def run_synth(args: argparse.Namespace) -> int:
    from mmrest.data.synthetic import write_synthetic

    sizes = {name: getattr(args, name) for name in _SIZE_OPTIONS if getattr(args, name) is not None}
    path = write_synthetic(args.out, args.preset, seed=args.seed, overwrite=args.force, **sizes)
    print(f"wrote {path} (synthetic {args.preset}, seed {args.seed})")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from mmrest.data.readers import load_dataset
    from mmrest.data.summary import format_summary, summarize

    print(format_summary(summarize(load_dataset(args.path, labels=args.labels))))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from mmrest.data.prepare import prepare_text_dataset

    path = prepare_text_dataset(
        args.labels, args.text_model, args.out,
        max_len=args.max_len, batch_size=args.batch_size, overwrite=args.force,
    )
    print(f"wrote {path} (text from {args.text_model.name}; audio and vision absent)")
    return 0

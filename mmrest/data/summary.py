"""What `mmrest-study data check` reports: per-split numbers first, their text rendering second."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmrest.data.dataset import MODALITIES, SPLITS, MSADataset, Split
from mmrest.labels import CLASS_NAMES, N_CLASSES, label_bins

@dataclass(frozen=True)
class ModalitySummary:
    """Feature size (None when the file has no features for it), padded length, and the range
    of true lengths (None when the file does not say)."""

    dim: int | None
    padded_len: int | None
    min_len: int | None
    max_len: int | None


@dataclass(frozen=True)
class SplitSummary:
    name: str
    count: int
    modalities: dict[str, ModalitySummary]
    label_mean: float
    label_std: float  # population standard deviation (ddof=0)
    label_min: float
    label_max: float
    histogram: tuple[int, ...]  # counts of the 7 classes of `mmrest.labels.label_bins`


@dataclass(frozen=True)
class DatasetSummary:
    source: str
    format: str
    absent_modalities: tuple[str, ...]
    splits: tuple[SplitSummary, ...]


def summarize(dataset: MSADataset) -> DatasetSummary:
    return DatasetSummary(
        source=dataset.source,
        format=dataset.format,
        absent_modalities=dataset.absent_modalities,
        splits=tuple(_split_summary(name, dataset.split(name)) for name in SPLITS),
    )


def _split_summary(name: str, split: Split) -> SplitSummary:
    labels = split.labels.astype(np.float64)
    return SplitSummary(
        name=name,
        count=len(split),
        modalities={
            "text": _text_summary(split),
            "audio": _sequence_summary(split.audio, split.audio_lengths),
            "vision": _sequence_summary(split.vision, split.vision_lengths),
        },
        label_mean=float(labels.mean()),
        label_std=float(labels.std()),
        label_min=float(labels.min()),
        label_max=float(labels.max()),
        histogram=tuple(int(c) for c in np.bincount(label_bins(labels), minlength=N_CLASSES)),
    )


def _sequence_summary(features: np.ndarray, lengths: np.ndarray) -> ModalitySummary:
    return ModalitySummary(
        dim=int(features.shape[2]),
        padded_len=int(features.shape[1]),
        min_len=int(lengths.min()),
        max_len=int(lengths.max()),
    )


def _text_summary(split: Split) -> ModalitySummary:
    dim = None if split.text is None else int(split.text.shape[2])
    if split.text_bert is None:
        padded = None if split.text is None else int(split.text.shape[1])
        return ModalitySummary(dim=dim, padded_len=padded, min_len=None, max_len=None)
    tokens = split.text_bert[:, 1].sum(axis=1)  # the attention mask counts real tokens
    return ModalitySummary(
        dim=dim, padded_len=int(split.text_bert.shape[2]), min_len=int(tokens.min()), max_len=int(tokens.max())
    )


def format_summary(summary: DatasetSummary) -> str:
    """A plain-text report of `summary`, one table for sizes and labels, one for the histogram."""
    absent = ", ".join(summary.absent_modalities) or "none"
    lines = [f"{summary.source} ({summary.format}); absent modalities: {absent}", ""]
    header = ["split", "count"] + [f"{m} dim" for m in MODALITIES] + [f"{m} len" for m in MODALITIES]
    header += ["label mean", "std", "min", "max"]
    rows = [header]
    for split in summary.splits:
        mods = [split.modalities[m] for m in MODALITIES]
        rows.append(
            [split.name, str(split.count)]
            + [_or_dash(m.dim) for m in mods]
            + [_length_range(m) for m in mods]
            + [f"{split.label_mean:.3f}", f"{split.label_std:.3f}", f"{split.label_min:.2f}", f"{split.label_max:.2f}"]
        )
    lines += _table(rows)
    lines += ["", "7-class label histogram"]
    lines += _table([["split", *CLASS_NAMES]] + [[s.name, *map(str, s.histogram)] for s in summary.splits])
    return "\n".join(lines)


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _length_range(summary: ModalitySummary) -> str:
    if summary.min_len is None:
        return f"? of {summary.padded_len}" if summary.padded_len is not None else "-"
    return f"{summary.min_len}-{summary.max_len} of {summary.padded_len}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]

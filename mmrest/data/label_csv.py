"""Read a transcript-and-label CSV in either of its two public layouts.

- `id,text,label,mode` (as `../shared/data/mosi/label.csv`): `id` is `VIDEO_CLIP`.
- MMSA's `video_id,clip_id,text,label,mode[,...]`.

`mode` is `train`, `dev`/`valid` or `test`. Every row is checked; a bad one is refused with the
file, the CSV line and the column.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmrest.errors import InputError

MODE_TO_SPLIT = {"train": "train", "dev": "valid", "valid": "valid", "test": "test"}


@dataclass(frozen=True)
class LabelTable:
    """One entry per CSV row, in file order.

    `keys` name clips as MMIM pickles do (`VIDEO_CLIP`); `ids` name them as MMSA pickles do
    (`VIDEO$_$CLIP` for the MMSA layout, the `id` column as is otherwise). `labels` and `splits`
    are None where the CSV lacks the column and it was not required.
    """

    path: Path
    keys: list[str]
    ids: list[str]
    video_ids: list[str]
    texts: list[str]
    labels: np.ndarray | None
    splits: list[str] | None

    def __len__(self) -> int:
        return len(self.keys)


def read_label_csv(path: str | Path, *, require: tuple[str, ...] = ("text",)) -> LabelTable:
    """Parse and validate a label CSV; `require` names the columns that must be there."""
    path = Path(path)
    frame = _read_frame(path)
    columns = set(frame.columns)
    if "id" not in columns and not {"video_id", "clip_id"} <= columns:
        raise InputError(
            f"{path}: needs either an 'id' column or 'video_id' and 'clip_id' columns; "
            f"found {sorted(columns)}"
        )
    for name in require:
        if name not in columns:
            raise InputError(f"{path}: missing column '{name}'; found {sorted(columns)}")
    if "id" in columns:
        keys = ids = list(frame["id"])
        video_ids = [key.rsplit("_", 1)[0] for key in keys]
    else:
        video_ids = list(frame["video_id"])
        keys = [f"{v}_{c}" for v, c in zip(video_ids, frame["clip_id"])]
        ids = [f"{v}$_${c}" for v, c in zip(video_ids, frame["clip_id"])]
    return LabelTable(
        path=path,
        keys=keys,
        ids=ids,
        video_ids=video_ids,
        texts=list(frame["text"]) if "text" in columns else [""] * len(frame),
        labels=_labels(path, frame["label"]) if "label" in columns else None,
        splits=_splits(path, frame["mode"]) if "mode" in columns else None,
    )


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: label CSV not found; give the path of an existing file")
    try:
        # Everything as text, empty cells as "": ids such as '0001' and empty transcripts survive.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable CSV ({err})") from None
    frame.columns = [str(name).strip() for name in frame.columns]
    if frame.empty:
        raise InputError(f"{path}: has no data rows")
    return frame


def _labels(path: Path, column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~(np.abs(values) <= 3.0))  # also catches NaN (unparsable or empty)
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{path}: line {row + 2}, column 'label': {column.iloc[row]!r} is not a number in "
            f"[-3, 3] ({bad.size} such rows); fix or drop those rows"
        )
    return values.astype(np.float32)


def _splits(path: Path, column: pd.Series) -> list[str]:
    modes = column.str.strip().str.lower()
    unknown = sorted(set(modes) - set(MODE_TO_SPLIT))
    if unknown:
        row = int(np.flatnonzero(~modes.isin(list(MODE_TO_SPLIT)))[0])
        raise InputError(
            f"{path}: line {row + 2}, column 'mode': unknown value(s) {unknown}; "
            f"use one of {sorted(MODE_TO_SPLIT)}"
        )
    return [MODE_TO_SPLIT[mode] for mode in modes]

"""Read CMU-MOSI / CMU-MOSEI in the two formats they are distributed in, told apart by content.

MMSA processed pickles (`aligned_50.pkl`, `unaligned_50.pkl`): a dict of splits, each with `id`,
`raw_text`, `text` (N, L, dt) BERT states, optional `text_bert` (N, 3, L), `audio`, `vision`,
`regression_labels` (N,), and in unaligned files `audio_lengths` / `vision_lengths`; sequences
are padded at the end. Our own files add a top-level `meta` dict.

MMIM "noalign" pickles (`mosi_data_noalign.pkl`, `mosei_senti_data_noalign.pkl`): per split
`audio`, `vision`, `labels` (N, 1, 1) and `id` (MOSI: (N, 3) bytes, `[b'VIDEO_CLIP', b'start',
b'end']`); sequences are padded at the front, and all-zero steps are padding. Transcripts come
from the label CSV.

Files are unpickled by `mmrest.data.safe_pickle`, which admits only numpy arrays and builtin
data: a tampered file is refused before anything it names can run.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np

from mmrest.data.dataset import MODALITIES, SPLITS, MSADataset, Split
from mmrest.data.label_csv import LabelTable, read_label_csv
from mmrest.data.safe_pickle import ForbiddenGlobal, load_restricted
from mmrest.errors import InputError

MMSA_KEYS = ("id", "raw_text", "text", "audio", "vision", "regression_labels")
MMIM_KEYS = ("id", "audio", "vision", "labels")


class _Context:
    """Where we are in the file (for messages) and what was cleaned (for the single warning)."""

    def __init__(self, path: Path):
        self.path = path
        self.non_finite: dict[str, int] = {}
        self.clipped_lengths = 0

    def error(self, split: str, key: str, problem: str) -> InputError:
        return InputError(f"{self.path}: split '{split}', key '{key}': {problem}")

    def warn_once(self) -> None:
        total = sum(self.non_finite.values())
        if total:
            where = ", ".join(f"{where}: {count}" for where, count in self.non_finite.items() if count)
            warnings.warn(
                f"{self.path}: replaced {total} NaN/infinite feature values with 0 ({where})",
                stacklevel=3,
            )
        if self.clipped_lengths:
            warnings.warn(
                f"{self.path}: {self.clipped_lengths} sequence lengths exceeded the padded length "
                "and were cut to it",
                stacklevel=3,
            )


def load_dataset(path: str | Path, labels: str | Path | None = None) -> MSADataset:
    """Read an MMSA or MMIM pickle into an `MSADataset`; `labels` is the MMIM label CSV."""
    path = Path(path)
    raw = _unpickle(path)
    ctx = _Context(path)
    fmt = _detect_format(path, raw)
    meta = _meta(path, raw)
    if fmt == "mmsa":
        if labels is not None:
            raise InputError(
                f"{path}: an MMSA pickle carries its own transcripts; drop --labels {labels}"
            )
        splits = {name: _mmsa_split(raw[name], name, ctx) for name in SPLITS}
    else:
        if labels is None:
            raise InputError(
                f"{path}: an MMIM 'noalign' pickle has no transcripts; pass its label CSV "
                "(video_id,clip_id,text,...) with --labels"
            )
        splits = _mmim_splits(raw, read_label_csv(labels), ctx)
    ctx.warn_once()
    return MSADataset(
        source=str(path),
        format=fmt,
        absent_modalities=_absent_modalities(path, meta),
        meta=meta,
        **splits,
    )


def _unpickle(path: Path) -> object:
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of an MMSA or MMIM pickle")
    try:
        with path.open("rb") as handle:
            return load_restricted(handle)
    except ForbiddenGlobal as err:
        raise InputError(
            f"{path}: refused: the file asks to load '{err.qualified_name}', which a dataset file "
            "never holds (only numpy arrays and builtin containers, numbers and strings); it may "
            "have been tampered with, so get it again from its source"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable pickle ({type(err).__name__}: {err})") from None


def _detect_format(path: Path, raw: object) -> str:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a dict of splits, found {type(raw).__name__}")
    for name in SPLITS:
        if name not in raw:
            raise InputError(f"{path}: missing split '{name}'; found keys {sorted(map(str, raw))}")
        if not isinstance(raw[name], dict):
            raise InputError(f"{path}: split '{name}' is a {type(raw[name]).__name__}, not a dict")
    train = raw["train"]
    if "regression_labels" in train:
        return "mmsa"
    if "labels" in train:
        return "mmim"
    raise InputError(
        f"{path}: split 'train' has neither 'regression_labels' (MMSA) nor 'labels' (MMIM); "
        f"found keys {sorted(map(str, train))}"
    )


def _meta(path: Path, raw: dict) -> dict:
    meta = raw.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(f"{path}: key 'meta' must be a dict, found {type(meta).__name__}")
    return meta


def _absent_modalities(path: Path, meta: dict) -> tuple[str, ...]:
    absent = meta.get("absent_modalities", [])
    if not isinstance(absent, (list, tuple)) or not set(absent) <= set(MODALITIES):
        raise InputError(
            f"{path}: key 'meta/absent_modalities' must list names from {list(MODALITIES)}, "
            f"found {absent!r}"
        )
    return tuple(absent)


# ---------------------------------------------------------------- checks shared by both formats


def _require(split: dict, keys: tuple[str, ...], name: str, ctx: _Context) -> None:
    for key in keys:
        if key not in split:
            raise ctx.error(name, key, f"missing; this split has {sorted(map(str, split))}")


def _labels(values: object, key: str, name: str, ctx: _Context) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 0 or array.size != array.shape[0] or not np.issubdtype(array.dtype, np.number):
        raise ctx.error(name, key, f"expected one number per sample, found shape {array.shape}")
    labels = array.reshape(-1).astype(np.float32)
    bad = np.flatnonzero(~(np.abs(labels) <= 3.0))  # also catches NaN
    if bad.size:
        raise ctx.error(
            name, key,
            f"{bad.size} labels outside [-3, 3] (first: sample {bad[0]}, value {labels[bad[0]]})",
        )
    return labels


def _sequences(values: object, key: str, name: str, ctx: _Context) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 3 or not np.issubdtype(array.dtype, np.number):
        raise ctx.error(name, key, f"expected a numeric (N, L, d) array, found shape {array.shape}")
    return array


def _features(values: object, key: str, name: str, n: int, ctx: _Context) -> np.ndarray:
    """Float32 (N, L, d) features with NaN/inf set to 0 and counted."""
    array = _sequences(values, key, name, ctx)
    _check_count(array.shape[0], key, name, n, ctx)
    array = array.astype(np.float32, copy=False)
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if count:
        if not array.flags.writeable:
            array = array.copy()
        array[bad] = 0.0
    ctx.non_finite[f"{name}/{key}"] = count
    return array


def _check_count(count: int, key: str, name: str, n: int, ctx: _Context) -> None:
    if count != n:
        raise ctx.error(name, key, f"{count} samples but the labels have {n}; the file is inconsistent")


def _strings(values: object, key: str, name: str, n: int, ctx: _Context) -> list[str]:
    items = list(values)
    _check_count(len(items), key, name, n, ctx)
    return [item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in items]


# ---------------------------------------------------------------- MMSA


def _mmsa_split(split: dict, name: str, ctx: _Context) -> Split:
    _require(split, MMSA_KEYS, name, ctx)
    labels = _labels(split["regression_labels"], "regression_labels", name, ctx)
    n = labels.shape[0]
    audio = _features(split["audio"], "audio", name, n, ctx)
    vision = _features(split["vision"], "vision", name, n, ctx)
    return Split(
        ids=_strings(split["id"], "id", name, n, ctx),
        labels=labels,
        audio=audio,
        audio_lengths=_mmsa_lengths(split, "audio_lengths", audio.shape[1], name, n, ctx),
        vision=vision,
        vision_lengths=_mmsa_lengths(split, "vision_lengths", vision.shape[1], name, n, ctx),
        text=_features(split["text"], "text", name, n, ctx),
        text_bert=_text_bert(split, name, n, ctx),
        raw_text=_strings(split["raw_text"], "raw_text", name, n, ctx),
    )


def _mmsa_lengths(split: dict, key: str, padded: int, name: str, n: int, ctx: _Context) -> np.ndarray:
    if key not in split:  # aligned files: every step is real
        return np.full(n, padded, dtype=np.int64)
    lengths = np.asarray(split[key])
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.number):
        raise ctx.error(name, key, f"expected one length per sample, found shape {lengths.shape}")
    _check_count(lengths.shape[0], key, name, n, ctx)
    lengths = lengths.astype(np.int64)
    if (lengths < 0).any():
        raise ctx.error(name, key, f"negative length {lengths.min()}")
    # A length beyond the padded size means the sequence was truncated to it.
    ctx.clipped_lengths += int((lengths > padded).sum())
    return np.minimum(lengths, padded)


def _text_bert(split: dict, name: str, n: int, ctx: _Context) -> np.ndarray | None:
    if "text_bert" not in split:
        return None
    tokens = np.asarray(split["text_bert"])
    if tokens.ndim != 3 or tokens.shape[1] != 3 or not np.issubdtype(tokens.dtype, np.number):
        raise ctx.error(name, "text_bert", f"expected shape (N, 3, L), found {tokens.shape}")
    _check_count(tokens.shape[0], "text_bert", name, n, ctx)
    if not np.isfinite(tokens).all():
        raise ctx.error(name, "text_bert", "token ids must be finite")
    return tokens.astype(np.int64)


# ---------------------------------------------------------------- MMIM


def _mmim_splits(raw: dict, table: LabelTable, ctx: _Context) -> dict[str, Split]:
    parsed = {}
    for name in SPLITS:
        split = raw[name]
        _require(split, MMIM_KEYS, name, ctx)
        labels = _labels(split["labels"], "labels", name, ctx)
        ids = _strings(_first_column(split["id"]), "id", name, labels.shape[0], ctx)
        parsed[name] = (split, labels, ids)
    rows = _match_rows(table, {name: ids for name, (_, _, ids) in parsed.items()}, ctx)
    return {
        name: _mmim_split(split, labels, rows[name], table, name, ctx)
        for name, (split, labels, _) in parsed.items()
    }


def _first_column(ids: object) -> np.ndarray:
    # MOSI's ids are (N, 3): clip name, start and end time; the clip name is what names a row.
    ids = np.asarray(ids)
    return ids[:, 0] if ids.ndim == 2 else ids


def _match_rows(table: LabelTable, ids: dict[str, list[str]], ctx: _Context) -> dict[str, np.ndarray]:
    """CSV row of every sample: by clip name where the ids are `VIDEO_CLIP` (MOSI), else by
    position in train+valid+test order (MMIM's rule for MOSEI), checked video by video."""
    row_of = {}
    for row, key in enumerate(table.keys):
        row_of.setdefault(key, row)
    missing = {name: [i for i in split_ids if i not in row_of] for name, split_ids in ids.items()}
    if not any(missing.values()):
        return {name: np.array([row_of[i] for i in split_ids], dtype=np.int64) for name, split_ids in ids.items()}
    if _rows_in_order(table, ids):
        starts = np.cumsum([0] + [len(split_ids) for split_ids in ids.values()])
        return {name: np.arange(starts[k], starts[k + 1]) for k, name in enumerate(ids)}
    name = next(name for name in SPLITS if missing[name])
    raise ctx.error(
        name, "id",
        f"{len(missing[name])} clips have no row in {table.path} (first: {missing[name][:3]}); "
        "give the label CSV that belongs to this pickle",
    )


def _rows_in_order(table: LabelTable, ids: dict[str, list[str]]) -> bool:
    ordered = [(name, clip) for name in SPLITS for clip in ids[name]]
    if len(ordered) != len(table):
        return False
    for row, (name, clip) in enumerate(ordered):
        if not clip.startswith(table.video_ids[row]):
            return False
        if table.splits is not None and table.splits[row] != name:
            return False
    return True


def _mmim_split(split: dict, labels: np.ndarray, rows: np.ndarray, table: LabelTable,
                name: str, ctx: _Context) -> Split:
    n = labels.shape[0]
    audio, audio_lengths = _front_padded(split["audio"], "audio", name, n, ctx)
    vision, vision_lengths = _front_padded(split["vision"], "vision", name, n, ctx)
    return Split(
        ids=[table.keys[row] for row in rows],
        labels=labels,
        audio=audio,
        audio_lengths=audio_lengths,
        vision=vision,
        vision_lengths=vision_lengths,
        raw_text=[table.texts[row] for row in rows],
    )


def _front_padded(values: object, key: str, name: str, n: int, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Move front padding to the back. Length follows MMIM's get_length: the number of steps
    that are not all zero (counted before NaN cleanup, so a NaN step is real); the real steps
    are the last `length` ones."""
    raw = _sequences(values, key, name, ctx)
    padded = raw.shape[1]
    lengths = padded - np.all(raw == 0, axis=-1).sum(axis=1).astype(np.int64)
    features = _features(raw, key, name, n, ctx)
    steps = np.arange(padded)
    source = (steps[None, :] + (padded - lengths)[:, None]) % padded
    moved = np.take_along_axis(features, source[:, :, None], axis=1)
    moved[steps[None, :] >= lengths[:, None]] = 0.0
    return moved, lengths

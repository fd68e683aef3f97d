"""Turn a transcript-and-label CSV and a local BERT-family model folder into an MMSA pickle.

The model's last-layer token states become `text`, its tokenizer's ids `text_bert`. The CSV has
no acoustic or visual features, so those entries are zeros of MOSI's sizes (one step, length 1)
and `meta["absent_modalities"]` says so: the model then runs on language alone and reports can
say it did. Nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mmrest.data.dataset import SPLITS
from mmrest.data.label_csv import LabelTable, read_label_csv
from mmrest.data.pickle_io import write_pickle_atomic
from mmrest.files import refuse_existing
from mmrest.errors import InputError

# MOSI's acoustic (COVAREP) and visual (Facet) sizes, so prepared files fit MOSI-shaped models.
ABSENT_AUDIO_DIM, ABSENT_VISION_DIM = 5, 20


def prepare_text_dataset(labels_csv: str | Path, text_model_dir: str | Path, out_path: str | Path,
                         *, max_len: int = 50, batch_size: int = 64, overwrite: bool = False) -> Path:
    """Encode every transcript of `labels_csv` with the model in `text_model_dir`; write `out_path`."""
    if max_len < 2 or batch_size < 1:
        raise InputError(f"need max_len >= 2 (room for [CLS] and [SEP]) and batch_size >= 1; "
                         f"got max_len={max_len}, batch_size={batch_size}")
    refuse_existing(out_path, overwrite=overwrite)
    table = read_label_csv(labels_csv, require=("text", "label", "mode"))
    for name in SPLITS:
        if name not in table.splits:
            raise InputError(f"{table.path}: column 'mode' has no rows for split '{name}'; "
                             "need train, dev (or valid) and test rows")
    tokenizer, model = _load_text_model(Path(text_model_dir))
    tokens = tokenizer(table.texts, padding="max_length", truncation=True, max_length=max_len,
                       return_tensors="pt")
    states = _encode(model, tokens, batch_size)
    data = {name: _split(table, name, states, _text_bert(tokens)) for name in SPLITS}
    data["meta"] = {
        "absent_modalities": ["audio", "vision"],
        "text_model": Path(text_model_dir).resolve().name,
        "text_model_path": str(Path(text_model_dir).resolve()),
        "source": str(table.path),
        "max_len": max_len,
    }
    return write_pickle_atomic(data, out_path, overwrite=overwrite)


def _load_text_model(folder: Path):
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: not a model folder (no config.json); give a local "
                         "transformers model folder with its tokenizer, e.g. a BERT checkpoint")
    from transformers import AutoModel, AutoTokenizer  # heavy import, only when encoding

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise InputError(f"{folder}: could not load a tokenizer and model from it ({err})") from None
    return tokenizer, model.eval()


def _text_bert(tokens) -> np.ndarray:
    """(N, 3, L): token ids, attention mask, segment ids (zeros for tokenizers without them)."""
    ids = tokens["input_ids"].numpy()
    segments = tokens["token_type_ids"].numpy() if "token_type_ids" in tokens else np.zeros_like(ids)
    return np.stack([ids, tokens["attention_mask"].numpy(), segments], axis=1).astype(np.int64)


def _encode(model, tokens, batch_size: int) -> np.ndarray:
    import torch

    inputs = {key: value for key, value in tokens.items() if key in ("input_ids", "attention_mask", "token_type_ids")}
    total = inputs["input_ids"].shape[0]
    chunks = []
    with torch.no_grad():
        for start in range(0, total, batch_size):
            batch = {key: value[start:start + batch_size] for key, value in inputs.items()}
            chunks.append(model(**batch).last_hidden_state.float().numpy())
    return np.concatenate(chunks, axis=0)


def _split(table: LabelTable, name: str, states: np.ndarray, text_bert: np.ndarray) -> dict:
    rows = np.array([row for row, split in enumerate(table.splits) if split == name], dtype=np.int64)
    n = rows.shape[0]
    return {
        "id": np.array([table.ids[row] for row in rows]),
        "raw_text": np.array([table.texts[row] for row in rows], dtype=object),
        "text": states[rows],
        "text_bert": text_bert[rows],
        "audio": np.zeros((n, 1, ABSENT_AUDIO_DIM), dtype=np.float32),
        "audio_lengths": np.ones(n, dtype=np.int64),
        "vision": np.zeros((n, 1, ABSENT_VISION_DIM), dtype=np.float32),
        "vision_lengths": np.ones(n, dtype=np.int64),
        "regression_labels": table.labels[rows],
    }

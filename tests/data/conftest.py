"""Tiny files in the two real formats, built by the tests themselves."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SIZES = {"train": 4, "valid": 3, "test": 3}


def _mmsa(*, aligned: bool = False, seed: int = 0, text_len: int = 5, text_dim: int = 6,
          audio: tuple[int, int] = (7, 3), vision: tuple[int, int] = (8, 4)) -> dict:
    """An MMSA pickle's dict in MMSA's own dtypes (float64 features, list lengths, float ids),
    with the extra keys real files carry. Unaligned: random true lengths, zeros after them."""
    rng = np.random.default_rng(seed)
    data = {}
    for name, n in SIZES.items():
        split = {
            "id": [f"vid{name}{i // 2}$_${i % 2}" for i in range(n)],
            "raw_text": np.array([f"{name} words {i}" for i in range(n)]),
            "text": rng.standard_normal((n, text_len, text_dim)),
            "text_bert": np.stack([rng.integers(100, 999, (n, text_len)), np.ones((n, text_len)),
                                   np.zeros((n, text_len))], axis=1).astype(np.float64),
            "regression_labels": rng.uniform(-3, 3, n),
            "classification_labels": rng.integers(0, 3, n),
            "regression_labels_T": rng.uniform(-1, 1, n),
            "annotations": ["Positive"] * n,
        }
        for key, (length, dim) in {"audio": audio, "vision": vision}.items():
            steps = rng.standard_normal((n, length, dim))
            if not aligned:
                lengths = rng.integers(1, length + 1, n)
                steps[np.arange(length)[None, :] >= lengths[:, None]] = 0.0
                split[f"{key}_lengths"] = [int(v) for v in lengths]
            split[key] = steps
        data[name] = split
    return data


def _front_pad(rng: np.random.Generator, n: int, length: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Features padded at the front as in MMIM's files; the true lengths; no real step is all zero."""
    lengths = rng.integers(0, length + 1, n)
    steps = rng.uniform(0.5, 1.5, (n, length, dim)) * rng.choice([-1, 1], (n, length, dim))
    steps[np.arange(length)[None, :] < (length - lengths)[:, None]] = 0.0
    return steps, lengths


def _mmim(*, seed: int = 0, audio: tuple[int, int] = (6, 3), vision: tuple[int, int] = (5, 2)) -> tuple[dict, pd.DataFrame]:
    """An MMIM noalign dict (ids as MOSI's: (N, 3) bytes `VIDEO_CLIP, start, end`) and its
    MMSA-style label CSV as a frame, rows shuffled and with one clip the pickle lacks."""
    rng = np.random.default_rng(seed)
    data, rows = {}, []
    for name, n in SIZES.items():
        clips = [f"v_{name}_{i // 2}_{i % 2 + 1}" for i in range(n)]
        ids = np.array([[c.encode(), b"1.5", b"3.25"] for c in clips], dtype="S16")
        split = {"id": ids, "labels": rng.uniform(-3, 3, (n, 1, 1))}
        for key, (length, dim) in {"audio": audio, "vision": vision}.items():
            split[key], split[f"_{key}_lengths"] = _front_pad(rng, n, length, dim)
        data[name] = split
        for clip in clips:
            video, clip_id = clip.rsplit("_", 1)
            rows.append({"video_id": video, "clip_id": clip_id, "text": f"text of {clip}",
                         "label": 0.5, "mode": name})
    rows.append({"video_id": "unused", "clip_id": "9", "text": "not in the pickle", "label": 0.0, "mode": "test"})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return data, frame


def _strip_truth(data: dict) -> dict:
    """The dict as the file holds it: without the true lengths kept for the test's own checks."""
    return {name: {k: v for k, v in split.items() if not k.startswith("_")} for name, split in data.items()}


def _write(path: Path, obj: object) -> Path:
    with path.open("wb") as handle:
        pickle.dump(obj, handle)
    return path


@pytest.fixture
def make_mmsa():
    return _mmsa


@pytest.fixture
def make_mmim():
    return _mmim


@pytest.fixture
def strip_truth():
    return _strip_truth


@pytest.fixture
def write_pickle():
    return _write


@pytest.fixture
def snapshot():
    """Every file under a folder with its bytes, to prove that a command wrote nothing."""

    def take(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    return take

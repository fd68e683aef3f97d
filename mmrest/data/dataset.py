"""Typed, in-memory form of a multimodal sentiment dataset, whatever file it came from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "valid", "test")
MODALITIES = ("text", "audio", "vision")


@dataclass(frozen=True)
class Split:
    """One split. Arrays are float32 features, int64 lengths, float32 labels in [-3, 3].

    `text` (N, L, dt) holds pre-extracted token states and may be None (the MMIM format carries
    only transcripts); `text_bert` (N, 3, L) holds token ids, attention mask and segment ids and
    may be None. Acoustic and visual sequences keep their padding; `*_lengths` say how many steps
    are real, and the real steps are the first `length` ones (readers move front padding back).
    """

    ids: list[str]
    labels: np.ndarray
    audio: np.ndarray
    audio_lengths: np.ndarray
    vision: np.ndarray
    vision_lengths: np.ndarray
    text: np.ndarray | None = None
    text_bert: np.ndarray | None = None
    raw_text: list[str] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class MSADataset:
    """Three splits plus where they came from and which modalities are real."""

    source: str
    format: str  # "mmsa" or "mmim"
    train: Split
    valid: Split
    test: Split
    absent_modalities: tuple[str, ...] = field(default_factory=tuple)
    # The file's own `meta` dict (synthetic: preset, seed, planted signal; prepared: text model).
    meta: dict = field(default_factory=dict)

    def split(self, name: str) -> Split:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]

    @property
    def text_dim(self) -> int | None:
        return None if self.train.text is None else int(self.train.text.shape[-1])

    @property
    def audio_dim(self) -> int:
        return int(self.train.audio.shape[-1])

    @property
    def vision_dim(self) -> int:
        return int(self.train.vision.shape[-1])

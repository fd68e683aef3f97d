"""Turn a dataset split into tensors on the training device once, and cut batches from them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mmrest.config import TrainConfig
from mmrest.data.dataset import MSADataset, Split
from mmrest.data.pooling import pooled_text
from mmrest.errors import InputError
from mmrest.model.network import Inputs


@dataclass(frozen=True)
class SplitTensors:
    """Features, sequence lengths and labels on the training device. Acoustic and visual
    sequences keep one length per split (the longest real sequence in it), so every batch has
    the same shape: kernel plans are built once, and cutting a batch reads no value on the host.
    BERT's real token counts stay on the host, where trimming the token ids reads them."""

    inputs: Inputs
    labels: torch.Tensor
    text_lengths: torch.Tensor | None = None  # real tokens per sample (bert backend), on the host

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """The batch of rows `index` (a host tensor)."""
        x = self.inputs
        # non_blocking: a host-to-device copy that does not wait for the device to catch up.
        rows = index.to(self.labels.device, non_blocking=True)

        def pick(t):
            return None if t is None else t[rows]

        text_bert = pick(x.text_bert)
        if text_bert is not None:
            # Masked-out positions change no real token's state, so cut them where the whole
            # batch is padding: BERT's cost follows the sequence length.
            text_bert = text_bert[:, :, : int(self.text_lengths[index].max().clamp(min=1))]
        batch = Inputs(
            text=pick(x.text),
            text_bert=text_bert,
            audio=pick(x.audio),
            audio_lengths=pick(x.audio_lengths),
            vision=pick(x.vision),
            vision_lengths=pick(x.vision_lengths),
        )
        return batch, self.labels[rows]


def _sequences(values: np.ndarray, lengths: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T, d) steps and (N,) lengths on `device`, T cut to the longest real sequence (at least
    one step, which the LSTM needs): padding that no sequence uses would only cost time."""
    steps = max(1, int(lengths.max(initial=0)))
    return torch.from_numpy(np.ascontiguousarray(values[:, :steps])).to(device), torch.from_numpy(lengths).long().to(device)


def _tokenize(split: Split, tokenizer, max_len: int) -> np.ndarray:
    enc = tokenizer(
        list(split.raw_text), padding="max_length", truncation=True, max_length=max_len, return_tensors="np"
    )
    segments = enc.get("token_type_ids", np.zeros_like(enc["input_ids"]))
    return np.stack([enc["input_ids"], enc["attention_mask"], segments], axis=1)


def _text_scaling(data: MSADataset, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """The training split's mean and standard deviation of the frozen text vector under
    `text_standardize` (a constant column keeps scale 1); None otherwise."""
    if not cfg.text_standardize or data.train.text is None:
        return None
    pooled = pooled_text(data.train, cfg.text_pooling)
    std = pooled.std(0)
    return pooled.mean(0), np.where(std > 0, std, 1.0)


def _text_inputs(split: Split, cfg: TrainConfig, tokenizer, source: str, scaling: tuple[np.ndarray, np.ndarray] | None):
    if cfg.text_backend == "features":
        if split.text is None:
            raise InputError(
                f"{source}: the dataset carries no pre-extracted text features (key 'text'); "
                "train with --set text_backend=bert --set bert_path=DIR (a local BERT-family model folder)"
            )
        pooled = pooled_text(split, cfg.text_pooling)
        if scaling is not None:
            pooled = (pooled - scaling[0]) / scaling[1]
        return torch.from_numpy(np.ascontiguousarray(pooled, dtype=np.float32)), None
    if split.text_bert is not None and tokenizer is None:
        return None, torch.from_numpy(split.text_bert[:, :, : cfg.bert_max_len].astype(np.int64))
    if split.raw_text is None:
        raise InputError(f"{source}: the bert backend needs 'text_bert' token ids or raw text; the file has neither")
    return None, torch.from_numpy(_tokenize(split, tokenizer, cfg.bert_max_len).astype(np.int64))


def to_tensors(data: MSADataset, cfg: TrainConfig, device: torch.device) -> dict[str, SplitTensors]:
    """All three splits as tensors on `device`. The bert backend re-tokenises raw text only when
    the file has no token ids (the MMIM format)."""
    tokenizer = None
    if cfg.text_backend == "bert" and data.train.text_bert is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(cfg.bert_path, local_files_only=True)
    out = {}
    scaling = _text_scaling(data, cfg)
    for name in ("train", "valid", "test"):
        split = data.split(name)
        text, text_bert = _text_inputs(split, cfg, tokenizer, data.source, scaling)
        audio, audio_lengths = _sequences(split.audio, split.audio_lengths, device)
        vision, vision_lengths = _sequences(split.vision, split.vision_lengths, device)
        inputs = Inputs(
            text=None if text is None else text.to(device),
            text_bert=None if text_bert is None else text_bert.to(device),
            audio=audio,
            audio_lengths=audio_lengths,
            vision=vision,
            vision_lengths=vision_lengths,
        )
        text_lengths = None if text_bert is None else text_bert[:, 1].sum(1)
        out[name] = SplitTensors(inputs, torch.from_numpy(split.labels).float().to(device), text_lengths)
    return out

"""The MMRest network (spec section 1) and its PDLF prediction (spec section 4).

Only `nn.Module`s live here; clustering, losses and optimisation are driven by the trainer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmrest.config import TrainConfig

# The order of z's blocks of rows (spec 2: text, visual, acoustic), by the data's modality names.
Z_MODALITIES = ("text", "vision", "audio")


@dataclass(frozen=True)
class Inputs:
    """One batch, all on the model's device. Sequences are padded at the back to one length per
    split, and `*_lengths` count their real steps. `text` is the pooled sentence vector
    (features backend) or None; `text_bert` (B, 3, L) feeds the bert backend."""

    text: torch.Tensor | None
    text_bert: torch.Tensor | None
    audio: torch.Tensor
    audio_lengths: torch.Tensor
    vision: torch.Tensor
    vision_lengths: torch.Tensor


@dataclass
class Outputs:
    score: torch.Tensor  # s, (B,)
    # metric features, (P B, d1): B rows per modality of MMRestNet.modalities, in that order
    # (text, then visual, then acoustic when all three are present)
    z: torch.Tensor


class SequenceEncoder(nn.Module):
    """One-layer LSTM over the real steps of each sequence, then Linear(hidden -> hidden).

    The padded batch runs through the LSTM whole, and each sequence's state is read at its last
    real step. A one-way LSTM's state at step t has seen steps 0..t only, so padding after a
    sequence never reaches it: this equals packing by length (the spec's wording), at a fraction
    of the cost (benchmarks/bench_epoch.py). Padding must be at the back; the readers move front
    padding there. A sequence of length 0 has seen nothing and keeps the LSTM's zero initial state.
    """

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, num_layers=1, batch_first=True)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(x)  # (B, T, hidden)
        # lengths live on x's device: the gather needs no host value, so no sync.
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, states.shape[2])
        final = states.gather(1, last).squeeze(1)
        return self.out(torch.where((lengths > 0).unsqueeze(1), final, 0.0))


class BertTextEncoder(nn.Module):
    """A local BERT-family model, fine-tuned; the sentence vector is the first token's state."""

    def __init__(self, path: str, pooling: str):
        super().__init__()
        from transformers import AutoModel

        self.bert = AutoModel.from_pretrained(path, local_files_only=True)
        self.pooling = pooling
        self.out_dim = int(self.bert.config.hidden_size)

    def forward(self, text_bert: torch.Tensor) -> torch.Tensor:
        ids, mask, segments = text_bert[:, 0], text_bert[:, 1], text_bert[:, 2]
        states = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=segments).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        weights = mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _head(in_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, 512),
        nn.Dropout(dropout),
        nn.Linear(512, 128),
        nn.Tanh(),
        nn.Linear(128, 128),
        nn.Tanh(),
        nn.Linear(128, 1),
    )


class MMRestNet(nn.Module):
    """Encoders, the 64-d metric features z and the intermediate score s.

    `modalities` are the present ones, whose rows z stacks (a subsequence of Z_MODALITIES). An
    absent modality's input is a placeholder, so its encoder gives every sample the same vector:
    it still feeds the fusion layers (the score's architecture does not depend on the data) but
    not z, which clustering, L_MMC and PDLF read (spec 1)."""

    def __init__(self, cfg: TrainConfig, *, text_dim: int, audio_dim: int, vision_dim: int,
                 modalities: tuple[str, ...] = Z_MODALITIES):
        super().__init__()
        if not modalities or [m for m in Z_MODALITIES if m in modalities] != list(modalities):
            raise ValueError(f"modalities must be a non-empty subsequence of {Z_MODALITIES}, got {modalities}")
        self.modalities = tuple(modalities)
        self.bert = BertTextEncoder(cfg.bert_path, cfg.text_pooling) if cfg.text_backend == "bert" else None
        dt = self.bert.out_dim if self.bert is not None else text_dim
        h = cfg.hidden
        self.audio_enc = SequenceEncoder(audio_dim, h)
        self.vision_enc = SequenceEncoder(vision_dim, h)
        self.text_to_metric = nn.Linear(dt, cfg.d1)
        # The acoustic/visual metric features are the encoders' outputs themselves (z_a = h_a),
        # so hidden == d1 (TrainConfig refuses anything else).
        self.fuse_t = nn.Linear(dt, cfg.d2)
        self.fuse_v = nn.Linear(h, cfg.d2)
        self.fuse_a = nn.Linear(h, cfg.d2)
        self.fuse_tav = nn.Linear(dt + 2 * h, cfg.d2)
        self.head = _head(4 * cfg.d2, cfg.dropout)
        # Frozen text features cannot adapt to the task, and the layers on top of them overfit
        # without noise at their input (docs/model.md, "The frozen path").
        self.text_dropout = nn.Dropout(cfg.text_dropout)
        self._init_weights()

    def _init_weights(self) -> None:
        for name, param in self.named_parameters():
            if not name.startswith("bert.") and param.dim() > 1:
                nn.init.xavier_normal_(param)

    def forward(self, batch: Inputs) -> Outputs:
        h_t = self.text_dropout(self.bert(batch.text_bert) if self.bert is not None else batch.text)
        h_a = self.audio_enc(batch.audio, batch.audio_lengths)
        h_v = self.vision_enc(batch.vision, batch.vision_lengths)
        fused = torch.cat(
            [
                torch.relu(self.fuse_t(h_t)),
                torch.relu(self.fuse_v(h_v)),
                torch.relu(self.fuse_a(h_a)),
                torch.relu(self.fuse_tav(torch.cat([h_t, h_a, h_v], dim=-1))),
            ],
            dim=-1,
        )
        rows = {"text": self.text_to_metric(h_t), "vision": h_v, "audio": h_a}
        z = torch.cat([rows[m] for m in self.modalities], dim=0)
        return Outputs(score=self.head(fused).squeeze(-1), z=z)


class MetricState(nn.Module):
    """Learnable metrics (M0, the k local offsets dM) and the cluster state of the last MMC step."""

    def __init__(self, k: int, d1: int):
        super().__init__()
        self.M0 = nn.Parameter(torch.eye(d1))
        self.dM = nn.Parameter(torch.eye(d1).repeat(k, 1, 1))
        self.register_buffer("centers", torch.zeros(k, d1))
        # Which clusters had rows in the last MMC step; none before the first one.
        self.register_buffer("active", torch.zeros(k, dtype=torch.bool))

    def update(self, centers: torch.Tensor, assignment: torch.Tensor) -> None:
        self.centers.copy_(centers.detach())
        # A one-hot test, not bincount: bincount's output size depends on the data, which costs
        # a device-to-host copy on an accelerator every step.
        clusters = torch.arange(self.centers.shape[0], device=assignment.device)
        self.active.copy_((assignment.unsqueeze(1) == clusters).any(0))


def pdlf_bias(z: torch.Tensor, state: MetricState, beta: float, *, modalities: int) -> torch.Tensor:
    """r_b of spec section 4: the mean over a sample's rows of z of the projection value.

    z holds `modalities` blocks of B rows (as MMRestNet.forward stacks them), so rows b, B+b, ...
    belong to sample b. Clusters empty in the last MMC step are not candidates. Centers are
    constants.
    """
    m0 = 0.5 * (state.M0 + state.M0.transpose(0, 1))
    centers = state.centers
    with torch.no_grad():
        eye = torch.eye(z.shape[1], device=z.device, dtype=z.dtype)
        local = m0.unsqueeze(0) + state.dM + beta * eye  # (k, d, d)
        diff = z.unsqueeze(1) - centers.unsqueeze(0)  # (n, k, d)
        dist = torch.einsum("nkd,kde,nke->nk", diff, local, diff)
        dist = dist.masked_fill(~state.active.unsqueeze(0), float("inf"))
        nearest, second = dist.topk(2, dim=1, largest=False).indices.unbind(1)
    c_n, c_s = centers[nearest], centers[second]
    axis = c_s - c_n
    norm_sq = torch.einsum("nd,de,ne->n", axis, m0, axis).clamp(min=1e-8)
    r = torch.einsum("nd,de,ne->n", z - c_n, m0, axis) / norm_sq.sqrt()
    # With fewer than two active clusters the second-nearest center does not exist.
    r = torch.where(state.active.sum() >= 2, r, torch.zeros_like(r))
    return r.view(modalities, -1).mean(0)

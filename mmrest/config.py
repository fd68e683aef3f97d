"""Typed, validated configuration of one MMRest training run, and the paper's presets.

One flat object on purpose: a study varies any field by name (`k`, `xi`, `train.max_epochs`
maps to `max_epochs`), the CLI sets any field with `--set KEY=VALUE`, and the resolved object is
saved next to the results it produced.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from mmrest.errors import InputError

# What a study can vary, defined once: the seven hyperparameters of the paper's sensitivity study
# (spec section 6), and the k-means mode, so that warm k-means and the release's per-batch
# restarts can be compared like any value (in a study it is a number: KMEANS_MODES' index).
Hyperparameter = Literal["k", "v1", "v2", "xi", "alpha", "gamma", "eta", "kmeans_mode"]
STUDY_HYPERPARAMETERS: tuple[Hyperparameter, ...] = get_args(Hyperparameter)
KMEANS_MODES = ("warm", "restart")
INTEGER_HYPERPARAMETERS = ("k", "kmeans_mode")  # the rest are real numbers


def study_number(name: str, value) -> int | float:
    """A study parameter's value as a study holds it: an int for k and the k-means mode (a mode's
    name becomes its index in KMEANS_MODES), a float for the rest."""
    if name == "kmeans_mode" and isinstance(value, str):
        return KMEANS_MODES.index(value)
    return int(round(value)) if name in INTEGER_HYPERPARAMETERS else float(value)


def study_values(config: TrainConfig) -> dict[str, int | float]:
    """The study parameters of a training configuration, as a study holds them."""
    return {name: study_number(name, getattr(config, name)) for name in STUDY_HYPERPARAMETERS}
# How to get BERT weights, for the message that refuses a missing folder (nothing is downloaded here).
GET_BERT = (
    "on a machine with internet: python -c \"from transformers import AutoModel, AutoTokenizer; "
    "[c.from_pretrained('bert-base-uncased').save_pretrained('models/bert-base-uncased') for c in "
    "(AutoModel, AutoTokenizer)]\", copy the folder here, and point bert_path at it "
    "(a study: --set train.bert_path=DIR)"
)


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # MMC / PDLF hyperparameters (spec sections 2, 4, 5).
    k: int = Field(7, ge=2, description="number of k-means clusters")
    v1: float = Field(0.8, ge=0, description="weight of the between-cluster term")
    v2: float = Field(1.0, ge=0, description="weight of the Frobenius regulariser on M0")
    xi: float = Field(3.0, ge=0, description="margin of the within-cluster pair term")
    alpha: float = Field(1.0, ge=0, description="scale of the adaptive margin between centers")
    gamma: float = Field(0.05, description="weight of the PDLF projection in the prediction")
    eta: float = Field(0.01, ge=0, description="weight of L_MMC in the total loss")
    beta: float = Field(0.01, ge=0, description="ridge added to every local metric")
    max_pairs: int = Field(4000, ge=1, description="pairs of each kind sampled per cluster")

    # Architecture (spec section 1).
    d1: int = Field(64, ge=1, description="metric feature size")
    d2: int = Field(50, ge=1, description="fusion feature size")
    hidden: int = Field(64, ge=1, description="LSTM hidden size of the acoustic/visual encoders")
    dropout: float = Field(0.1, ge=0, lt=1)
    text_dropout: float = Field(
        0.0, ge=0, lt=1, description="dropout on the text vector h_t before the layers that read it"
    )
    text_standardize: bool = Field(
        False, description="standardise the frozen text vector with the training split's statistics"
    )
    text_backend: Literal["features", "bert"] = "features"
    text_pooling: Literal["cls", "mean"] = "cls"
    bert_path: str | None = Field(None, description="local folder of a BERT-family model (bert backend)")
    bert_max_len: int = Field(50, ge=2)

    # Clustering (spec 7.3): warm-start keeps cluster identities stable across batches.
    kmeans_mode: Literal["warm", "restart"] = Field(
        "warm", description="warm: each batch from the previous centers, clusters left empty re-seeded; "
        "restart: k-means++ restarts on every batch (the release's); a study may give 0 or 1 (their index)"
    )
    kmeans_restarts: int = Field(10, ge=1, description="k-means++ restarts for a cold start")
    kmeans_iters: int = Field(20, ge=1, description="Lloyd iterations per clustering")

    # Optimisation and protocol (spec sections 3, 5).
    batch_size: int = Field(64, ge=1)
    max_epochs: int = Field(200, ge=1)
    patience: int = Field(10, ge=1, description="early stop after this many epochs without a better valid loss")
    lr: float = Field(1e-4, gt=0)
    bert_lr: float = Field(5e-5, gt=0)
    metric_lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    clip: float = Field(1.0, gt=0)
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(20, ge=0)
    seed: int = 1111
    diagnostics: bool = Field(
        True, description="record per-epoch training diagnostics (gradient shares, clipping, PDLF, clusters and what "
        "they group, hinges)"
    )
    diagnostics_every: int = Field(
        64, ge=1, description="measure each loss term's gradient on every N-th training step (one extra backward pass)"
    )

    @field_validator("kmeans_mode", mode="before")
    @classmethod
    def _mode_by_index(cls, value):
        # A study holds the mode as a number (its index): 0 and 1 name warm and restart.
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in range(len(KMEANS_MODES)):
            return KMEANS_MODES[int(value)]
        return value

    @field_validator("v1", "v2", "xi", "alpha", "gamma", "eta", "beta", "lr", "bert_lr", "metric_lr")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    # Combinations the model cannot run are refused here, so that a study refuses a bad spec
    # before Ray starts instead of failing every trial. A validation context
    # {"check_files": False} skips the file checks (reading a finished study's results).
    @model_validator(mode="after")
    def _runnable(self, info: ValidationInfo) -> TrainConfig:
        if self.hidden != self.d1:
            raise ValueError(
                f"hidden = {self.hidden} and d1 = {self.d1} differ, but the acoustic and visual metric "
                "features are the encoders' outputs (z_a = h_a): set both to the same size"
            )
        if self.text_standardize and self.text_backend != "features":
            raise ValueError("text_standardize applies to frozen features (text_backend=features); "
                             "drop it for the bert backend")
        if self.text_backend == "bert" and (info.context or {}).get("check_files", True):
            _check_bert_folder(self.bert_path, self.bert_max_len)
        return self


def _check_bert_folder(path: str | None, max_len: int) -> None:
    if path is None:
        raise ValueError(f"text_backend = bert needs bert_path, a local folder of a BERT-family model; {GET_BERT}")
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        raise ValueError(f"bert_path = {path!r} is not a model folder (no config.json there); {GET_BERT}")
    positions = json.loads(config_file.read_text()).get("max_position_embeddings")
    if positions is not None and max_len > positions:
        raise ValueError(f"bert_max_len = {max_len} exceeds the {positions} positions of the model in {path}")


PRESETS: dict[str, dict] = {
    # Supplement section B; batch sizes from the spec section 5.
    "mosi": dict(k=7, v1=0.8, v2=1.0, xi=3.0, alpha=1.0, gamma=0.05, eta=0.01, batch_size=64),
    "mosei": dict(k=10, v1=0.7, v2=0.5, xi=70.0, alpha=0.7, gamma=0.05, eta=0.01, batch_size=128),
}
# Frozen text features (the features backend): the paper's values, and for what the paper leaves
# open, since it fine-tunes BERT, the values chosen on MOSI validation data (docs/model.md, "The
# frozen path"). Without them the layers on the frozen vector overfit.
PRESETS["mosi_frozen"] = dict(PRESETS["mosi"], text_standardize=True, text_dropout=0.5, lr=1e-3)


def format_errors(err: ValidationError, where: str) -> str:
    """One line per error of a TrainConfig validation, each naming the key and what is wrong."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            known = ", ".join(sorted(TrainConfig.model_fields))
            lines.append(f"{where}: unknown key '{key}'. Known keys: {known}")
        elif not key:
            lines.append(f"{where}: {message}")
        else:
            lines.append(f"{where}: key '{key}' = {e.get('input')!r}: {message}")
    return "\n".join(lines)


def make_config(preset: str = "mosi", overrides: dict | None = None, *, where: str = "config",
                check_files: bool = True) -> TrainConfig:
    """The preset's values with `overrides` applied, validated; InputError names the bad key.
    `check_files` False skips checks of files the config names (the BERT folder)."""
    if preset not in PRESETS:
        raise InputError(f"{where}: unknown preset '{preset}'. Choose one of: {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **(overrides or {})}
    try:
        return TrainConfig.model_validate(values, context={"check_files": check_files})
    except ValidationError as err:
        raise InputError(format_errors(err, where)) from None

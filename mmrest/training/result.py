"""What a training run returns: plain data, safe to pickle across Ray workers and to JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class EpochRecord:
    epoch: int  # 1-based
    train_loss: float
    valid_loss: float
    valid: dict[str, float]  # metric name -> value (mmrest.metrics.METRIC_NAMES)
    seconds: float
    # Name -> value over this epoch's training steps (mmrest.training.diagnostics.DIAGNOSTICS);
    # NaN where one does not apply; empty when the config turns diagnostics off.
    diagnostics: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    best_epoch: int  # selected by validation loss only
    valid: dict[str, float]  # metrics at best_epoch
    test: dict[str, float]  # metrics at best_epoch (never used for selection)
    params: int  # parameters the forward pass uses (metric matrices included)
    seconds: float
    history: list[EpochRecord] = field(default_factory=list)
    stopped_early: bool = False
    diagnostics: dict[str, float] = field(default_factory=dict)  # those of best_epoch

    def to_dict(self) -> dict:
        return asdict(self)

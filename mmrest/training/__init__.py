"""Training MMRest: one call of `train` is one trial of a study."""
from mmrest.training.result import EpochRecord, TrainResult
from mmrest.training.trainer import TrainingDiverged, train

__all__ = ["EpochRecord", "TrainResult", "TrainingDiverged", "train"]

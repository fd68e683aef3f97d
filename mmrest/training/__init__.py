"""Training MMRest: one call of `train` is one trial of a study.

`train` and its records load lazily: a study reader imports `mmrest.training.floor` for the floor's
records, and should not pay for torch to read a file.
"""
__all__ = ["EpochRecord", "TrainResult", "TrainingDiverged", "train"]


def __getattr__(name):
    if name in ("EpochRecord", "TrainResult"):
        from mmrest.training import result

        return getattr(result, name)
    if name in ("TrainingDiverged", "train"):
        from mmrest.training import trainer

        return getattr(trainer, name)
    raise AttributeError(name)

"""One trial on a Ray worker: train once, report every epoch, then report the outcome.

A failed training (an exception, a NaN loss) is reported as the trial's outcome instead of
raised: Ray then neither retries it nor prints its traceback over the progress display, the
driver records the error text in Optuna, and the study goes on. The traceback goes to the
trial's log.

torch loads inside `run_trial`: the driver imports this module only to hand `run_trial` to Ray
(by reference) and never trains, so it starts without torch's imports (about two seconds of CPU).
"""
from __future__ import annotations

import math
import os
import socket
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from ray import tune

from mmrest.config import TrainConfig
from mmrest.data.dataset import MSADataset
from mmrest.training.memory import keep_freed_memory

if TYPE_CHECKING:
    from mmrest.training import EpochRecord, TrainResult

LOG_NAME = "train.log"


def run_trial(config: dict, *, data: MSADataset) -> None:
    """Ray Tune function trainable. `config` is what `StageRecorder.suggest` returned: `key`,
    `train` (a TrainConfig as a dict), `out_dir`, `device`, `threads`, `objective`."""
    import torch

    from mmrest.training import train

    torch.set_num_threads(config["threads"])
    keep_freed_memory()
    out_dir = Path(config["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    metric = config["objective"].removeprefix("valid_")
    with (out_dir / LOG_NAME).open("a") as log:
        _log(log, f"start {config['key']} on {socket.gethostname()}, device {config['device']}")

        def on_epoch(record: EpochRecord) -> None:
            _log(log, f"epoch {record.epoch}: train loss {record.train_loss:.4f}, valid loss {record.valid_loss:.4f}, "
                      f"{config['objective']} {record.valid[metric]:.4f} ({record.seconds:.1f}s)")
            tune.report({"epoch": record.epoch, "objective": record.valid[metric],
                         "train_loss": record.train_loss, "valid_loss": record.valid_loss})

        started_at = time.time()
        try:
            result = train(TrainConfig(**config["train"]), data, device=config["device"],
                           on_epoch=on_epoch, out_dir=out_dir)
        except Exception as err:  # noqa: BLE001 - any training failure is this trial's result
            log.write(traceback.format_exc())
            _log(log, "failed")
            tune.report({"outcome": "error", "error": f"{type(err).__name__}: {err}"})
            return
        _log(log, f"done: best epoch {result.best_epoch}, {config['objective']} {result.valid[metric]:.4f}")
        tune.report({"outcome": "done", **outcome(result), **placement(config["device"]),
                     "started_at": started_at, "ended_at": time.time()})


def outcome(result: TrainResult) -> dict:
    """The flat record the driver stores as user attributes: valid_* and test_* metrics at the
    best epoch, best_epoch, params, seconds, and the training diagnostics of the best epoch
    under their own names (one that does not apply, NaN in the result, is left out)."""
    return {
        **{f"valid_{name}": float(v) for name, v in result.valid.items()},
        **{f"test_{name}": float(v) for name, v in result.test.items()},
        "best_epoch": int(result.best_epoch),
        "params": int(result.params),
        "seconds": float(result.seconds),
        **{name: float(v) for name, v in result.diagnostics.items() if math.isfinite(v)},
    }


def placement(device: str) -> dict:
    """Where the trial trained: the torch device, and the GPUs Ray gave it as the worker saw them
    (CUDA_VISIBLE_DEVICES, which Ray sets for a trial with a GPU share; "" without one)."""
    import torch

    return {"device": str(torch.device(device)), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")}


def _log(log, message: str) -> None:
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
    log.flush()

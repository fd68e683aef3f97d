"""The study folder: where one study keeps its resolved spec, run facts, storage and outputs.

```
<studies-dir>/<name>/
  spec.yaml       the resolved spec the study was started with (resume checks against it)
  run.json        started/finished times, dataset description, machine, versions
  floor.json      the dataset's floor: mean predictor and ridge regressions (mmrest.training.floor)
  driver.json     the live driver's pid and host, and its local Ray session (for clean-up)
  optuna.journal  the default Optuna storage
  trials/<key>/   one folder per trial: train.log, best.pt, test_outputs.npz
  ray/            Ray Tune's experiment folders
  data/           the generated synthetic dataset, if the spec asks for one
```
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from mmrest.errors import InputError
from mmrest.files import write_json_atomic, write_text_atomic
from mmrest.study.spec import StudySpec, validate_spec
from mmrest.training.floor import Floor

_FLOOR = TypeAdapter(Floor)


@dataclass(frozen=True)
class StudyFolder:
    root: Path

    @property
    def spec_file(self) -> Path:
        return self.root / "spec.yaml"

    @property
    def run_file(self) -> Path:
        return self.root / "run.json"

    @property
    def floor_file(self) -> Path:
        return self.root / "floor.json"

    @property
    def driver_file(self) -> Path:
        return self.root / "driver.json"

    @property
    def journal(self) -> Path:
        return self.root / "optuna.journal"

    @property
    def ray_dir(self) -> Path:
        return self.root / "ray"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def trial_dir(self, key: str) -> Path:
        return self.root / "trials" / key

    def exists(self) -> bool:
        return self.spec_file.is_file()

    def read_spec(self) -> StudySpec:
        if not self.exists():
            raise InputError(f"{self.root}: not a study folder (no spec.yaml); give the folder `run` created")
        # The dataset need not be there to read a study's results.
        return validate_spec(yaml.safe_load(self.spec_file.read_text()), source=str(self.spec_file), check_files=False)

    def create(self, spec: StudySpec) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.spec_file, yaml.safe_dump(spec.resolved(), sort_keys=False))

    def read_run(self) -> dict:
        return json.loads(self.run_file.read_text()) if self.run_file.is_file() else {}

    def update_run(self, **fields) -> None:
        write_json_atomic(self.run_file, {**self.read_run(), **fields})

    def write_floor(self, floor: Floor) -> None:
        write_json_atomic(self.floor_file, _FLOOR.dump_python(floor, mode="json"))

    def read_floor(self) -> Floor | None:
        """The floor the study computed when it started; None for a study from before floors."""
        if not self.floor_file.is_file():
            return None
        try:
            return _FLOOR.validate_python(json.loads(self.floor_file.read_text()))
        except (json.JSONDecodeError, ValidationError) as err:
            raise InputError(f"{self.floor_file}: unreadable ({err}); delete it and run the study with "
                             "--resume to compute it again") from None

    def read_driver(self) -> dict:
        return json.loads(self.driver_file.read_text()) if self.driver_file.is_file() else {}

    def claim(self, **fields) -> None:
        """Record this process as the study's driver."""
        write_json_atomic(self.driver_file, {"pid": os.getpid(), "host": socket.gethostname(), **fields})

    def release(self) -> None:
        self.driver_file.unlink(missing_ok=True)

    def live_driver(self) -> int | None:
        """The pid of another process on this host still driving the study, if any."""
        driver = self.read_driver()
        pid = driver.get("pid")
        if pid is None or pid == os.getpid() or driver.get("host") != socket.gethostname():
            return None
        return pid if process_alive(pid) else None


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; only its parent's wait is missing.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False

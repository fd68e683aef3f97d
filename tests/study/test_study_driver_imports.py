"""The driver of a study run never trains, so it never imports torch: it hands `run_trial` to
Ray by reference, computes the floor with numpy and scikit-learn and asks nvidia-smi for the
machine's GPU (torch's imports would cost every `run` about two seconds of CPU and a few hundred
MB, for nothing)."""
import json
import subprocess
import sys

from mmrest.study.runner import gpu_name

DRIVER = """
import json, sys
from mmrest.data.synthetic import synthetic_dataset
from mmrest.study.runner import gpu_name, run_trial
from mmrest.training.floor import compute_floor
data = synthetic_dataset("mosi", seed=0, cache_dir=sys.argv[1], train=32, valid=16, test=16, text_len=4,
                         audio_len=4, vision_len=4)
floors = {pooling: compute_floor(data, text_pooling=pooling) for pooling in ("cls", "mean")}
gpu_name()
print(json.dumps({"torch": "torch" in sys.modules, "run_trial": run_trial.__module__,
                  "floors": sorted(floors)}))
"""


def test_the_driver_imports_no_torch(tmp_path):
    run = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path)], capture_output=True, text=True, check=True)
    seen = json.loads(run.stdout)
    assert seen == {"torch": False, "run_trial": "mmrest.study.trial", "floors": ["cls", "mean"]}


def _stand_in_smi(folder, script: str) -> str:
    smi = folder / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + script)
    smi.chmod(0o755)
    return str(folder)


def test_the_gpu_name_comes_from_nvidia_smi_and_none_without_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert gpu_name() is None
    # A stand-in nvidia-smi that answers as the real one does for --query-gpu=name --format=csv,noheader.
    answer = 'test "$1" = "--query-gpu=name" && printf "NVIDIA H200\\nNVIDIA H200\\n"\n'
    monkeypatch.setenv("PATH", _stand_in_smi(tmp_path, answer))
    assert gpu_name() == "NVIDIA H200"
    monkeypatch.setenv("PATH", _stand_in_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2; exit 9\n"))
    assert gpu_name() is None

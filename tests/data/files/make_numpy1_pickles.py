"""Write the numpy 1.x pickles the restricted reader is tested on; run with numpy 1.x installed
(`pip install "numpy<2"` in a scratch environment). MMSA's and MMIM's files were written by
numpy 1.x, whose pickles name `numpy.core.multiarray`, and the older ones use protocol 2, whose
array bytes travel through `_codecs.encode`."""
import pickle
import sys
from pathlib import Path

import numpy as np

SIZES = {"train": 4, "valid": 3, "test": 3}


def mmsa_like() -> dict:
    rng = np.random.RandomState(0)
    data = {}
    for name, n in SIZES.items():
        lengths = rng.randint(1, 6, n)
        data[name] = {
            "id": ["vid%s%d$_$%d" % (name, i // 2, i % 2) for i in range(n)],
            "raw_text": np.array(["%s words %d" % (name, i) for i in range(n)], dtype=object),
            "text": rng.standard_normal((n, 4, 6)),
            "text_bert": np.ones((n, 3, 4)),
            "regression_labels": rng.uniform(-3, 3, n).astype(np.float32),
            "audio": rng.standard_normal((n, 5, 3)).astype(np.float32),
            "audio_lengths": lengths,
            "vision": rng.standard_normal((n, 5, 2)).astype(np.float32),
            "vision_lengths": [int(v) for v in lengths],
            "annotations": np.array(["Positive"] * n),
            "weight": np.float64(0.5),
        }
    return data


if __name__ == "__main__":
    assert np.__version__.startswith("1."), "run me with numpy 1.x"
    here = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    for protocol in (2, 4):
        with (here / f"numpy1_mmsa_protocol{protocol}.pkl").open("wb") as handle:
            pickle.dump(mmsa_like(), handle, protocol=protocol)

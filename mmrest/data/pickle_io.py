"""Dataset pickles written so that readers never see a half-written file (mmrest.files)."""
from __future__ import annotations

import pickle
from pathlib import Path

from mmrest.files import refuse_existing, write_atomic


def write_pickle_atomic(obj: object, out_path: str | Path, *, overwrite: bool) -> Path:
    """Pickle `obj` to `out_path` in one step; without `overwrite`, an existing file is refused."""
    out = refuse_existing(out_path, overwrite=overwrite)
    return write_atomic(out, lambda handle: pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL),
                        overwrite=overwrite)

"""Write a pickle so that readers never see a half-written file and nothing is clobbered by accident."""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from mmrest.errors import InputError


def refuse_existing(out_path: str | Path, *, overwrite: bool) -> Path:
    """The output path, after refusing it when it exists and overwriting was not asked for.

    Called before any expensive work, so that a refused run costs nothing.
    """
    out = Path(out_path)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for the output pickle")
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists; choose another --out or pass --force to replace it")
    return out


def write_pickle_atomic(obj: object, out_path: str | Path, *, overwrite: bool) -> Path:
    """Pickle `obj` to a temporary file beside `out_path`, then move it into place.

    A failure at any point removes the temporary file, so no partial output is left. Without
    `overwrite`, the final step is a hard link, which fails rather than replace a file that
    appeared in the meantime.
    """
    out = refuse_existing(out_path, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        if overwrite:
            os.replace(tmp, out)
        else:
            _move_without_clobbering(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _move_without_clobbering(tmp: Path, out: Path) -> None:
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise InputError(
            f"{out}: appeared while writing; choose another --out or pass --force to replace it"
        ) from None
    except OSError:
        # Some file systems have no hard links; a check before the rename is the next best thing.
        refuse_existing(out, overwrite=False)
        os.replace(tmp, out)

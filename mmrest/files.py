"""Writing a file so that no reader ever sees half of it and a failure leaves nothing behind.

Every file the project writes for another process to read (study facts, the driver record, the
analysis, reports, dataset pickles) goes through `write_atomic`: the bytes go to a uniquely named
temporary file in the target's folder, which is then moved into place in one step. Unique names
matter because two writers (two studies, a resumed driver and a `status` reader's clean-up) may
target one folder at once; a fixed `.tmp` name would let one writer move the other's half file.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mmrest.errors import InputError


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None], *, overwrite: bool = True) -> Path:
    """Call `write(handle)` on a temporary file beside `path`, then move it to `path`.

    Without `overwrite`, the move is a hard link, which fails rather than replace a file that
    appeared in the meantime (InputError). The temporary file is removed whatever happens.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_unique(out)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        if overwrite:
            os.replace(tmp, out)
        else:
            _move_without_clobbering(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _create_unique(out: Path) -> tuple[int, Path]:
    """A new, uniquely named file beside `out`, open for writing. Unlike tempfile.mkstemp (mode
    0600), it takes the mode an ordinary open would (0666 less the umask), so that a report or a
    study file can be read by whoever could read it if it had been written in place."""
    while True:
        tmp = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    return write_atomic(path, lambda handle: handle.write(text.encode("utf-8")), overwrite=overwrite)


def write_json_atomic(path: str | Path, data: object) -> Path:
    # allow_nan: a metric can be undefined (NaN), and Python's json reads NaN back.
    return write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n")


def refuse_existing(path: str | Path, *, overwrite: bool, flag: str = "--out") -> Path:
    """The path, after refusing it when it is a folder, or exists and overwriting was not asked
    for. Call it before expensive work, so that a refused run costs nothing."""
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for {flag}")
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists; choose another {flag} or pass --force to replace it")
    return out


def _move_without_clobbering(tmp: Path, out: Path) -> None:
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise InputError(f"{out}: appeared while writing; choose another --out or pass --force to replace it") from None
    except OSError:
        # Some file systems have no hard links; a check right before the rename is the next best thing.
        refuse_existing(out, overwrite=False)
        os.replace(tmp, out)

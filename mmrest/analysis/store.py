"""The analysis as a JSON file in the study folder, which the report reads."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from mmrest.analysis.summary import Analysis
from mmrest.errors import InputError
from mmrest.files import write_text_atomic

ANALYSIS_FILE = "analysis.json"
_ADAPTER = TypeAdapter(Analysis)


def analysis_path(study_dir: str | Path) -> Path:
    return Path(study_dir) / ANALYSIS_FILE


def save_analysis(analysis: Analysis, path: str | Path) -> Path:
    # Through plain json, which writes NaN (a metric can be undefined) where pydantic writes null.
    return write_text_atomic(path, json.dumps(_ADAPTER.dump_python(analysis), indent=1) + "\n")


def load_analysis(path: str | Path) -> Analysis:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _ADAPTER.validate_python(raw)
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read it ({err}); recompute it with `mmrest-study analyze --no-train`") from None
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"{path}: key '{key}': {first['msg']}; recompute it with `mmrest-study analyze --no-train`"
        ) from None


def load_analysis_if_any(study_dir: str | Path) -> Analysis | None:
    """The study's analysis, or None when `analyze` has not written one."""
    path = analysis_path(study_dir)
    return load_analysis(path) if path.exists() else None

"""How numbers and durations read wherever the project prints them (CLI, progress, reports)."""
from __future__ import annotations

import math


def format_value(value: float) -> str:
    """Shortest text that reads back as the same number (5, 0.05, 1e-05): for hyperparameter
    values in trial keys, plans and YAML."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def format_number(value: float | None, digits: int = 4) -> str:
    """`digits` significant digits; "n/a" for a missing or undefined number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}"


def format_duration(seconds: float | None) -> str:
    """45s, 3m05s, 2h07m; "n/a" when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")

"""Reading the trial table for drawing: which split a figure shows, which axes are logarithmic.

The table and the facts follow `mmrest.trial_table`; only COMPLETE trials of the tuning stages
(`mmrest.trial_table.complete`) enter any number; failed, running and waiting trials are counted
in the facts and nowhere else.
"""
from __future__ import annotations

import math

from mmrest.errors import InputError
from mmrest.grid import is_log_spaced
from mmrest.trial_table import SPLITS, TPE, StageFacts


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise InputError(f"report: split '{split}' is not one of {', '.join(SPLITS)}")
    return split


def log_scaled(stage: StageFacts, param: str) -> bool:
    """Whether `stage` explores `param` on a log scale: a tpe stage when its spec range says so
    (random samples have no spacing to read), a grid when its values are log-spaced."""
    if stage.design == TPE:
        return param in stage.log_ranges
    return is_log_spaced(stage.params[param])


def first_line(text: str) -> str:
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text.strip().splitlines()[0] if text.strip() else ""

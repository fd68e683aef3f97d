"""Which trials inform a hyperparameter, and their statistics over seeds: the row selections that
choosing final values, the curves and the importance all share."""
from __future__ import annotations

import pandas as pd

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.trial_table import BASE, ONE_AT_A_TIME, StageFacts, same_value


def seed_stats(rows: pd.DataFrame, by: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """One row per group of `by` (sorted): `n`, and (column, mean|std|min|max) over the group
    (std with n - 1)."""
    groups = rows.groupby(by, sort=True)
    stats = groups[list(columns)].agg(["mean", "std", "min", "max"])
    stats[("n", "")] = groups.size()
    return stats


def varied_parameters(stages: tuple[StageFacts, ...] | list[StageFacts]) -> tuple[str, ...]:
    """Hyperparameters that some stage gives at least two values, in the paper's order."""
    return tuple(p for p in STUDY_HYPERPARAMETERS if any(len(set(s.params.get(p, ()))) > 1 for s in stages))


def line_rows(done: pd.DataFrame, stage: StageFacts, param: str) -> pd.DataFrame:
    """Rows of `stage` that inform `param`: in a one_at_a_time stage the points that vary it plus
    the base point (the other points move another parameter); in a grid or tpe stage all of them."""
    rows = done.loc[done["stage"] == stage.name]
    if stage.design == ONE_AT_A_TIME:
        rows = rows.loc[rows["varied"].isin([param, BASE])]
    return rows


def decisive_rows(done: pd.DataFrame, stages: tuple[StageFacts, ...] | list[StageFacts],
                  param: str) -> tuple[StageFacts | None, pd.DataFrame]:
    """The stage a choice of `param` rests on and its rows: the latest stage that varies the
    parameter and has complete trials (a finer stage refines a coarser one). In a one_at_a_time
    stage these are the parameter's points plus the base point, joined by the same line of earlier
    one_at_a_time stages when the other six parameters agree."""
    for i in reversed(range(len(stages))):
        stage = stages[i]
        if len(set(stage.params.get(param, ()))) < 2:
            continue
        rows = line_rows(done, stage, param)
        if rows.empty:
            continue
        if stage.design == ONE_AT_A_TIME:
            rows = _with_earlier_lines(done, list(stages[:i]), param, rows)
        return stage, rows
    return None, done.iloc[0:0]


def _with_earlier_lines(done: pd.DataFrame, earlier: list[StageFacts], param: str, rows: pd.DataFrame) -> pd.DataFrame:
    others = [p for p in STUDY_HYPERPARAMETERS if p != param]
    fixed = rows[others].iloc[0].to_numpy(dtype=float)
    parts = [rows]
    for stage in reversed(earlier):
        if stage.design == ONE_AT_A_TIME and param in stage.params:
            line = line_rows(done, stage, param)
            same = same_value(line[others].to_numpy(dtype=float), fixed).all(axis=1)
            parts.append(line.loc[same])
    # A point rerun in a later stage with the same seed counts once (the later run).
    return pd.concat(parts).drop_duplicates(subset=[*STUDY_HYPERPARAMETERS, "seed"], keep="first")

"""The trial table's schema: one column list, typed, and a check that names what is missing."""
import math

import pytest
from trial_tables import disagree_case, table, trial

from mmrest.errors import InputError
from mmrest.trial_table import COLUMNS, DIAGNOSTIC_COLUMNS, METRIC_COLUMNS, OUTCOME_ATTRS, as_table, check_table, complete


def test_the_table_has_the_schema_columns_in_order_and_types():
    trials, _ = disagree_case()
    assert tuple(trials.columns) == COLUMNS
    assert str(trials["k"].dtype) == "Int64" and str(trials["seed"].dtype) == "int64"
    assert all(str(trials[c].dtype) == "float64" for c in METRIC_COLUMNS)


def test_every_outcome_attribute_is_a_column():
    assert set(OUTCOME_ATTRS) <= set(COLUMNS)
    assert set(DIAGNOSTIC_COLUMNS) <= set(OUTCOME_ATTRS)


def test_a_trial_not_yet_sampled_keeps_k_missing():
    row = trial(seed=1, state="WAITING")
    row["k"] = math.nan
    assert as_table([row])["k"].isna().all()


def test_missing_column_names_it():
    trials, _ = disagree_case()
    with pytest.raises(InputError, match=r"missing column\(s\) valid_acc7, test_f1_non0.*StudyResults"):
        check_table(trials.drop(columns=["valid_acc7", "test_f1_non0"]))


def test_only_complete_tuning_trials_with_a_value_count():
    rows = [
        trial(seed=1), trial(seed=2, state="FAIL", error="boom"), trial(seed=3, state="RUNNING"),
        trial(seed=4, state="WAITING"), trial(seed=5, stage="analysis", design="analysis", varied=""),
    ]
    broken = trial(seed=6)
    broken["value"] = float("nan")  # COMPLETE in name only: no objective to rank
    done = complete(table(rows + [broken]))
    assert done["seed"].tolist() == [1]

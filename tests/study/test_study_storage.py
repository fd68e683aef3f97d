"""Reading a study's storage: trials recorded before a study parameter existed read with the
value every point then had."""
import optuna
from study_helpers import tiny_spec

from mmrest.study.spec import validate_spec
from mmrest.study.storage import recorded_stages

SEVEN = {"k": 7, "v1": 0.8, "v2": 1.0, "xi": 3.0, "alpha": 1.0, "gamma": 0.05, "eta": 0.01}


def _storage_with_an_old_trial(spec) -> optuna.storages.BaseStorage:
    storage = optuna.storages.InMemoryStorage()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=f"{spec.name}.coarse")
    distributions = {name: optuna.distributions.FloatDistribution(0.0, 100.0) for name in SEVEN}
    study.add_trial(optuna.trial.create_trial(params=SEVEN, distributions=distributions, value=0.8,
                                              user_attrs={"key": "coarse/base/seed=1"}))
    return storage


def test_a_trial_without_the_kmeans_mode_reads_with_the_base_value():
    warm = validate_spec(tiny_spec("old"), source="old.yaml")
    (trial,) = recorded_stages(_storage_with_an_old_trial(warm), warm)["coarse"].trials
    assert trial.params == {**SEVEN, "kmeans_mode": 0} and trial.value == 0.8
    # A study that trained every point with restarts reads them as restarts.
    restart = validate_spec(tiny_spec("old", train={"max_epochs": 2, "kmeans_mode": "restart"}), source="old.yaml")
    (trial,) = recorded_stages(_storage_with_an_old_trial(restart), restart)["coarse"].trials
    assert trial.params["kmeans_mode"] == 1

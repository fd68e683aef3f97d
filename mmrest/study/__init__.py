"""Studies: a YAML spec of stages over the seven hyperparameters, planned into trials, run by
Ray Tune and recorded by the driver in an Optuna storage (one Optuna study per stage).

spec (the validated YAML) -> planner (stages into keyed trials) -> runner (`StudyRunner`: checks,
then Ray Tune inside one driver session, with `recorder`'s searcher as Optuna's only writer) ->
state / status / results (read back from the storage); folder, storage, cluster, session, trial,
progress and dashboard hold one job each.
"""

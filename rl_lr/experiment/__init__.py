"""Experiments: the YAML file that describes a grid of runs (:mod:`.file`) and its plan, the
validated list of runs with their labels and run ids (:mod:`.plan`)."""

from rl_lr.experiment.file import (
    AXES,
    Experiment,
    ExperimentError,
    experiment_from_dict,
    load_experiment,
)
from rl_lr.experiment.plan import PlannedRun, label_of, plan_runs, run_identity

__all__ = ["AXES", "Experiment", "ExperimentError", "PlannedRun", "experiment_from_dict",
           "label_of", "load_experiment", "plan_runs", "run_identity"]

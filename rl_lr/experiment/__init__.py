"""Experiments: the YAML file that describes a grid of runs (:mod:`.file`), its optional
tune-then-test protocol (:mod:`.protocol`) and its plan, the validated list of runs with their
labels and run ids (:mod:`.plan`)."""

from rl_lr.experiment.file import (
    AXES,
    Experiment,
    ExperimentError,
    experiment_from_dict,
    load_experiment,
)
from rl_lr.experiment.plan import PlannedRun, label_of, plan_runs, plan_test_runs, run_identity
from rl_lr.experiment.protocol import Protocol

__all__ = ["AXES", "Experiment", "ExperimentError", "PlannedRun", "Protocol",
           "experiment_from_dict", "label_of", "load_experiment", "plan_runs", "plan_test_runs",
           "run_identity"]

"""The harness: running every run of an experiment (:mod:`.runner`) on a backend -- this
process, a local process pool or a Ray cluster (:mod:`.backends`; runs trained on a node
without the driver's filesystem come back as files, :mod:`.shipping`) -- resumable after a
crash."""

from rl_lr.harness.runner import ExperimentResult, run_experiment

__all__ = ["ExperimentResult", "run_experiment"]

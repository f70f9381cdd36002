"""The files of a run directory and of an experiment directory, and every column the code
refers to by name: the one reference of rl-lr's file formats (this module imports nothing of
rl_lr, so every layer can use it).

A **run directory** (``rl-lr train --out DIR``, or ``runs/<run_id>/`` of an experiment):

- ``config.yaml`` (:data:`CONFIG_YAML`): the fully resolved run (its config, the agent's
  hyper-parameters with ``agent.n_envs``, versions, git commit); written first;
- ``progress.csv`` (:data:`PROGRESS_CSV`): one row per evaluation, the columns
  :data:`PROGRESS_COLUMNS` (``timesteps, eval_return_mean, eval_return_std, train_return,
  lr``) first, then per-network LRs (``lr/<network>``), gradient norms, controller values
  and SB3's ``train/*`` statistics;
- ``timing.csv`` (:data:`TIMING_CSV`): wall-clock time per evaluation;
- ``summary.json`` (:data:`SUMMARY_JSON`): what the run came to (:data:`FINAL_EVAL_RETURN`,
  :data:`EVAL_AUC`, :data:`STEPS_TO_THRESHOLD`, :data:`DIVERGED`, :data:`DIVERGED_AT`, ...);
  written last, so a run has finished if and only if it exists;
- ``lr_trace.csv`` (:data:`LR_TRACE_CSV`): the LR of every update, one row per change
  (:data:`LR_TRACE_COLUMNS`, :mod:`rl_lr.run.lr_trace`); runs older than it have none;
- ``model.zip`` (:data:`MODEL_ZIP`) and ``checkpoint/`` (:data:`CHECKPOINT_DIR`): the trained
  model, and the state a run resumes from.

An **experiment directory** (``rl-lr bench --out DIR``):

- ``experiment.yaml`` (:data:`EXPERIMENT_YAML`): the resolved experiment, with its
  :data:`SOURCE` file and the :data:`RUN_IDS` it plans;
- ``runs/`` (:data:`RUNS_DIR`): one run directory per finished run (:func:`run_dir`);
- ``summary.csv`` (:data:`SUMMARY_CSV`): one row per finished run, in plan order:
  :data:`RUN_ID`, the axis labels (:data:`AXES`, then ``set.<name>``), :data:`LR_SPEC`,
  :data:`PERTURB_SPEC`, :data:`OPTIMIZER_SPEC`, :data:`STEPS`, then the keys of
  ``summary.json`` but the wall-clock ones (:data:`WALL_CLOCK_KEYS`);
- ``timing.csv`` (:data:`TIMING_CSV`): :data:`RUN_ID` and the wall-clock keys;
- ``curves.csv`` (:data:`CURVES_CSV`): every ``progress.csv`` in long format,
  :data:`CURVES_COLUMNS` (``run_id, timesteps, metric, value``);
- ``metrics.csv`` (:data:`METRICS_CSV`): one row per group of runs (every axis label but the
  seed), the columns :data:`RUNS`, :data:`DIVERGED_RATE`, :data:`FINAL_IQM`, ... each ``X``
  with a 95 % interval ``X_low, X_high`` (:func:`ci_columns`) where it has one;
- ``failures.csv`` (:data:`FAILURES_CSV`): :data:`FAILURES_COLUMNS` (``run_id, error``);
- ``selection.csv`` (:data:`SELECTION_CSV`): an experiment with a protocol only
  (:mod:`rl_lr.experiment.protocol`): each family's configuration chosen per condition; its
  runs carry two more labels after the axes, :data:`PHASE` and :data:`TRIAL`;
- ``report/`` (:data:`REPORT_DIR`): ``index.html`` (:data:`REPORT_INDEX`), ``tables.md``
  (:data:`REPORT_TABLES`) and ``figures/`` (:data:`REPORT_FIGURES`).

    >>> from pathlib import Path
    >>> run_dir(Path("out"), "0123abcd").joinpath(SUMMARY_JSON).as_posix()
    'out/runs/0123abcd/summary.json'
    >>> ci_columns(FINAL_IQM)
    ('final_iqm_low', 'final_iqm_high')
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ALGO", "AUC_IQM", "AXES", "BASE_LR", "BEST_TXT", "CHECKPOINT_DIR", "CONFIGURATIONS",
    "CONFIG_YAML",
    "CURVES_COLUMNS", "CURVES_CSV",
    "DISPERSION_RUNS", "DISPERSION_TIME", "DIVERGED", "DIVERGED_AT", "DIVERGED_RATE",
    "DIVERGENCE_REASON", "ENV", "ERROR", "EVAL_AUC", "EVAL_RETURN_MEAN", "EVAL_RETURN_STD",
    "EVENTS_CSV", "EXPERIMENT_YAML", "FAILURES_COLUMNS", "FAILURES_CSV", "FAMILY",
    "FINAL_EVAL_RETURN",
    "FINAL_IQM",
    "FINAL_MEAN", "FINAL_MEDIAN", "FIND_LR_CSV", "FIND_LR_PNG",
    "GRAD_NORM", "HISTORY_PNG", "IMPORTANCE_CSV", "IMPORTANCE_PNG",
    "LONG_TERM_RISK", "LR", "LR_AT_BOUND", "LR_MAX", "LR_MIN",
    "LR_OSCILLATIONS", "LR_SPEC", "LR_TRACE_COLUMNS", "LR_TRACE_CSV",
    "MEMBERS_CSV", "METRIC", "METRICS_CSV", "MODEL_ZIP", "NETWORK", "NORM_FINAL_IQM",
    "OPTIMALITY_GAP",
    "OPTIMIZER", "OPTIMIZER_SPEC", "PBT_LR_PNG", "PBT_YAML", "PERTURB", "PERTURB_SPEC", "PHASE",
    "PROGRESS_COLUMNS",
    "PROGRESS_CSV", "REACH_FRACTION", "REPORT_DIR", "REPORT_FIGURES", "REPORT_INDEX",
    "REPORT_TABLES", "RISK_RUNS", "RUNS", "RUNS_DIR", "RUN_ID", "RUN_IDS", "SEED",
    "SEED_DIR_PREFIX",
    "SELECT", "SELECTION_CSV", "SENSITIVITY", "SET_PREFIX", "SHORT_TERM_RISK", "SOURCE", "STEPS",
    "STEPS_TO_THRESHOLD", "STEPS_TO_THRESHOLD_MEDIAN", "STUDY_DB", "STUDY_YAML",
    "SUGGESTION_JSON", "SUMMARY_CSV",
    "SUMMARY_JSON",
    "SWITCH_COUNT", "SWITCH_DROP", "SWITCH_DROP_IQM", "SWITCH_RECOVERED", "SWITCH_RECOVERY_IQM",
    "SWITCH_RECOVERY_STEPS", "TEST", "TIMESTEPS", "TIMING_CSV", "TRAIN_RETURN",
    "TRIAL", "TRIALS_CSV", "TRIALS_DIR", "TUNE", "TUNING_SCORE", "TUNING_SEEDS",
    "TUNING_STEPS", "VALUE",
    "WALL_CLOCK_KEYS", "WALL_TIME_S", "ci_columns", "run_dir", "trial_dir",
]

# ------------------------------------------------------------------ files of a run directory

CONFIG_YAML = "config.yaml"
PROGRESS_CSV = "progress.csv"
TIMING_CSV = "timing.csv"  # also the experiment directory's wall-clock file
SUMMARY_JSON = "summary.json"
MODEL_ZIP = "model.zip"
CHECKPOINT_DIR = "checkpoint"
LR_TRACE_CSV = "lr_trace.csv"  # the LR of every update, run-length encoded

# ------------------------------------------------------------ files of an experiment directory

EXPERIMENT_YAML = "experiment.yaml"
RUNS_DIR = "runs"
SUMMARY_CSV = "summary.csv"
CURVES_CSV = "curves.csv"
METRICS_CSV = "metrics.csv"
FAILURES_CSV = "failures.csv"
SELECTION_CSV = "selection.csv"  # an experiment with a protocol: the configurations chosen
REPORT_DIR = "report"
REPORT_INDEX = "index.html"  # in REPORT_DIR
REPORT_TABLES = "tables.md"  # in REPORT_DIR
REPORT_FIGURES = "figures"  # in REPORT_DIR: <kind>.png and <kind>.svg

# experiment.yaml: what rl-lr bench records next to the experiment file's own keys
SOURCE = "source"
RUN_IDS = "run_ids"

# ------------------------------------------------------------------ the experiment's axes

ENV = "env"
ALGO = "algo"
LR = "lr"  # the lr axis (a run's LR-policy label), and progress.csv's LR applied
PERTURB = "perturb"
OPTIMIZER = "optimizer"
SEED = "seed"
AXES = (ENV, ALGO, LR, PERTURB, OPTIMIZER, SEED)
SET_PREFIX = "set."  # a hyper-parameter axis: set.<name>
BASE_LR = "base_lr"  # a grid's base-LR axis, filled into its lr specs' {base_lr}
# An experiment with a protocol: the labels after the axes (rl_lr.experiment.protocol)
PHASE = "phase"  # TUNE: a tuning run, which only chooses; TEST: a run that is scored
TRIAL = "trial"  # the configuration's index in its family's design
TUNE = "tune"
TEST = "test"
# selection.csv: per condition (its labels) and family, what was chosen and what it cost
FAMILY = "family"  # the family (its runs' lr label); the chosen TRIAL and LR_SPEC follow
SELECT = "select"  # the tuning score's summary.csv column (eval_auc, final_eval_return)
TUNING_SCORE = "tuning_score"  # the chosen configuration's mean score over the tuning seeds
TUNING_STEPS = "tuning_steps"  # env steps of all the family's tuning runs in the condition
CONFIGURATIONS = "configurations"  # configurations tried
TUNING_SEEDS = "tuning_seeds"  # space-separated

# ------------------------------------------------------------------ progress.csv, curves.csv

TIMESTEPS = "timesteps"
EVAL_RETURN_MEAN = "eval_return_mean"  # clean evaluation return, mean over its episodes
EVAL_RETURN_STD = "eval_return_std"
TRAIN_RETURN = "train_return"  # observed (possibly perturbed) training episodes
PROGRESS_COLUMNS = (TIMESTEPS, EVAL_RETURN_MEAN, EVAL_RETURN_STD, TRAIN_RETURN, LR)
RUN_ID = "run_id"
METRIC = "metric"  # a progress.csv column name
VALUE = "value"
CURVES_COLUMNS = (RUN_ID, TIMESTEPS, METRIC, VALUE)
GRAD_NORM = "grad_norm"  # progress.csv: gradient norm (grad_norm/<network> when several)
# lr_trace.csv: one row per change of a network's LR (rl_lr.run.lr_trace)
NETWORK = "network"
LR_MIN = "lr_min"
LR_MAX = "lr_max"
LR_TRACE_COLUMNS = (TIMESTEPS, NETWORK, LR, LR_MIN, LR_MAX)

# ------------------------------------------------------------------ summary.json, summary.csv

FINAL_EVAL_RETURN = "final_eval_return"
EVAL_AUC = "eval_auc"  # time-averaged clean eval return
STEPS_TO_THRESHOLD = "steps_to_threshold"  # empty: the env's reward threshold never reached
DIVERGED = "diverged"
DIVERGED_AT = "diverged_at"
DIVERGENCE_REASON = "divergence_reason"
WALL_TIME_S = "wall_time_s"  # a run's wall-clock seconds (summary.json, timing.csv)
WALL_CLOCK_KEYS = ("wall_time", WALL_TIME_S, "steps_per_second")  # to timing.csv only
LR_SPEC = "lr_spec"  # summary.csv: the axis values as spec text
PERTURB_SPEC = "perturb_spec"
OPTIMIZER_SPEC = "optimizer_spec"
STEPS = "steps"  # the run's training budget

# ---------------------------------------- the output directories of rl-lr tune, find-lr, pbt

STUDY_YAML = "study.yaml"  # rl-lr tune: the study's settings, space and outcome
TRIALS_CSV = "trials.csv"  # rl-lr tune: one row per trial (number, state, value, spec, ...)
TRIALS_DIR = "trials"  # rl-lr tune: trials/<number>/seed_<seed>/, run directories
SEED_DIR_PREFIX = "seed_"  # rl-lr tune: a trial's run directory of seed S is seed_<S>
STUDY_DB = "study.db"  # rl-lr tune: the default SQLite storage
BEST_TXT = "best.txt"  # rl-lr tune: the best trial's spec
HISTORY_PNG = "history.png"  # rl-lr tune: each trial's value
IMPORTANCE_PNG = "importance.png"  # rl-lr tune: parameter importance (and its .csv)
IMPORTANCE_CSV = "importance.csv"
FIND_LR_CSV = "find_lr.csv"  # rl-lr find-lr (an experiment directory): one row per LR
FIND_LR_PNG = "find_lr.png"  # rl-lr find-lr: AUC vs LR with the suggestion
SUGGESTION_JSON = "suggestion.json"  # rl-lr find-lr: the suggested LR and range
PBT_YAML = "pbt.yaml"  # rl-lr pbt: the method and the agent (next to summary.json)
MEMBERS_CSV = "members.csv"  # rl-lr pbt: every member's evaluations
EVENTS_CSV = "events.csv"  # rl-lr pbt: every exploit/explore step
PBT_LR_PNG = "lr.png"  # rl-lr pbt: each member's LR and the best lineage's

# ------------------------------------------------------------------ failures.csv

ERROR = "error"
FAILURES_COLUMNS = (RUN_ID, ERROR)

# ------------------------------------------------------------------ metrics.csv

RUNS = "runs"
DIVERGED_RATE = "diverged_rate"
FINAL_IQM = "final_iqm"
FINAL_MEAN = "final_mean"
FINAL_MEDIAN = "final_median"
NORM_FINAL_IQM = "norm_final_iqm"
OPTIMALITY_GAP = "optimality_gap"
AUC_IQM = "auc_iqm"
REACH_FRACTION = "reach_fraction"
STEPS_TO_THRESHOLD_MEDIAN = "steps_to_threshold_median"
DISPERSION_TIME = "dispersion_time"
SHORT_TERM_RISK = "short_term_risk"
LONG_TERM_RISK = "long_term_risk"
DISPERSION_RUNS = "dispersion_runs"
RISK_RUNS = "risk_runs"
SENSITIVITY = "sensitivity"
SWITCH_DROP = "switch_drop"
SWITCH_RECOVERY_STEPS = "switch_recovery_steps"
SWITCH_DROP_IQM = "switch_drop_iqm"
SWITCH_RECOVERY_IQM = "switch_recovery_iqm"
SWITCH_RECOVERED = "switch_recovered"
SWITCH_COUNT = "switch_count"
LR_OSCILLATIONS = "lr_oscillations"
LR_AT_BOUND = "lr_at_bound"


def ci_columns(column: str) -> tuple[str, str]:
    """The columns of the 95 % interval of a ``metrics.csv`` column: ``(X_low, X_high)``."""
    return f"{column}_low", f"{column}_high"


def trial_dir(study_dir: Path, number: int) -> Path:
    """The directory of trial ``number`` of an ``rl-lr tune`` study: ``trials/<number>``
    (4 digits), which holds a run directory ``seed_<seed>`` per seed."""
    return study_dir / TRIALS_DIR / f"{number:04d}"


def run_dir(experiment_dir: Path, run_id: str) -> Path:
    """The directory of run ``run_id`` in an experiment directory: ``runs/<run_id>``."""
    return experiment_dir / RUNS_DIR / run_id

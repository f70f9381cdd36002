# Over 400 lines: an Optuna study's objective, pruning, workers and resumable storage are one unit.
"""Optuna search over LR policies: ``rl-lr tune`` and :func:`run_study`.

The search space (LR policies and the ranges, choices and fixed values of their arguments: a
YAML file or the same mapping) is described and validated in :mod:`rl_lr.tuning.space`; the
tables, plots and summary files of a study are written by :mod:`rl_lr.tuning.outputs`.

Objective: each trial trains one run per seed (the same seeds for every trial) with
:func:`rl_lr.run.train` and scores the mean over seeds of ``eval_auc`` (``auc``, the
time-averaged clean eval return) or ``final_eval_return`` (``final``). A run that diverges
fails its trial (as rl-baselines3-zoo does). Pruning uses intermediate evaluations: the seeds
train in lock-step, each stopped (``train(..., stop_after=)``) and resumed
(:func:`rl_lr.run.resume`, identical to a run that never stopped) at ``reports`` points of the
budget, where the mean over seeds of the objective on the curve so far is reported at the
current env step. With ``pruner="none"`` the runs are not cut.

Outputs in ``out``: ``best.txt`` (the best spec), ``trials.csv``, ``history.png``,
``importance.png`` and ``importance.csv`` (Optuna's PED-ANOVA evaluator, which handles
conditional parameters and needs no scikit-learn; from 2 complete trials on), ``study.yaml``
(settings, space, counts, env steps spent), ``study.db`` (the default SQLite storage) and
``trials/<number>/seed_<seed>/`` (each run's files).

The study lives in its storage (``sqlite:///OUT/study.db`` unless a database URL is given,
which lets many machines share one study): running the same command again continues it up to
``trials`` finished trials, keeping every trial already there. A study remembers its settings
and space; reopening it with different ones is refused. The sampler (TPE) draws each trial
with the seed of ``(sampler_seed, trial number)`` (:class:`TrialSeededSampler`): processes
sharing a study never draw with the same randomness, one process alone repeats itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import multiprocessing
import shutil
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from rl_lr.errors import SpecError
from rl_lr.files import check_output_kind, read_csv
from rl_lr.run import TrainConfig, resolve_document, resume, summarize, train
from rl_lr.run.config import Spelled, read_spec
from rl_lr.schedules import POLICIES, Constant, LRPolicy
from rl_lr.schema import (
    CHECKPOINT_DIR,
    EVAL_AUC,
    EVAL_RETURN_MEAN,
    FINAL_EVAL_RETURN,
    PROGRESS_CSV,
    SEED_DIR_PREFIX,
    STUDY_YAML,
    TIMESTEPS,
    trial_dir,
)
from rl_lr.tuning.outputs import TuneResult, default_storage, hide_password, write_outputs
from rl_lr.tuning.space import SearchSpace, load_space, parse_space

__all__ = ["OBJECTIVES", "PRUNERS", "TrialSeededSampler", "TuneSettings", "open_storage",
           "run_study"]

OBJECTIVES = {"auc": EVAL_AUC, "final": FINAL_EVAL_RETURN}  # summary.json keys
PRUNERS = ("median", "halving", "none")
SETTINGS_ATTR = "rl_lr_settings"


# --------------------------------------------------------------------------------------------
# Settings, storage, objective
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuneSettings:
    """What every trial trains: env, algorithm, budget, seeds (the same for every trial), the
    objective and the evaluation; ``perturb`` (as written) and ``overrides`` as in
    :class:`~rl_lr.run.TrainConfig`."""

    env: str
    algo: str
    steps: int
    seeds: tuple[int, ...] = (0,)
    objective: str = "auc"
    eval_every: int | None = None
    eval_episodes: int = 10
    n_envs: int | None = None
    preset: str = "default"
    perturb: Any = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise SpecError(f"objective must be one of {', '.join(OBJECTIVES)}, "
                            f"got {self.objective!r}")
        seeds = tuple(self.seeds)
        if not seeds or any(type(s) is not int or s < 0 for s in seeds) \
                or len(set(seeds)) != len(seeds):
            raise SpecError(f"seeds must be distinct integers >= 0 (at least one), got {seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        self.config(None, seeds[0])  # checks perturb, steps, eval_every, eval_episodes

    @functools.cached_property
    def perturbations(self) -> Spelled:
        """``perturb`` read once: every trial's runs carry the same objects."""
        return read_spec("perturb", self.perturb)

    def config(self, lr: Any, seed: int) -> TrainConfig:
        """The run of one seed of a trial with LR policy ``lr`` (``None``: the preset's)."""
        return TrainConfig(env=self.env, algo=self.algo, steps=self.steps, seed=seed, lr=lr,
                           perturb=self.perturbations, preset=self.preset, n_envs=self.n_envs,
                           eval_every=self.eval_every, eval_episodes=self.eval_episodes,
                           overrides=dict(self.overrides))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["seeds"] = list(self.seeds)
        data["overrides"] = dict(self.overrides)
        plain: dict[str, Any] = json.loads(json.dumps(data, default=repr))
        return plain


def open_storage(url: str, *, heartbeat: bool = True) -> Any:
    """Connect to an Optuna RDB storage (SQLite, PostgreSQL, MySQL URL).

    Raises:
        SpecError: one line when the URL is malformed, its driver missing or the database
            unreachable.
    """
    import optuna  # optional (the [tune] extra)

    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}
    elif url.startswith(("postgres", "mysql")):
        engine = {"connect_args": {"connect_timeout": 10}}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=engine,
                                              heartbeat_interval=60 if heartbeat else None,
                                              grace_period=180 if heartbeat else None)
    except Exception as err:  # sqlalchemy / driver errors, all reported the same way
        text = " ".join(str(err).split()).split(" (Background on this error")[0]
        text = text or type(err).__name__
        if isinstance(err, ImportError):
            # Optuna re-raises SQLAlchemy's ImportError, which names the missing module
            text = _missing_driver(url, getattr(err.__cause__, "name", None) or err.name)
        raise SpecError(f"--storage {hide_password(url)}: cannot open the study storage: "
                        f"{text[:300]}") from None


def _missing_driver(url: str, module: str | None) -> str:
    """What to install when SQLAlchemy cannot import the driver of ``url``.

    >>> print(_missing_driver("postgresql://u@host/db", "psycopg"))
    its database driver psycopg (3) is not installed: pip install "rl-lr[postgres]" (or ...)
    """
    if module == "psycopg" or (module is None and url.startswith("postgres")):
        # SQLAlchemy 2.1 opens postgresql:// URLs with psycopg 3, the [postgres] extra
        return ('its database driver psycopg (3) is not installed: pip install "rl-lr[postgres]"'
                ' (or pip install "psycopg[binary]")')
    driver = f"its database driver {module}" if module else "its database driver"
    return (f"{driver} is not installed (install the driver SQLAlchemy names for this URL; "
            'for PostgreSQL use postgresql://... with pip install "rl-lr[postgres]")')


def _make_pruner(name: str) -> Any:
    import optuna  # optional (the [tune] extra)

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def _read_rows(run: Path) -> list[dict[str, Any]]:
    return [{TIMESTEPS: int(r[TIMESTEPS]), EVAL_RETURN_MEAN: float(r[EVAL_RETURN_MEAN])}
            for r in read_csv(run / PROGRESS_CSV)]


class _Objective:
    """One trial: sample, train every seed in lock-step, report, prune, score."""

    def __init__(self, space: SearchSpace, settings: TuneSettings, out: Path, chunks: int) -> None:
        self.space, self.settings, self.out, self.chunks = space, settings, out, chunks

    def boundaries(self) -> list[int | None]:
        """Where the runs stop to report: ``chunks - 1`` points spread over the budget, each
        on the evaluation grid and before the end (``None``: run to the end)."""
        steps, every = self.settings.steps, self.settings.config(None, 0).eval_every
        assert every is not None
        cuts = {math.ceil(steps * j / self.chunks / every) * every for j in range(1, self.chunks)}
        return [*sorted(c for c in cuts if 0 < c < steps), None]

    def partial(self, runs: list[Path]) -> tuple[float, int]:
        key = OBJECTIVES[self.settings.objective]
        values, step = [], 0
        for run in runs:
            rows = _read_rows(run)
            values.append(summarize(rows, None, 0.0, self.settings.steps, None)[key])
            step = max(step, rows[-1][TIMESTEPS])
        return float(np.mean(values)), step

    def __call__(self, trial: Any) -> float:
        import optuna  # optional (the [tune] extra)

        try:
            policy = self.space.sample(trial)
        except SpecError as err:
            trial.set_user_attr("error", str(err))
            return math.nan
        trial.set_user_attr("spec", repr(policy))
        directory = trial_dir(self.out, trial.number)
        shutil.rmtree(directory, ignore_errors=True)
        runs = [directory / f"{SEED_DIR_PREFIX}{seed}" for seed in self.settings.seeds]
        bounds = self.boundaries()
        chunked = len(bounds) > 1
        results: list[Any] = []
        reported = -1
        try:
            for stop in bounds:
                results = []
                for seed, run in zip(self.settings.seeds, runs, strict=True):
                    try:
                        if run.exists():
                            result = resume(run, stop_after=stop)
                        else:
                            result = train(self.settings.config(policy, seed), run,
                                           save_model=chunked, stop_after=stop)
                    except SpecError as err:  # this sampled policy cannot run here
                        trial.set_user_attr("error", str(err))
                        return math.nan
                    if result.status == "diverged":
                        summary = result.summary or {}
                        trial.set_user_attr("error", f"diverged: seed {seed} at step "
                                            f"{summary.get('diverged_at')}: "
                                            f"{summary.get('divergence_reason')}")
                        return math.nan
                    results.append(result)
                if stop is not None and not all(r.status == "complete" for r in results):
                    value, step = self.partial(runs)
                    if step <= reported:
                        continue  # no evaluation since the last report
                    trial.report(value, step)
                    reported = step
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned at step {step} ({value:.6g})")
            values = [float(r.summary[OBJECTIVES[self.settings.objective]]) for r in results]
            trial.set_user_attr("seed_values", values)
            return float(np.mean(values))
        finally:
            trial.set_user_attr("env_steps", sum(_read_rows(r)[-1][TIMESTEPS] for r in runs
                                                 if (r / PROGRESS_CSV).exists()))
            for run in runs:
                shutil.rmtree(run / CHECKPOINT_DIR, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------------


_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _finished(study: Any) -> int:
    return sum(t.state.name in _FINISHED for t in study.get_trials(deepcopy=False))


class TrialSeededSampler:
    """Optuna's TPE sampler with its randomness drawn afresh for each trial from
    ``(seed, trial.number)``.

    The storage hands out trial numbers, unique in a study, so processes sharing one study
    (workers here, machines on one database) never sample a trial with the same random stream,
    even with the same ``seed``; a resumed study goes on with new numbers, so it does not
    replay its first trials' draws; one process with the same seed and the same results
    repeats its trials exactly. What TPE learns comes from the finished trials in the storage,
    as before.

    >>> sampler = TrialSeededSampler(0)
    >>> sampler.seed_of(3) == TrialSeededSampler(0).seed_of(3) != sampler.seed_of(4)
    True
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._number: int | None = None
        self._tpe: Any = None

    def seed_of(self, number: int) -> int:
        """The TPE seed of trial ``number``."""
        return int(np.random.SeedSequence([self.seed, number]).generate_state(1)[0])

    def _for(self, trial: Any) -> Any:
        """Trial ``trial.number``'s TPE sampler (made once per trial)."""
        import optuna  # optional (the [tune] extra)

        if self._number != trial.number:
            self._number = trial.number
            self._tpe = optuna.samplers.TPESampler(seed=self.seed_of(trial.number))
        return self._tpe

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        space: dict[str, Any] = self._for(trial).infer_relative_search_space(study, trial)
        return space

    def sample_relative(self, study: Any, trial: Any,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = self._for(trial).sample_relative(study, trial, search_space)
        return params

    def sample_independent(self, study: Any, trial: Any, param_name: str,
                           param_distribution: Any) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._for(trial).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Nothing to reseed: each trial's randomness comes from its number."""


def _announce(stream: TextIO, total: int) -> Callable[[Any, Any], None]:
    def callback(study: Any, trial: Any) -> None:
        value = "" if trial.value is None else f" {trial.value:.6g}"
        what = trial.user_attrs.get("spec") or trial.user_attrs.get("error") or ""
        stream.write(f"[trial {trial.number}, {_finished(study)}/{total}] {trial.state.name}"
                     f"{value} {what}\n")
        stream.flush()

    return callback


def _optimize(payload: dict[str, Any], stream: TextIO | None = None,
              storage: Any = None) -> None:
    """Run trials until the study has ``trials`` finished ones (one process)."""
    import optuna  # optional (the [tune] extra)
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = parse_space(payload["space"], payload["source"])
    settings = TuneSettings(**payload["settings"])
    storage = storage or open_storage(payload["storage"])
    study = optuna.load_study(study_name=payload["study_name"], storage=storage)
    study.sampler = TrialSeededSampler(payload["sampler_seed"])
    study.pruner = _make_pruner(payload["pruner"])
    objective = _Objective(space, settings, Path(payload["out"]),
                           1 if payload["pruner"] == "none" else payload["reports"])
    # This worker's share of the trials still missing; the callback also stops it when
    # workers elsewhere (a shared storage) finish the study first.
    missing, workers, worker = payload["trials"] - _finished(study), payload["workers"], \
        payload["worker"]
    remaining = missing // workers + (worker < missing % workers)
    if remaining <= 0:
        return
    callbacks: list[Any] = [MaxTrialsCallback(
        payload["trials"], states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))]
    if stream is not None:
        callbacks.append(_announce(stream, payload["trials"]))
    study.optimize(objective, n_trials=remaining, callbacks=callbacks)


def _worker(payload: dict[str, Any]) -> None:
    torch.set_num_threads(1)
    with contextlib.suppress(KeyboardInterrupt):
        _optimize(payload, sys.stderr if not payload["quiet"] else None)


def _identity(settings: TuneSettings, space: SearchSpace) -> dict[str, Any]:
    """What a study is: its settings, the agent they resolve to (so that equivalent
    overrides compare equal) and its space."""
    agent = resolve_document(settings.config(Constant(1e-3), settings.seeds[0]))
    plain = {k: v for k, v in settings.to_dict().items() if k != "overrides"}
    return {"settings": plain | {"overrides": settings.to_dict()["overrides"]},
            "agent": json.loads(json.dumps({k: v for k, v in agent.items()
                                            if k not in ("lr", "seed")}, default=repr)),
            "space": dict(space.raw)}


def _check_study(study: Any, identity: dict[str, Any], where: str) -> None:
    """Tag a new study with its identity; refuse one made with other settings."""
    stored = study.user_attrs.get(SETTINGS_ATTR)
    if stored is None:
        if study.get_trials(deepcopy=False):
            raise SpecError(f"{where} holds study {study.study_name!r}, not made by rl-lr tune; "
                            "choose another --study-name")
        study.set_user_attr(SETTINGS_ATTR, identity)
        return
    differ = []
    for section in ("settings", "agent"):
        old, new = stored.get(section) or {}, identity[section]
        differ += [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
                   and k not in ("overrides", "hyperparams")]
    old_agent = (stored.get("agent") or {}).get("hyperparams") or {}
    new_agent = identity["agent"].get("hyperparams") or {}
    differ += [k for k in sorted(set(old_agent) | set(new_agent))
               if old_agent.get(k) != new_agent.get(k)]
    if stored.get("space") != identity["space"]:
        differ.append("the search space")
    if differ:
        raise SpecError(f"{where} holds study {study.study_name!r} made with other settings "
                        f"(differ in {', '.join(differ)}); choose another --study-name or --out")


def run_study(
    space: SearchSpace | Mapping[str, Any] | Path | str,
    settings: TuneSettings,
    *,
    trials: int,
    out: Path,
    storage: str | None = None,
    study_name: str | None = None,
    pruner: str = "median",
    reports: int = 4,
    workers: int = 1,
    sampler_seed: int = 0,
    quiet: bool = True,
    stream: TextIO | None = None,
    enqueue: Sequence[LRPolicy | str] = (),
) -> TuneResult:
    """Create or continue an Optuna study over LR policies until it has ``trials`` finished
    trials (complete, pruned or failed), then write its outputs (module docstring).

    Args:
        space: a :class:`SearchSpace`, its mapping, or a YAML file.
        settings: env, algorithm, budget, seeds and objective of every trial.
        trials: finished trials the study should hold in the end (existing ones count).
        out: output directory (the default SQLite storage lives there).
        storage: an RDB URL (``sqlite:///...``, ``postgresql://...``); default
            ``sqlite:///OUT/study.db``.
        study_name: default ``rl-lr-<env>-<algo>``.
        pruner: ``median`` (Optuna's MedianPruner after 5 trials), ``halving``
            (SuccessiveHalvingPruner) or ``none``.
        reports: intermediate reports per run (pruning points), >= 1.
        workers: processes running trials in parallel on this machine.
        sampler_seed: seed of the TPE sampler, which draws each trial with the seed of
            ``(sampler_seed, trial number)`` (:class:`TrialSeededSampler`).
        quiet: no line per finished trial.
        stream: where those lines go (stderr).
        enqueue: policies (objects or specs) a new study tries first, in order, at most
            ``trials`` of them (a warm start:
            :func:`rl_lr.experience.suggest`), each as the space's parameters
            (:meth:`SearchSpace.params_for`); those the space cannot express are skipped.
            A study that already has trials is continued as it is.

    Raises:
        SpecError: bad space, settings, storage or a study made with other settings; raised
            before anything is written to ``out``.
    """
    import optuna  # optional (the [tune] extra)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if not isinstance(space, SearchSpace):
        space = parse_space(space) if isinstance(space, Mapping) else load_space(space)
    for name, number in (("trials", trials), ("reports", reports), ("workers", workers)):
        if type(number) is not int or number < 1:
            raise SpecError(f"{name} must be a positive integer, got {number!r}")
    if pruner not in PRUNERS:
        raise SpecError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
    if type(sampler_seed) is not int or sampler_seed < 0:
        raise SpecError(f"--sampler-seed must be an integer >= 0, got {sampler_seed!r}")
    for name, option in space.root.options.items():
        try:
            resolve_document(settings.config(option.middle(), settings.seeds[0]))
        except SpecError as err:
            raise SpecError(f"{space.source}: policies.{name}: {err}") from None
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file, not a directory")
    check_output_kind(out, STUDY_YAML)
    study_name = study_name or f"rl-lr-{settings.env.replace('/', '-')}-{settings.algo}"
    identity = _identity(settings, space)
    url = storage or default_storage(out)
    if storage is None:
        out.mkdir(parents=True, exist_ok=True)
    rdb = open_storage(url)
    study = optuna.create_study(study_name=study_name, storage=rdb, direction="maximize",
                                load_if_exists=True)
    _check_study(study, identity, f"--storage {hide_password(url)}")
    queued = _enqueue(study, space, enqueue[:trials]) \
        if not study.get_trials(deepcopy=False) else []
    out.mkdir(parents=True, exist_ok=True)
    payload = {"space": dict(space.raw), "source": space.source, "settings": settings.to_dict(),
               "storage": url, "study_name": study_name, "out": str(out), "trials": trials,
               "pruner": pruner, "reports": reports, "sampler_seed": sampler_seed,
               "quiet": quiet, "worker": 0, "workers": workers}
    interrupted = False
    try:
        if workers == 1:
            _optimize(payload, None if quiet else (stream or sys.stderr), rdb)
        else:
            _parallel(payload, workers)
    except KeyboardInterrupt:
        interrupted = True
    result = write_outputs(study, out, identity, url, interrupted)
    if enqueue:
        result.notes.append(f"warm start: {len(queued)} of {len(enqueue)} prior configurations "
                            "queued first" + (f" ({', '.join(queued)})" if queued else
                                              " (the study had trials, or the space cannot "
                                              "express them)"))
    return result


def _enqueue(study: Any, space: SearchSpace, policies: Sequence[LRPolicy | str]) -> list[str]:
    """Queue each policy's parameters (once) as the study's first trials; their specs."""
    queued: list[str] = []
    seen: list[dict[str, Any]] = []
    for policy in policies:
        policy = POLICIES.parse(policy) if isinstance(policy, str) else policy
        params = space.params_for(policy)
        if params is None or params in seen:
            continue
        seen.append(params)
        study.enqueue_trial(params, user_attrs={"warm_start": repr(policy)})
        queued.append(repr(policy))
    return queued


def _parallel(payload: dict[str, Any], workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(payload | {"worker": i},))
                 for i in range(workers)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()

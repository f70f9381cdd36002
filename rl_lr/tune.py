"""Optuna search over LR policies: ``rl-lr tune`` and :func:`run_study`.

The search space is a YAML file (or the same mapping in Python)::

    policies:                          # one or more LR policies (rl-lr list), each with its space
      constant:
        lr: [1e-5, 1e-2, log]          # log-uniform float
      cosine:
        lr: [1e-5, 1e-2, log]
        end: [0, 1e-5]                 # uniform float
        warmup: 0.05                   # a fixed value
      cyclic:
        low: [1e-5, 1e-4, log]
        high: [1e-4, 1e-2, log]
        cycles: [1, 8]                 # an integer argument: an integer range
        mode: {choice: [triangular, triangular2]}   # categorical
      plateau:
        base: {constant: {lr: [1e-4, 1e-2, log]}}   # a nested policy with its own space
        factor: [0.1, 0.9]
        patience: [2, 20, int]

Each argument of a policy (a field of its class, common ones such as ``warmup``, ``min_lr``
included) is one of:

- a fixed value: a number, a string, a list for list arguments, a spec string;
- a range ``[low, high]`` with optional flags ``log`` (log-uniform, needs ``low > 0``) and
  ``int`` (integers; implied for integer arguments); only numeric arguments take ranges, and
  ``low < high`` (an equal pair is an empty range: write the value itself);
- ``{choice: [a, b, ...]}``: categorical;
- for policy arguments (``base`` of a controller): a mapping ``{policy: {its space}}``, one
  entry (fixed nested policy) or several (a categorical over them).

Arguments not mentioned keep their defaults; required ones must be given. The whole space is
checked before the study is created or opened: unknown policy and argument names, inverted or
empty ranges, log ranges reaching 0, and each policy built once with every range at its middle
(geometric middle for log ranges). A sampled combination that its class refuses (a cyclic
``low`` above its ``high``) fails that trial, with the reason in ``trials.csv``.

Optuna parameter names: ``policy`` (the categorical over policies), ``<policy>.<argument>``,
and for nested policies ``<policy>.<argument>`` (the categorical) and
``<policy>.<argument>.<nested>.<its argument>``. A trial's policy is built as an object and its
``repr`` -- a spec every rl-lr command accepts -- is stored with the trial.

Objective: each trial trains one run per seed (the same seeds for every trial) with
:func:`rl_lr.train.train` and scores the mean over seeds of ``eval_auc`` (``auc``, the
time-averaged clean eval return) or ``final_eval_return`` (``final``). A run that diverges
fails its trial (as rl-baselines3-zoo does). Pruning uses intermediate evaluations: the seeds
train in lock-step, each stopped (``train(..., stop_after=)``) and resumed
(:func:`rl_lr.train.resume`, identical to a run that never stopped) at ``reports`` points of the
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
and space; reopening it with different ones is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing
import shutil
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rl_lr.schedules import POLICIES, LRPolicy
from rl_lr.spec import SpecError, render_value
from rl_lr.train import TrainConfig, resolve_document, resume, summarize, train

__all__ = ["OBJECTIVES", "PRUNERS", "Choice", "Fixed", "PolicyChoice", "PolicySpace", "Range",
           "SearchSpace", "TuneResult", "TuneSettings", "load_space", "open_storage",
           "parse_space", "run_study"]

OBJECTIVES = {"auc": "eval_auc", "final": "final_eval_return"}
PRUNERS = ("median", "halving", "none")
SETTINGS_ATTR = "rl_lr_settings"
_FLAGS = ("log", "int")


# --------------------------------------------------------------------------------------------
# The search space
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A numeric range: uniform, log-uniform (``log``) and/or integer (``integer``)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial: Any, name: str) -> float | int:
        if self.integer:
            return int(trial.suggest_int(name, int(self.low), int(self.high), log=self.log))
        return float(trial.suggest_float(name, self.low, self.high, log=self.log))

    def middle(self) -> float | int:
        mid = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return round(mid) if self.integer else mid


def _label(value: Any) -> Any:
    """An Optuna categorical choice: the value itself if Optuna stores it, else its spec text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else \
        render_value(value)


@dataclass(frozen=True)
class Choice:
    """A categorical argument."""

    options: tuple[Any, ...]

    def suggest(self, trial: Any, name: str) -> Any:
        labels = [_label(o) for o in self.options]
        return self.options[labels.index(trial.suggest_categorical(name, labels))]

    def middle(self) -> Any:
        return self.options[0]


@dataclass(frozen=True)
class Fixed:
    """An argument that is not searched."""

    value: Any

    def suggest(self, trial: Any, name: str) -> Any:
        return self.value

    def middle(self) -> Any:
        return self.value


@dataclass(frozen=True)
class PolicySpace:
    """One policy and the space of its arguments."""

    name: str
    arguments: Mapping[str, Any]  # argument -> Range | Choice | Fixed | PolicyChoice

    def build(self, values: Mapping[str, Any]) -> LRPolicy:
        policy = POLICIES.get(self.name)(**values)
        assert isinstance(policy, LRPolicy)
        return policy

    def sample(self, trial: Any, prefix: str) -> LRPolicy:
        return self.build({arg: dim.suggest(trial, f"{prefix}{arg}")
                           for arg, dim in self.arguments.items()})

    def middle(self) -> LRPolicy:
        return self.build({arg: dim.middle() for arg, dim in self.arguments.items()})

    def check(self) -> None:
        """Build the policy at its middle, and with each other choice / nested policy."""
        middles = {arg: dim.middle() for arg, dim in self.arguments.items()}
        self.build(middles)
        for arg, dim in self.arguments.items():
            if isinstance(dim, PolicyChoice):
                for option in dim.options.values():
                    option.check()
                    self.build(middles | {arg: option.middle()})
            elif isinstance(dim, Choice):
                for value in dim.options[1:]:
                    self.build(middles | {arg: value})


@dataclass(frozen=True)
class PolicyChoice:
    """A categorical over policies, each with its own space (the top level, or ``base``)."""

    options: Mapping[str, PolicySpace]

    def suggest(self, trial: Any, name: str) -> LRPolicy:
        names = list(self.options)
        key = names[0] if len(names) == 1 else trial.suggest_categorical(name or "policy", names)
        return self.options[key].sample(trial, f"{name}.{key}." if name else f"{key}.")

    def middle(self) -> LRPolicy:
        return next(iter(self.options.values())).middle()


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space (see the module docstring); ``raw`` is the mapping it was
    read from, ``source`` where from."""

    root: PolicyChoice
    raw: Mapping[str, Any]
    source: str = "<space>"

    def sample(self, trial: Any) -> LRPolicy:
        """The trial's policy (raises :class:`SpecError` if its class refuses the values)."""
        return self.root.suggest(trial, "")

    @property
    def policies(self) -> list[str]:
        return list(self.root.options)


class SpaceError(SpecError):
    """Everything wrong with a search space, on one line."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


def _kind(hint: Any) -> str:
    """``policy``, ``int``, ``float``, ``list`` or ``other`` for a field's type hint."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(hint) if a is not type(None)}
        return next((k for k in ("policy", "float", "int", "list") if k in kinds), "other")
    if typing.get_origin(hint) is tuple:
        return "list"
    if isinstance(hint, type) and issubclass(hint, LRPolicy):
        return "policy"
    return {int: "int", float: "float"}.get(hint, "other")


def _number(value: Any) -> float | None:
    from rl_lr.agents.hyperparams import coerce_numbers

    value = coerce_numbers(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _range(items: list[Any], kind: str, where: str, errors: list[str]) -> Range | None:
    if len(items) < 2:
        errors.append(f"{where}: empty range {items!r}: give [low, high] (flags: log, int)")
        return None
    flags = [str(f) for f in items[2:]]
    bad = [f for f in flags if f not in _FLAGS]
    if bad or len(set(flags)) != len(flags):
        errors.append(f"{where}: range flags must be among {', '.join(_FLAGS)} (each once), "
                      f"got {items[2:]!r}")
        return None
    low, high = _number(items[0]), _number(items[1])
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        errors.append(f"{where}: range bounds must be finite numbers, got {items[:2]!r}")
        return None
    if low >= high:
        what = "empty range" if low == high else "inverted range"
        errors.append(f"{where}: {what} [{items[0]}, {items[1]}]: low must be < high"
                      + (" (for a fixed value write the value itself)" if low == high else ""))
        return None
    log, integer = "log" in flags, "int" in flags or kind == "int"
    if log and low <= 0:
        errors.append(f"{where}: a log range needs low > 0, got {items[0]}")
        return None
    if integer and not (low.is_integer() and high.is_integer()):
        errors.append(f"{where}: an integer range needs integer bounds, got {items[:2]!r}")
        return None
    return Range(low, high, log, integer)


def _dimension(value: Any, hint: Any, where: str, errors: list[str]) -> Any:
    from rl_lr.agents.hyperparams import coerce_numbers

    kind = _kind(hint)
    if isinstance(value, Mapping):
        if set(value) == {"choice"}:
            options = value["choice"]
            if not isinstance(options, list) or not options:
                errors.append(f"{where}: choice must be a non-empty list")
                return None
            options = [coerce_numbers(o) for o in options]
            labels = [_label(o) for o in options]
            if len(set(map(repr, labels))) != len(labels):
                errors.append(f"{where}: choice lists an option twice: {options!r}")
                return None
            return Choice(tuple(options))
        if kind == "policy":
            return _policy_choice(value, where, errors)
        errors.append(f"{where}: a mapping must be {{choice: [...]}}"
                      + (" or {policy: {its space}}" if kind == "policy" else ""))
        return None
    if isinstance(value, list) and kind != "list":
        if kind in ("int", "float"):
            return _range(value, kind, where, errors)
        errors.append(f"{where}: a list is a range, which only numeric arguments take; "
                      "give options as {choice: [...]}")
        return None
    return Fixed(coerce_numbers(value))


def _policy_space(name: str, data: Any, where: str, errors: list[str]) -> PolicySpace | None:
    try:
        cls = POLICIES.get(str(name))
    except SpecError as err:
        errors.append(f"{where}: {err}")
        return None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        errors.append(f"{where}: must map {name}'s arguments to values, ranges or choices, "
                      f"got {data!r}")
        return None
    fields = {f.name: f for f in sorted((f for f in dataclasses.fields(cls) if f.init),
                                        key=lambda f: bool(f.kw_only))}  # own ones first
    hints = typing.get_type_hints(cls)
    arguments: dict[str, Any] = {}
    for arg, value in data.items():
        if arg not in fields:
            errors.append(f"{where}.{arg}: unknown argument of {name} "
                          f"(arguments: {', '.join(fields)})")
            continue
        dim = _dimension(value, hints[arg], f"{where}.{arg}", errors)
        if dim is not None:
            arguments[str(arg)] = dim
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    errors.extend(f"{where}.{n}: required argument of {name} (a value, range or choice)"
                  for n in missing)
    return PolicySpace(str(name), arguments)


def _policy_choice(data: Any, where: str, errors: list[str]) -> PolicyChoice | None:
    if not isinstance(data, Mapping) or not data:
        errors.append(f"{where}: must map one or more LR policy names to their spaces")
        return None
    options = {}
    for name, sub in data.items():
        space = _policy_space(name, sub, f"{where}.{name}", errors)
        if space is not None:
            options[str(name)] = space
    return PolicyChoice(options)


def parse_space(data: Any, source: str = "<space>") -> SearchSpace:
    """Validate a search-space mapping (see the module docstring).

    Raises:
        SpecError: every problem found, on one line, each with its path in the space.

    Example:
        >>> space = parse_space({"policies": {"cosine": {"lr": [1e-4, 1e-2, "log"]}}})
        >>> space.root.middle()
        cosine(0.001)
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise SpaceError(source, [f"top level must be a mapping with 'policies', got "
                                  f"{type(data).__name__}"])
    errors += [f"{k}: unknown key (allowed: policies)" for k in data if k != "policies"]
    root = _policy_choice(data.get("policies"), "policies", errors)
    if root is not None and not errors:
        for name, space in root.options.items():
            try:
                space.check()
            except SpecError as err:
                errors.append(f"policies.{name}: {err} (built with each range at its middle)")
    if errors or root is None:
        raise SpaceError(source, errors)
    return SearchSpace(root, json.loads(json.dumps(dict(data), default=str)), source)


def load_space(path: Path | str) -> SearchSpace:
    """Read and validate a search-space YAML file (:class:`SpecError` on any problem)."""
    from rl_lr.run_files import read_yaml

    path = Path(path)
    return parse_space(read_yaml(path, "search space"), str(path))


# --------------------------------------------------------------------------------------------
# Settings, storage, objective
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuneSettings:
    """What every trial trains: env, algorithm, budget, seeds (the same for every trial), the
    objective and the evaluation; ``overrides`` as in :class:`~rl_lr.train.TrainConfig`."""

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
        self.config("constant(1e-3)", seeds[0])  # checks steps, eval_every, eval_episodes

    def config(self, lr: Any, seed: int) -> TrainConfig:
        return TrainConfig(env=self.env, algo=self.algo, steps=self.steps, seed=seed, lr=lr,
                           perturb=self.perturb, preset=self.preset, n_envs=self.n_envs,
                           eval_every=self.eval_every, eval_episodes=self.eval_episodes,
                           overrides=dict(self.overrides))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["seeds"] = list(self.seeds)
        data["overrides"] = dict(self.overrides)
        plain: dict[str, Any] = json.loads(json.dumps(data, default=repr))
        return plain


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return url


def open_storage(url: str, *, heartbeat: bool = True) -> Any:
    """Connect to an Optuna RDB storage (SQLite, PostgreSQL, MySQL URL).

    Raises:
        SpecError: one line when the URL is malformed, its driver missing or the database
            unreachable.
    """
    import optuna

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
            text = "its database driver is not installed (e.g. pip install psycopg2-binary)"
        raise SpecError(f"--storage {_hide_password(url)}: cannot open the study storage: "
                        f"{text[:300]}") from None


def _make_pruner(name: str) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def _read_rows(run: Path) -> list[dict[str, Any]]:
    import csv

    with (run / "progress.csv").open(newline="") as handle:
        return [{"timesteps": int(r["timesteps"]), "eval_return_mean": float(r["eval_return_mean"])}
                for r in csv.DictReader(handle)]


class _Objective:
    """One trial: sample, train every seed in lock-step, report, prune, score."""

    def __init__(self, space: SearchSpace, settings: TuneSettings, out: Path, chunks: int) -> None:
        self.space, self.settings, self.out, self.chunks = space, settings, out, chunks

    def boundaries(self) -> list[int | None]:
        """Where the runs stop to report: ``chunks - 1`` points spread over the budget, each
        on the evaluation grid and before the end (``None``: run to the end)."""
        steps, every = self.settings.steps, self.settings.config("constant(0.001)", 0).eval_every
        assert every is not None
        cuts = {math.ceil(steps * j / self.chunks / every) * every for j in range(1, self.chunks)}
        return [*sorted(c for c in cuts if 0 < c < steps), None]

    def partial(self, runs: list[Path]) -> tuple[float, int]:
        key = OBJECTIVES[self.settings.objective]
        values, step = [], 0
        for run in runs:
            rows = _read_rows(run)
            values.append(summarize(rows, None, 0.0, self.settings.steps, None)[key])
            step = max(step, rows[-1]["timesteps"])
        return float(np.mean(values)), step

    def __call__(self, trial: Any) -> float:
        import optuna

        try:
            policy = self.space.sample(trial)
        except SpecError as err:
            trial.set_user_attr("error", str(err))
            return math.nan
        spec = repr(policy)  # a string: TrainConfig.to_dict flattens policy objects
        trial.set_user_attr("spec", spec)
        directory = self.out / "trials" / f"{trial.number:04d}"
        shutil.rmtree(directory, ignore_errors=True)
        runs = [directory / f"seed_{seed}" for seed in self.settings.seeds]
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
                            result = train(self.settings.config(spec, seed), run,
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
            trial.set_user_attr("env_steps", sum(_read_rows(r)[-1]["timesteps"] for r in runs
                                                 if (r / "progress.csv").exists()))
            for run in runs:
                shutil.rmtree(run / "checkpoint", ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------------


@dataclass
class TuneResult:
    """What a study holds after :func:`run_study`: the best policy's spec and value (``None``
    before any trial completed), the trials table, counts, the env steps spent by all trials,
    where the files are, and notes (what was skipped, and why)."""

    out: Path
    study_name: str
    storage: str
    best_spec: str | None
    best_value: float | None
    trials: list[dict[str, Any]]
    total_env_steps: int
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(row["state"] == state for row in self.trials)


_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _finished(study: Any) -> int:
    return sum(t.state.name in _FINISHED for t in study.get_trials(deepcopy=False))


def _sampler(seed: int, study: Any, worker: int) -> Any:
    import optuna

    # A resumed study must not replay the first trials' draws: mix in how many exist.
    mixed = np.random.SeedSequence([seed, len(study.get_trials(deepcopy=False)), worker])
    return optuna.samplers.TPESampler(seed=int(mixed.generate_state(1)[0]))


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
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = parse_space(payload["space"], payload["source"])
    settings = TuneSettings(**payload["settings"])
    storage = storage or open_storage(payload["storage"])
    study = optuna.load_study(study_name=payload["study_name"], storage=storage)
    study.sampler = _sampler(payload["sampler_seed"], study, payload["worker"])
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
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(KeyboardInterrupt):
        _optimize(payload, sys.stderr if not payload["quiet"] else None)


def _identity(settings: TuneSettings, space: SearchSpace) -> dict[str, Any]:
    """What a study is: its settings, the agent they resolve to (so that equivalent
    overrides compare equal) and its space."""
    agent = resolve_document(settings.config("constant(0.001)", settings.seeds[0]))
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
        sampler_seed: seed of the TPE sampler.
        quiet: no line per finished trial.
        stream: where those lines go (stderr).

    Raises:
        SpecError: bad space, settings, storage or a study made with other settings; raised
            before anything is written to ``out``.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if not isinstance(space, SearchSpace):
        space = parse_space(space) if isinstance(space, Mapping) else load_space(space)
    for name, number in (("trials", trials), ("reports", reports), ("workers", workers)):
        if type(number) is not int or number < 1:
            raise SpecError(f"{name} must be a positive integer, got {number!r}")
    if pruner not in PRUNERS:
        raise SpecError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
    for name, option in space.root.options.items():
        try:
            resolve_document(settings.config(repr(option.middle()), settings.seeds[0]))
        except SpecError as err:
            raise SpecError(f"{space.source}: policies.{name}: {err}") from None
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file, not a directory")
    study_name = study_name or f"rl-lr-{settings.env.replace('/', '-')}-{settings.algo}"
    identity = _identity(settings, space)
    url = storage or f"sqlite:///{out.resolve() / 'study.db'}"
    if storage is None:
        out.mkdir(parents=True, exist_ok=True)
    rdb = open_storage(url)
    study = optuna.create_study(study_name=study_name, storage=rdb, direction="maximize",
                                load_if_exists=True)
    _check_study(study, identity, f"--storage {_hide_password(url)}")
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
    return write_outputs(study, out, identity, url, interrupted)


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


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def trials_table(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, spec, env steps, duration, error, params."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": t.number, "state": t.state.name, "value": t.value,
            "spec": t.user_attrs.get("spec"), "env_steps": t.user_attrs.get("env_steps"),
            "last_step": t.last_step,
            "duration_s": round(t.duration.total_seconds(), 3) if t.duration else None,
            "error": t.user_attrs.get("error"),
        }
        row |= {f"params_{k}": v for k, v in sorted(t.params.items())}
        rows.append(row)
    return rows


def plot_history(rows: Sequence[Mapping[str, Any]], ax: Any = None, *,
                 ylabel: str = "objective") -> Any:
    """Trial values (complete: dots; pruned: their last report is unknown here, so they are
    marked on the x-axis) and the best value so far."""
    from rl_lr.plots import new_axes

    ax = ax if ax is not None else new_axes()
    done = [(r["number"], r["value"]) for r in rows if r["state"] == "COMPLETE"]
    if done:
        x, y = zip(*done, strict=True)
        ax.scatter(x, y, s=18, label="trial", zorder=3)
        best = np.maximum.accumulate(np.asarray(y, dtype=float))
        ax.step(x, best, where="post", color="C3", label="best so far")
    pruned = [r["number"] for r in rows if r["state"] == "PRUNED"]
    if pruned:
        ax.plot(pruned, [0] * len(pruned), "x", color="0.5", transform=ax.get_xaxis_transform(),
                label="pruned", clip_on=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if done or pruned:
        ax.legend(frameon=False)
    return ax


def plot_importance(importances: Mapping[str, float], ax: Any = None) -> Any:
    """Horizontal bars, most important parameter on top."""
    from rl_lr.plots import new_axes

    ax = ax if ax is not None else new_axes()
    items = sorted(importances.items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items], color="C0")
    ax.set_xlabel("importance (PED-ANOVA)")
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def _importances(study: Any) -> dict[str, float]:
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(get_param_importances(study, evaluator=PedAnovaImportanceEvaluator()))


def write_outputs(study: Any, out: Path, identity: Mapping[str, Any], url: str,
                  interrupted: bool = False) -> TuneResult:
    """(Re)write ``trials.csv``, ``best.txt``, the plots and ``study.yaml`` from the storage."""
    from rl_lr.plots import save_figure
    from rl_lr.run_files import atomic_write_text, write_csv, write_yaml

    rows = trials_table(study)
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["number", "state", "value"]
    write_csv(out / "trials.csv", rows, columns)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = max(complete, key=lambda r: r["value"]) if complete else None
    notes: list[str] = []
    if best is not None:
        atomic_write_text(out / "best.txt", f"{best['spec']}\n")
    else:
        notes.append("no complete trial yet: no best.txt")
    objective = identity["settings"]["objective"]
    save_figure(plot_history(rows, ylabel=f"{objective} (mean over seeds)"), out / "history.png")
    importances: dict[str, float] = {}
    if len(complete) >= 2:
        try:
            importances = _importances(study)
        except (ValueError, RuntimeError) as err:
            notes.append(f"no parameter importance: {err}")
    else:
        notes.append("parameter importance needs at least 2 complete trials: no importance.png")
    if importances:
        save_figure(plot_importance(importances), out / "importance.png")
        write_csv(out / "importance.csv",
                  [{"param": k, "importance": v} for k, v in importances.items()],
                  ["param", "importance"])
    total = sum(int(r["env_steps"] or 0) for r in rows)
    counts = {state: sum(r["state"] == state for r in rows)
              for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
    write_yaml(out / "study.yaml", {
        "study_name": study.study_name, "storage": _hide_password(url), **identity,
        "trials": counts, "best": {"spec": best["spec"], "value": best["value"],
                                   "number": best["number"]} if best else None,
        "total_env_steps": total, "notes": notes,
    }, "rl-lr tune: the study's settings, search space and outcome (trials.csv has each trial).")
    return TuneResult(out, study.study_name, _hide_password(url),
                      best["spec"] if best else None, best["value"] if best else None,
                      rows, total, interrupted, notes)

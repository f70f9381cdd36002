"""One table of past runs, read from any number of rl-lr output directories: :func:`index_runs`.

Every kind of directory rl-lr writes is read (file names: :mod:`rl_lr.schema`):

- an **experiment** directory (``rl-lr bench``: ``experiment.yaml``, ``summary.csv``,
  ``timing.csv``): one row per finished run, from ``summary.csv`` (its run directories are not
  opened, so 100 000 runs index in seconds);
- a **range test** (``rl-lr find-lr``): an experiment directory with ``find_lr.csv``;
- a **study** (``rl-lr tune``: ``study.yaml``, ``trials.csv``, ``trials/<n>/seed_<s>/``): one
  row per finished run of a trial (its ``summary.json``), the trial's spec from ``trials.csv``;
- a **PBT** run (``rl-lr pbt``: ``pbt.yaml``, ``summary.json``): one row, the method as its
  policy and every member's env steps as its cost;
- a single **run** directory (``rl-lr train``: ``config.yaml``, ``summary.json``).

A directory that is none of these is searched below (``results/`` holds several experiments;
an experiment may hold range tests, as ``results/standard/find_lr/``); one where nothing is found,
or whose files are not what their names promise, stops the index with a one-line
:class:`RunIndexError` naming the path (the CLI prints it, exit code 2).

Each row has the :data:`COLUMNS`: where it comes from (``kind``, ``source``), the task (``env``,
``algo``, ``preset``, ``steps`` -- the budget), the LR policy (``lr`` label, ``lr_spec``, its
family ``policy`` and ``base_lr``, its peak scheduled LR, the base's for a controller), the
perturbation, optimizer, overrides (``set.*``), seed and trial, the scores
(``final_eval_return``, ``eval_auc``, ``steps_to_threshold``, ``diverged``) and the cost
(``timesteps`` trained, ``wall_time_s``; a PBT row's ``timesteps`` counts every member).

    >>> import tempfile, pathlib
    >>> try:
    ...     index_runs([pathlib.Path(tempfile.mkdtemp())])
    ... except RunIndexError as err:
    ...     print(str(err).split(": ", 1)[1][:29])
    not an rl-lr output directory
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from rl_lr import schema
from rl_lr.errors import SpecError
from rl_lr.experience.policies import base_lr, policy_family

__all__ = ["COLUMNS", "KIND", "KINDS", "RunIndex", "RunIndexError", "index_runs"]

KINDS = ("experiment", "find_lr", "study", "pbt", "run")
KIND, SOURCE, PRESET, POLICY, BASE_LR, OVERRIDES = ("kind", "source", "preset", "policy",
                                                    "base_lr", "overrides")
COLUMNS = (
    KIND, SOURCE, schema.RUN_ID, schema.ENV, schema.ALGO, PRESET, schema.STEPS, schema.LR,
    schema.LR_SPEC, POLICY, BASE_LR, schema.PERTURB, schema.PERTURB_SPEC, schema.OPTIMIZER,
    schema.OPTIMIZER_SPEC, OVERRIDES, schema.SEED, schema.TRIAL, schema.FINAL_EVAL_RETURN,
    schema.EVAL_AUC, "reward_threshold", schema.STEPS_TO_THRESHOLD, schema.DIVERGED,
    schema.TIMESTEPS, schema.WALL_TIME_S,
)
NUMERIC = frozenset({schema.STEPS, BASE_LR, schema.SEED, schema.TRIAL, schema.FINAL_EVAL_RETURN,
                     schema.EVAL_AUC, "reward_threshold", schema.STEPS_TO_THRESHOLD,
                     schema.DIVERGED, schema.TIMESTEPS, schema.WALL_TIME_S})
_INTEGER = frozenset({schema.STEPS, schema.SEED, schema.TRIAL, schema.STEPS_TO_THRESHOLD,
                      schema.DIVERGED, schema.TIMESTEPS})
_SKIP = frozenset({schema.RUNS_DIR, schema.REPORT_DIR, schema.CHECKPOINT_DIR,
                   schema.TRIALS_DIR})
_MARKERS = (schema.EXPERIMENT_YAML, schema.STUDY_YAML, schema.PBT_YAML, schema.CONFIG_YAML)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 10x faster on run_ids
_MAX_DEPTH = 4  # how deep below a given directory outputs are looked for

Row = dict[str, Any]


class RunIndexError(SpecError):
    """A directory is not an rl-lr output directory, or one of its files is malformed."""


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def _number(column: str, value: Any) -> int | float | None:
    """A numeric cell: an int for :data:`_INTEGER` columns when whole, else a float."""
    if isinstance(value, bool):
        return int(value)
    if column in _INTEGER:
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if column in _INTEGER and math.isfinite(number) and number.is_integer():
        return int(number)
    return number



def _row(kind: str, source: Path, values: Mapping[str, Any]) -> Row:
    row: Row = {}
    for column in COLUMNS:  # typed cells: None when empty, numbers for NUMERIC columns
        value = values.get(column)
        row[column] = None if value is None or value == "" else _number(column, value) \
            if column in NUMERIC else value if isinstance(value, str) else str(value)
    row[KIND], row[SOURCE] = kind, str(source)
    row[POLICY] = policy_family(row[schema.LR_SPEC])
    row[BASE_LR] = base_lr(row[schema.LR_SPEC])
    return row


def _spec_text(value: Any) -> str:
    """A spec as ``config.yaml`` / ``study.yaml`` hold it (text, ``None``, a mapping)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _overrides(values: Mapping[str, Any] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((values or {}).items()))


# --------------------------------------------------------------------------------------------
# Reading each kind
# --------------------------------------------------------------------------------------------


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise RunIndexError(f"{path}: not an rl-lr {path.name} (missing columns: "
                                    f"{', '.join(missing)})")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RunIndexError(f"{path}: unreadable: {err}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RunIndexError(f"{path}: not a readable JSON file: {err}") from None
    if not isinstance(data, dict):
        raise RunIndexError(f"{path}: not an rl-lr {path.name} (a JSON object expected)")
    return data


def _read_mapping(path: Path, keys: Sequence[str] = ()) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        text = " ".join(str(err).split())
        raise RunIndexError(f"{path}: not a readable YAML file: {text[:200]}") from None
    if not isinstance(data, dict) or any(k not in data for k in keys):
        raise RunIndexError(f"{path}: not an rl-lr {path.name} (a mapping with "
                            f"{', '.join(keys) or 'keys'} expected)")
    return data


def _preset_of(experiment: Mapping[str, Any]) -> Any:
    """The rule ``rl_lr.experiment.plan`` applies for a run's preset: the budget's, then the
    per-axis overrides (label or value), then a ``set.preset`` axis."""
    default = str((experiment.get("budget") or {}).get("preset") or "default")
    overrides = experiment.get("overrides") or {}

    def preset(row: Mapping[str, str]) -> str:
        found = default
        for axis, per_value in overrides.items() if isinstance(overrides, dict) else ():
            if not isinstance(per_value, dict):
                continue
            for key in (row.get(axis), row.get(f"{axis}_spec")):
                entry = per_value.get(key) if key else None
                if isinstance(entry, dict):
                    found = str(entry.get("preset", found))
                    break
        return str(row.get(f"{schema.SET_PREFIX}preset") or found)

    return preset


def _experiment_rows(path: Path, kind: str) -> Iterator[Row]:
    experiment = _read_mapping(path / schema.EXPERIMENT_YAML)
    summary = path / schema.SUMMARY_CSV
    if not summary.exists():
        return  # planned, nothing finished yet
    rows = _read_csv(summary, (schema.RUN_ID, schema.ENV, schema.ALGO, schema.LR_SPEC))
    timing = {r[schema.RUN_ID]: r for r in _read_csv(path / schema.TIMING_CSV, (schema.RUN_ID,))
              } if (path / schema.TIMING_CSV).exists() else {}
    preset = _preset_of(experiment)
    axes = [k for k in (rows[0] if rows else {}) if k and k.startswith(schema.SET_PREFIX)]
    for row in rows:
        extra = {k[len(schema.SET_PREFIX):]: row[k] for k in axes}
        yield _row(kind, path, row | {
            PRESET: preset(row), OVERRIDES: _overrides(extra),
            schema.WALL_TIME_S: timing.get(row[schema.RUN_ID], {}).get(schema.WALL_TIME_S)})


def _summary_values(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: summary.get(k) for k in (schema.FINAL_EVAL_RETURN, schema.EVAL_AUC,
                                        "reward_threshold", schema.STEPS_TO_THRESHOLD,
                                        schema.DIVERGED, schema.TIMESTEPS, schema.WALL_TIME_S)}


def _run_values(config: Mapping[str, Any], where: Path) -> dict[str, Any]:
    run = config.get("run")
    if not isinstance(run, dict) or not run.get("env") or not run.get("algo"):
        raise RunIndexError(f"{where}: not an rl-lr {schema.CONFIG_YAML} (no run.env / run.algo)")
    perturb, optimizer = _spec_text(run.get("perturb")), _spec_text(run.get("optimizer"))
    return {schema.ENV: run["env"], schema.ALGO: run["algo"], schema.STEPS: run.get("steps"),
            schema.SEED: run.get("seed"), schema.LR_SPEC: _spec_text(run.get("lr")),
            schema.PERTURB: perturb or "none", schema.PERTURB_SPEC: perturb,
            schema.OPTIMIZER: optimizer or "none", schema.OPTIMIZER_SPEC: optimizer,
            PRESET: run.get("preset") or "default", OVERRIDES: _overrides(run.get("overrides"))}


def _single_run_rows(path: Path) -> Iterator[Row]:
    config = _read_mapping(path / schema.CONFIG_YAML)
    values = _run_values(config, path / schema.CONFIG_YAML)
    if not (path / schema.SUMMARY_JSON).exists():
        return  # not finished
    summary = _read_json(path / schema.SUMMARY_JSON)
    values[schema.LR] = values[schema.LR_SPEC]
    yield _row("run", path, values | _summary_values(summary) | {schema.RUN_ID: path.name})


def _study_rows(path: Path) -> Iterator[Row]:
    study = _read_mapping(path / schema.STUDY_YAML, ("settings",))
    settings = study["settings"]
    if not isinstance(settings, dict) or not settings.get("env") or not settings.get("algo"):
        raise RunIndexError(f"{path / schema.STUDY_YAML}: not an rl-lr {schema.STUDY_YAML} "
                            "(no settings.env / settings.algo)")
    specs: dict[int, str] = {}
    if (path / schema.TRIALS_CSV).exists():
        for r in _read_csv(path / schema.TRIALS_CSV, ("number",)):
            if r.get("spec") and r["number"].isdigit():
                specs[int(r["number"])] = r["spec"]
    perturb = _spec_text(settings.get("perturb"))
    common = {schema.ENV: settings["env"], schema.ALGO: settings["algo"],
              schema.STEPS: settings.get("steps"), PRESET: settings.get("preset") or "default",
              schema.PERTURB: perturb or "none", schema.PERTURB_SPEC: perturb,
              schema.OPTIMIZER: "none", OVERRIDES: _overrides(settings.get("overrides"))}
    trials = path / schema.TRIALS_DIR
    for trial in sorted(trials.iterdir()) if trials.is_dir() else ():
        if not trial.name.isdigit():
            continue
        for run in sorted(trial.glob("seed_*")):
            if not (run / schema.SUMMARY_JSON).exists():
                continue  # pruned or still running: not finished
            spec = specs.get(int(trial.name))
            if spec is None:  # trials.csv not (yet) written: the run's own config
                config = _read_mapping(run / schema.CONFIG_YAML)
                spec = _run_values(config, run / schema.CONFIG_YAML)[schema.LR_SPEC]
            summary = _read_json(run / schema.SUMMARY_JSON)
            yield _row("study", path, common | _summary_values(summary) | {
                schema.RUN_ID: f"{trial.name}/{run.name}", schema.LR: spec,
                schema.LR_SPEC: spec, schema.TRIAL: int(trial.name),
                schema.SEED: run.name.removeprefix("seed_")})


def _pbt_rows(path: Path) -> Iterator[Row]:
    pbt = _read_mapping(path / schema.PBT_YAML, ("method",))
    if not (path / schema.SUMMARY_JSON).exists():
        return
    summary = _read_json(path / schema.SUMMARY_JSON)
    agent: dict[str, Any] = pbt["agent"] if isinstance(pbt.get("agent"), dict) else {}
    perturb = _spec_text(agent.get("perturb"))
    perturb = "" if perturb in ("[]", "None") else perturb
    method = str(pbt["method"])
    yield _row("pbt", path, _summary_values(summary) | {
        schema.RUN_ID: path.name, schema.ENV: pbt.get("env"), schema.ALGO: pbt.get("algo"),
        schema.STEPS: pbt.get("steps_per_member"), schema.SEED: pbt.get("seed"),
        PRESET: agent.get("preset") or "default", schema.LR: method, schema.LR_SPEC: method,
        schema.PERTURB: perturb or "none", schema.PERTURB_SPEC: perturb,
        schema.OPTIMIZER: "none",
        schema.TIMESTEPS: summary.get("total_env_steps", summary.get(schema.TIMESTEPS))})


# --------------------------------------------------------------------------------------------
# Finding the outputs below a directory
# --------------------------------------------------------------------------------------------


def _kind(path: Path) -> str | None:
    if (path / schema.EXPERIMENT_YAML).is_file():
        return "find_lr" if (path / schema.FIND_LR_CSV).is_file() else "experiment"
    if (path / schema.STUDY_YAML).is_file():
        return "study"
    if (path / schema.PBT_YAML).is_file():
        return "pbt"
    if (path / schema.CONFIG_YAML).is_file():
        return "run"
    return None


def _subdirectories(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and p.name not in _SKIP
                      and not p.name.startswith((".", "_")) and ".partial" not in p.name)
    except OSError as err:
        raise RunIndexError(f"{path}: unreadable: {err.strerror}") from None


def discover(path: Path, depth: int = 0) -> Iterator[tuple[str, Path]]:
    """The rl-lr output directories at or below ``path`` (``(kind, directory)``), outer ones
    first; run, trial, report and checkpoint directories are not searched."""
    kind = _kind(path)
    if kind is not None:
        yield kind, path
        if kind in ("run", "pbt"):
            return
    if depth < _MAX_DEPTH:
        for sub in _subdirectories(path):
            yield from discover(sub, depth + 1)


_READERS: dict[str, Callable[[Path], Iterator[Row]]] = {
    "experiment": functools.partial(_experiment_rows, kind="experiment"),
    "find_lr": functools.partial(_experiment_rows, kind="find_lr"),
    "study": _study_rows, "pbt": _pbt_rows, "run": _single_run_rows}


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


@dataclass
class RunIndex:
    """Rows (``{column: value}``, ``None`` where empty) of every finished run found, and the
    directories they came from (``(kind, path)``).

    ``pandas.DataFrame(index.rows)`` loads it (rl-lr itself does not need pandas), and so does
    ``pandas.read_csv`` on :meth:`write_csv`'s file.
    """

    rows: list[Row]
    sources: list[tuple[str, Path]] = dataclasses.field(default_factory=list)
    columns: tuple[str, ...] = COLUMNS

    def __len__(self) -> int:
        return len(self.rows)

    def write_csv(self, stream: TextIO, columns: Sequence[str] | None = None) -> None:
        """Write the rows as CSV (empty cells for ``None``), ``columns`` (default: all)."""
        columns = list(columns or self.columns)
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])

    def replace(self, rows: list[Row]) -> RunIndex:
        """The same index with other rows (a query's result)."""
        return RunIndex(rows, self.sources, self.columns)


def index_runs(paths: Iterable[Path | str]) -> RunIndex:
    """Every finished run in the rl-lr output directories at or below ``paths`` (module
    docstring), in the order found; a directory reached twice is read once.

    Raises:
        RunIndexError: a path that does not exist, holds no rl-lr output, or whose files are
            malformed (one line naming the path).
    """
    rows: list[Row] = []
    sources: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise RunIndexError(f"{path}: no such directory")
        if not path.is_dir():
            raise RunIndexError(f"{path}: not a directory (give an rl-lr output directory)")
        found = list(discover(path))
        if not found:
            raise RunIndexError(f"{path}: not an rl-lr output directory (no "
                                f"{', '.join(_MARKERS[:-1])} or {_MARKERS[-1]} here or below)")
        for kind, directory in found:
            key = directory.resolve()
            if key in seen:
                continue
            seen.add(key)
            sources.append((kind, directory))
            rows.extend(_READERS[kind](directory))
    return RunIndex(rows, sources)

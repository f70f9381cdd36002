"""Per-run files: atomic writes, the CSV cell format, versions and the git commit.

Every file is written to a temporary file in the same directory and moved into place with
``os.replace``, so a reader (or a crash) never sees half a file.

Example:
    >>> import tempfile, pathlib
    >>> from rl_lr.files import write_csv
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> write_csv(out, [{"timesteps": 0, "x": 0.1}, {"timesteps": 8, "y": float("nan")}],
    ...           ["timesteps", "x", "y"])
    >>> print(out.read_text(), end="")
    timesteps,x,y
    0,0.1,
    8,,nan
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from rl_lr.errors import SpecError
from rl_lr.schema import CONFIG_YAML, EXPERIMENT_YAML, PBT_YAML, STUDY_YAML

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "cell",
    "check_output_kind",
    "git_commit",
    "read_csv",
    "read_yaml",
    "run_n_envs",
    "versions",
    "write_csv",
    "write_json",
    "write_yaml",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a written file is a normal file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def cell(value: Any) -> str:
    """One CSV cell: integers as is, floats in their shortest exact form (``repr``), NaN as
    ``nan``, infinities as ``inf`` / ``-inf``, a missing value (``None``) as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write ``rows`` under the header ``columns`` (missing keys are empty cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    atomic_write_text(path, buffer.getvalue())


def read_csv(path: Path, *, missing_ok: bool = False) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line, each ``{column: cell text}``; ``[]`` for a
    missing file when ``missing_ok`` (else ``FileNotFoundError``)."""
    if missing_ok and not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_yaml(path: Path, data: Mapping[str, Any], header: str = "") -> None:
    """Write ``data`` as block-style YAML in insertion order, after a ``#`` comment header."""
    text = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, width=100)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    atomic_write_text(path, comment + text)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing a mapping that repeats a key (PyYAML keeps the last one
    silently: a second ``lr`` label of an experiment would drop the first policy)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<': a merge may repeat keys on purpose
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice in one mapping (YAML would keep only "
                    "the last); give each its own key", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str = "file") -> Any:
    """Read a YAML file; an unreadable file, broken YAML or a key repeated in one mapping
    raises a one-line ``SpecError`` naming ``what`` it is, the path and where the YAML breaks."""

    try:
        with path.open() as handle:
            return yaml.load(handle, Loader=_UniqueKeyLoader)  # a SafeLoader
    except OSError as err:
        raise SpecError(f"cannot read {what} {str(path)!r}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: broken YAML{where}: {problem}") from None


#: The file marking each kind of rl-lr output directory, and what that kind is called.
OUTPUT_KINDS = {EXPERIMENT_YAML: "an experiment directory (rl-lr bench)",
                STUDY_YAML: "a study (rl-lr tune)", PBT_YAML: "a PBT run (rl-lr pbt)",
                CONFIG_YAML: "a run directory (rl-lr train)"}


def check_output_kind(out: Path, own: str) -> None:
    """Refuse ``out`` when it holds another kind of rl-lr output than the one marked by the
    file ``own`` (:data:`OUTPUT_KINDS`), before anything is written into it.

    >>> import tempfile
    >>> here = Path(tempfile.mkdtemp())
    >>> _ = (here / CONFIG_YAML).write_text("run: {}")
    >>> try:
    ...     check_output_kind(here, STUDY_YAML)
    ... except SpecError as err:
    ...     print(str(err).split(" is ", 1)[1])
    a run directory (rl-lr train), not a study (rl-lr tune); choose another --out

    Raises:
        SpecError: naming what ``out`` is.
    """
    if not out.is_dir() or (out / own).is_file():
        return
    for marker, kind in OUTPUT_KINDS.items():
        if marker != own and (out / marker).is_file():
            raise SpecError(f"--out {out} is {kind}, not {OUTPUT_KINDS[own]}; "
                            "choose another --out")


def run_n_envs(run_dir: Path) -> int:
    """The vectorised training envs of the run in ``run_dir`` (its ``config.yaml``), 1 when
    that file is missing or unreadable. Read with libyaml where PyYAML has it (a collection
    reads one per group: the pure-Python parser was most of a large collection's time)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        config = yaml.load((run_dir / CONFIG_YAML).read_text(), Loader=loader)  # a SafeLoader
        return int(config["agent"]["n_envs"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return 1


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON (non-finite floats become ``null``)."""

    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, Mapping):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    atomic_write_text(path, json.dumps(finite(dict(data)), indent=2) + "\n")


def versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that decide a run's numbers."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("rl-lr", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "mujoco",
                 "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit(start: Path | None = None) -> str | None:
    """The commit checked out where rl-lr's source lives, or ``None`` (not a git checkout,
    no git). Read-only: runs ``git rev-parse HEAD``."""
    where = start or Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None

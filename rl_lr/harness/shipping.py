"""Run directories that travel: a run trained on another machine comes back to the driver as
its files, and the driver writes them with the rule every backend follows (a private
``<run_id>.partial-<pid>`` directory renamed to ``<run_id>`` once complete), so a run directory
on the driver exists if and only if its run finished, wherever it ran.

A shared filesystem is an optimisation, detected rather than assumed: the driver creates a
*probe* directory with a random name next to the run directories (:func:`make_probe`); a task
that sees it (:func:`sees_probe`) writes its run directory in place, as the local pool does,
and a task that does not trains into a scratch directory of its own machine and returns the
files (:func:`pack_run`), which the driver writes (:func:`write_run`).

    >>> import pathlib, tempfile
    >>> here = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (here / "scratch").mkdir(), (here / "scratch" / "summary.json").write_text("{}")
    >>> files = pack_run(here / "scratch")
    >>> write_run(here / "runs" / "abc", files), sorted(p.name for p in (here / "runs").iterdir())
    (True, ['abc'])
    >>> write_run(here / "runs" / "abc", files)  # already there: written once only
    False
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from rl_lr.schema import CHECKPOINT_DIR, MODEL_ZIP, SUMMARY_JSON

__all__ = ["PARTIAL", "make_probe", "pack_run", "remove_partials", "sees_probe", "write_run"]

PARTIAL = ".partial-"
PROBE = ".shared-fs"  # + PARTIAL + a random token: a leftover is cleaned like any partial run


def make_probe(directory: Path) -> Path:
    """Create and return a uniquely named empty directory in ``directory``; a task seeing it
    at the same path shares the driver's filesystem. Its name ends like an interrupted run's
    (``*.partial-*``), so a probe left by a killed driver is removed with those."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / f"{PROBE}{PARTIAL}{uuid.uuid4().hex}"
    probe.mkdir()
    return probe


def sees_probe(probe: str | None) -> bool:
    """Whether this process sees the driver's probe directory (a shared filesystem)."""
    return probe is not None and os.path.isdir(probe)


def pack_run(directory: Path, *, model: bool = False) -> dict[str, bytes]:
    """A finished run directory's files by relative path (POSIX separators); ``model.zip``
    and ``checkpoint/`` only with ``model``. Runs' files are small: kilobytes per run."""
    files = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not model and relative.parts[0] in (MODEL_ZIP, CHECKPOINT_DIR):
            continue
        if path.is_file():
            files[relative.as_posix()] = path.read_bytes()
    return files


def write_run(final: Path, files: dict[str, bytes]) -> bool:
    """Write a shipped run as ``final``: into ``<final>.partial-<pid>``, then renamed (atomic).
    A run already complete at ``final`` is kept and the shipped copy dropped; returns whether
    this call wrote it.

    Raises:
        ValueError: a path that would leave the run directory.
    """
    if (final / SUMMARY_JSON).exists():
        return False
    partial = final.with_name(f"{final.name}{PARTIAL}{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for name, data in files.items():
            target = partial / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise ValueError(f"shipped run {final.name}: bad file name {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            os.rename(partial, final)  # atomic
        except OSError:
            if not (final / SUMMARY_JSON).exists():
                raise
            shutil.rmtree(partial, ignore_errors=True)  # another copy landed first
            return False
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return True


def remove_partials(final: Path) -> None:
    """Remove what attempts at the run ``final`` left next to it (``<final>.partial-*``),
    e.g. an attempt on a node that died, on a shared filesystem."""
    for path in final.parent.glob(f"{final.name}{PARTIAL}*"):
        shutil.rmtree(path, ignore_errors=True)

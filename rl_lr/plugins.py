"""Importing a user's plugin (a module name or a ``.py`` file) so that what it registers -- LR
policies, controllers, perturbations, optimizers -- is known to the grammar.

Used by ``rl-lr --import``, by an experiment file's ``imports:`` and by every worker process of
an experiment (so a plugin's policies exist where the runs execute).

    >>> import_plugin("json")  # any importable module
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from rl_lr.errors import UsageError

__all__ = ["import_plugin"]


def import_plugin(target: str) -> None:
    """Import a module by name, or a Python file by path.

    Raises:
        UsageError: no such file, or the plugin failed to import (one line, its own error).
    """
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.is_file():
                raise UsageError(f"rl-lr: --import: no such file {target!r}")
            spec = importlib.util.spec_from_file_location(f"rl_lr_plugin_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise UsageError(f"rl-lr: --import: cannot import {target!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(target)
    except UsageError:
        raise
    except Exception as err:  # the plugin's own failure, reported in one line
        raise UsageError(f"rl-lr: --import {target}: {type(err).__name__}: {err}") from None

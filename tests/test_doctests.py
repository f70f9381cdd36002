"""The docstring examples of ``envs/`` and ``agents/``.

Those packages live at the repository's top and install as ``rl_lr.envs`` and
``rl_lr.agents``, so pytest's ``--doctest-modules`` (which collects ``rl_lr/``) does not see
them: each of their modules is imported under its installed name and its examples run here.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    f"rl_lr.{'.'.join(path.relative_to(ROOT).with_suffix('').parts)}".removesuffix(".__init__")
    for top in ("envs", "agents") for path in (ROOT / top).rglob("*.py"))


def test_every_module_of_envs_and_agents_is_here() -> None:
    assert "rl_lr.agents.zoo" in MODULES and "rl_lr.envs.dynamics" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

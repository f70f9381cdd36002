"""The examples run, and a user-written controller works like a built-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rl_lr
from rl_lr.cli import main
from rl_lr.plugins import import_plugin
from tests.helpers import make_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_controller.py"


def test_custom_controller_registers_and_drives_a_real_agent() -> None:
    import_plugin(str(EXAMPLE))
    controller = rl_lr.parse("halve_on_dip(cosine(1e-3), factor=0.5)")
    assert rl_lr.parse(repr(controller)) == controller and controller.stateful
    model = make_model("ppo", n_steps=128)
    hook = rl_lr.attach(model, controller, total_timesteps=1024)
    model.learn(1024)
    assert hook.attached.policies["policy"].state.multiplier < 1.0  # it acted


def test_cli_import_makes_the_example_available(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--import", str(EXAMPLE), "lr", "halve_on_dip(1e-3)", "--points", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["progress,lr", "0.0,0.001", "1.0,0.001"]


def test_cli_import_errors_are_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "rl_lr.cli", "--import", "missing.py", "list"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no such file 'missing.py'" in result.stderr

"""The harness: experiment files, validation, the local pool, this process (serial), Ray,
crash-safe resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rl_lr.cli.main import build_parser
from rl_lr.experiment import ExperimentError, experiment_from_dict, load_experiment, plan_runs
from rl_lr.experiment.file import SUITES_DIR
from rl_lr.harness import run_experiment
from rl_lr.harness.backends import make_backend
from rl_lr.spec import SpecError
from tests.helpers import sigint_as_in_a_terminal

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.yaml"
TINY = {"n_steps": [64], "batch_size": [64], "n_epochs": [2]}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_grid_expands_with_labels_overrides_and_explicit_runs() -> None:
    experiment = experiment_from_dict({
        "name": "t", "budget": {"steps": 512, "eval_every": 256},
        "grid": {"env": ["CartPole-v1", "Pendulum-v1"], "algo": ["ppo"],
                 "lr": {"cos": "cosine(1e-3)", "const": 3e-4},
                 "perturb": {"clean": None, "noisy": "gaussian(std=0.1)"},
                 "seed": [0, 1], "set": {"n_steps": [64, 128]}},
        "overrides": {"env": {"Pendulum-v1": {"steps": 1024, "set": {"gamma": 0.9}}}},
        "runs": [{"env": "CartPole-v1", "algo": "a2c", "lr": "linear(7e-4)", "seed": 3}],
    })
    plan = plan_runs(experiment)
    assert len(plan) == 2 * 2 * 2 * 2 * 2 + 1
    pendulum = [r for r in plan if r.config.env == "Pendulum-v1"]
    assert {r.config.steps for r in pendulum} == {1024}
    assert all(r.config.overrides["gamma"] == 0.9 for r in pendulum)
    assert {r.labels["lr"] for r in plan} == {"cos", "const", "linear(7e-4)"}
    assert len({r.run_id for r in plan}) == len(plan)
    again = plan_runs(experiment)
    assert [r.run_id for r in again] == [r.run_id for r in plan]  # identity is stable


def test_a_list_of_grids_plans_each_cross_product_and_names_errors_by_index() -> None:
    experiment = experiment_from_dict({
        "name": "t", "budget": {"steps": 512},
        "grid": [{"env": ["CartPole-v1"], "algo": ["ppo"], "lr": ["constant(1e-3)",
                                                                  "linear(1e-3)"],
                  "seed": [0, 1]},
                 {"env": ["Pendulum-v1"], "algo": ["sac"], "lr": ["constant(1e-3)"],
                  "optimizer": {"sf": "schedulefree_adamw"}, "seed": [0]}],
    })
    plan = plan_runs(experiment)
    assert [(r.config.env, r.labels["lr"], r.labels["optimizer"]) for r in plan] == [
        ("CartPole-v1", "constant(1e-3)", "none"), ("CartPole-v1", "constant(1e-3)", "none"),
        ("CartPole-v1", "linear(1e-3)", "none"), ("CartPole-v1", "linear(1e-3)", "none"),
        ("Pendulum-v1", "constant(1e-3)", "sf")]
    broken = experiment_from_dict({**experiment.to_dict(), "grid": [
        experiment.grid[0], {"env": ["CartPole-v1"], "algo": ["ppo"], "lr": {"t": "cosin(1)"}}]})
    with pytest.raises(ExperimentError) as caught:
        plan_runs(broken)
    assert any(e.startswith("grid[1].lr.t:") for e in caught.value.errors)
    assert any(e.startswith("grid[1].seed: required") for e in caught.value.errors)
    with pytest.raises(ExperimentError, match="grid: must be a mapping of axes, or a list"):
        experiment_from_dict({"name": "t", "grid": ["CartPole-v1"]})


def test_a_base_lr_axis_fills_every_lr_spec_and_labels_the_runs(tmp_path: Path) -> None:
    data = {"name": "t", "budget": {"steps": 128, "eval_every": 64, "eval_episodes": 1},
            "grid": {"env": ["CartPole-v1"], "algo": ["ppo"], "seed": [0],
                     "lr": {"constant": "constant({base_lr})",
                            "kl": "kl_adaptive({base_lr}, target=0.01)"},
                     "base_lr": {"x0.1": "1e-4", "x1": 1e-3}, "set": {"n_steps": [64]}}}
    plan = plan_runs(experiment_from_dict(data))
    assert [(r.labels["lr"], r.labels["base_lr"], r.config.to_dict()["lr"]) for r in plan] == [
        ("constant", "x0.1", "constant(0.0001)"), ("kl", "x0.1", "kl_adaptive(0.0001, "
                                                    "target=0.01)"),
        ("constant", "x1", "constant(0.001)"), ("kl", "x1", "kl_adaptive(0.001, target=0.01)")]
    centred = {**data, "grid": {**data["grid"], "base_lr": {"centre": "1e-3",
                                                            "multiples": [0.1, 1]}}}
    assert [(r.labels, r.run_id) for r in plan_runs(experiment_from_dict(centred))] == [
        (r.labels, r.run_id) for r in plan]  # the same runs, labelled x<multiple>
    out = tmp_path / "out"
    run_experiment(experiment_from_dict(data), out, backend="serial", quiet=True, report=False)
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert sorted((r["lr"], r["base_lr"]) for r in rows) == [
        ("constant", "x0.1"), ("constant", "x1"), ("kl", "x0.1"), ("kl", "x1")]
    groups = list(csv.DictReader((out / "metrics.csv").open()))
    assert sorted((g["lr"], g["base_lr"]) for g in groups) == sorted(
        (r["lr"], r["base_lr"]) for r in rows)  # one group per policy and base LR
    problems = {**data, "grid": {**data["grid"], "lr": {"fixed": "constant(1e-3)",
                                                        "bad": "cosin({base_lr})"},
                                 "base_lr": [1e-3, -1]}}
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(problems)
    assert caught.value.errors == [
        "grid.base_lr: a list (or label: value mapping) of LRs > 0, or {centre: LR, "
        "multiples: [numbers > 0]}, got [0.001, -1]",
        "grid.lr: 'constant(1e-3)' has no {base_lr} to fill (a grid with a base_lr axis "
        "varies the base LR of every lr spec)"]
    with pytest.raises(ExperimentError) as caught:
        plan_runs(experiment_from_dict({**problems, "grid": {**problems["grid"],
                                                               "lr": {"bad": "cosin({base_lr})"},
                                                               "base_lr": [1e-3]}}))
    assert caught.value.errors[0].startswith("grid[base_lr=0.001].lr.bad: ")
    no_axis = {**data, "grid": {k: v for k, v in data["grid"].items() if k != "base_lr"}}
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(no_axis)
    assert caught.value.errors == [
        f"grid.lr: {spec!r} has {{base_lr}} but the grid has no base_lr axis to fill it (add "
        "base_lr: [LR, ...] or write the LR)"
        for spec in ("constant({base_lr})", "kl_adaptive({base_lr}, target=0.01)")]


@pytest.mark.parametrize("suite", sorted(p.name for p in SUITES_DIR.glob("*.yaml")))
def test_every_shipped_experiment_plans(suite: str) -> None:
    plan = plan_runs(load_experiment(SUITES_DIR / suite))
    assert plan and len({r.run_id for r in plan}) == len(plan)
    if suite == "lr_robustness.yaml":  # 7 base LRs, 1/10x to 10x the centre, per policy
        for env, centre in (("CartPole-v1", 4.618e-3), ("Pendulum-v1", 1e-3)):
            starts = {r.labels["base_lr"]: float(r.config.to_dict()["lr"][9:-1]) for r in plan
                      if r.config.env == env and r.labels["lr"] == "constant"}
            assert list(starts) == ["x0.1", "x0.2154", "x0.4642", "x1", "x2.154", "x4.642",
                                    "x10"]
            assert starts["x1"] == centre
            ratios = [starts[label] / centre for label in starts]
            assert ratios == pytest.approx([10 ** (k / 3) for k in range(-3, 4)], rel=1e-3)


def test_metrics_time_regime_switches_in_all_envs_steps(tmp_path: Path) -> None:
    """``switch(unit=steps)`` counts each vectorised env's own steps: with 4 envs, the switch
    at 100 steps is at SB3 timestep 400 (metrics.csv's switch_drop is measured there)."""
    from rl_lr.results.scores import switch_steps

    experiment = experiment_from_dict({
        "name": "t", "budget": {"steps": 4000, "n_envs": 4},
        "grid": {"env": ["CartPole-v1"], "algo": ["ppo"], "lr": ["constant(1e-3)"],
                 "perturb": ["switch(at=[100], scale=[1, 5], unit=steps)",
                             "switch(at=[0.5], scale=[1, 5])"], "seed": [0]}})
    by_steps, by_fraction = plan_runs(experiment)
    for run in (by_steps, by_fraction):
        (tmp_path / run.run_id).mkdir()
        (tmp_path / run.run_id / "config.yaml").write_text("agent: {n_envs: 4}\n")
    for run, expected in ((by_steps, [400]), (by_fraction, [2000])):
        assert switch_steps(run.config.perturb, run.config.steps,
                            tmp_path / run.run_id) == expected


def test_validation_reports_every_problem_at_once_with_yaml_paths() -> None:
    experiment = experiment_from_dict({
        "name": "bad", "budget": {"steps": 512},
        "grid": {"env": ["CartPole-v1", "Pendulum-v1"], "algo": ["dqn"],
                 "lr": {"good": "cosine(1e-3)", "typo": "cosin(1e-3)", "neg": "constant(-1)"},
                 "perturb": {"x": "gausian(std=1)"}, "seed": [0], "colour": ["red"]},
    })
    with pytest.raises(ExperimentError) as caught:
        plan_runs(experiment)
    errors = caught.value.errors
    assert any(e.startswith("grid.lr.typo:") and "did you mean 'cosine'" in e for e in errors)
    assert any(e.startswith("grid.lr.neg:") and "finite number > 0" in e for e in errors)
    assert any(e.startswith("grid.perturb.x:") and "gaussian" in e for e in errors)
    assert any(e.startswith("grid.colour:") and "unknown axis" in e for e in errors)
    assert "\n" not in str(caught.value)

    incompatible = experiment_from_dict({
        "name": "bad2", "budget": {"steps": 512},
        "grid": {"env": ["CartPole-v1", "Pendulum-v1"], "algo": ["dqn", "sac"],
                 "lr": ["kl_adaptive(1e-3)"], "seed": [0]},
    })
    with pytest.raises(ExperimentError) as caught:
        plan_runs(incompatible)
    text = " ".join(caught.value.errors)
    assert "env=Pendulum-v1, algo=dqn" in text and "env=CartPole-v1, algo=sac" in text
    assert "kl_adaptive" in text


TINY_GRID = {"env": ["CartPole-v1"], "algo": ["ppo"], "lr": ["cosine(1e-3)"], "seed": [0]}


@pytest.mark.parametrize(("parts", "message"), [
    ({"grid": {**TINY_GRID, "seed": [-1]}}, "grid.seed: seeds are integers >= 0, got -1"),
    ({"grid": {**TINY_GRID, "seed": [0.5]}}, "grid.seed: seeds are integers >= 0, got 0.5"),
    ({"runs": [{"env": "CartPole-v1", "algo": "ppo", "lr": "cosine(1e-3)", "label": "a"},
               {"env": "CartPole-v1", "algo": "ppo", "lr": "constant(1e-3)", "label": "a"}]},
     "runs[0], runs[1]: labelled alike"),
    ({"grid": TINY_GRID, "overrides": {"env": {"CartPole-v2": {"steps": 128}}}},
     "overrides.env.CartPole-v2: no env of the experiment is 'CartPole-v2' (known: "
     "CartPole-v1)"),
])
def test_seeds_labels_and_overrides_are_checked_when_planning(parts: dict[str, Any],
                                                              message: str) -> None:
    """A seed int() would have read (-1, or 0.5 as 0); one label on two different runs (the
    report would pool them as one policy's seeds); an override that applies to no run."""
    experiment = experiment_from_dict({"name": "bad", "budget": {"steps": 64}, **parts})
    with pytest.raises(ExperimentError) as caught:
        plan_runs(experiment)
    assert any(message in e for e in caught.value.errors), caught.value.errors


def test_an_experiment_name_is_a_plain_name() -> None:
    with pytest.raises(ExperimentError, match="name: a plain name without /"):
        experiment_from_dict({"name": "../elsewhere", "budget": {"steps": 64},
                              "grid": TINY_GRID})


def test_a_key_given_twice_in_an_experiment_file_is_refused(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys: the first policy would vanish silently."""
    twice = tmp_path / "twice.yaml"
    twice.write_text("name: x\nbudget: {steps: 64}\ngrid: {env: [CartPole-v1], algo: [ppo], "
                     "seed: [0], lr: {a: cosine(1e-3), a: constant(1e-3)}}\n")
    with pytest.raises(SpecError, match=r"line 3, column \d+: key 'a' given twice"):
        load_experiment(twice)


def test_broken_yaml_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngrid: {env: [CartPole-v1\n")
    with pytest.raises(SpecError, match=r"broken YAML at line \d+"):
        load_experiment(bad)
    result = subprocess.run([sys.executable, "-m", "rl_lr.cli", "bench", str(bad), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.fixture(scope="module")
def smoke_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("smoke") / "local"
    result = run_experiment(SMOKE, out, workers=2, quiet=True)
    return out, result


def test_local_pool_runs_the_smoke_suite(smoke_local: tuple[Path, Any]) -> None:
    out, result = smoke_local
    assert result.planned == result.finished == 8 and not result.failed
    summary = _rows(out / "summary.csv")
    assert len(summary) == 8 and len({r["run_id"] for r in summary}) == 8
    assert {r["lr"] for r in summary} == {"cosine", "plateau"}
    assert {r["perturb"] for r in summary} == {"clean", "noise"}
    for row in summary:
        assert (out / "runs" / row["run_id"] / "progress.csv").exists()
    metrics = _rows(out / "metrics.csv")
    assert len(metrics) == 4
    for row in metrics:
        assert row["runs"] == "2"
        assert float(row["final_iqm_low"]) <= float(row["final_iqm"]) <= float(
            row["final_iqm_high"])
        assert (row["sensitivity"] != "") == (row["perturb"] == "noise")
    curves = _rows(out / "curves.csv")
    assert {"eval_return_mean", "lr", "train_return"} <= {r["metric"] for r in curves}
    experiment = yaml.safe_load((out / "experiment.yaml").read_text())
    assert sorted(experiment["run_ids"]) == sorted(r["run_id"] for r in summary)
    resolved = plan_runs(load_experiment(out / "experiment.yaml"))  # rerunnable as written
    assert [run.run_id for run in resolved] == experiment["run_ids"]
    again = run_experiment(SMOKE, out, workers=2, quiet=True)
    assert again.already_done == 8 and again.finished == 0


def test_ray_backend_gives_byte_identical_results(smoke_local: tuple[Path, Any],
                                                  tmp_path: Path) -> None:
    # Ray runs in a child process, as a user runs it: a Ray internal check failure aborts the
    # driver's whole process (seen with Ray 2.60), which must never take the test session along.
    pytest.importorskip("ray")
    local, _ = smoke_local
    command = [sys.executable, "-m", "rl_lr.cli", "bench", str(SMOKE), "--out", str(tmp_path),
               "--backend", "ray", "--workers", "2", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(_rows(tmp_path / "summary.csv")) == 8
    for name in ("summary.csv", "curves.csv", "metrics.csv"):
        assert (tmp_path / name).read_bytes() == (local / name).read_bytes(), name


def test_serial_backend_gives_byte_identical_results(smoke_local: tuple[Path, Any],
                                                     tmp_path: Path) -> None:
    """This process, one run after the other: the local pool's files, the caller's torch
    threads untouched; ``rl-lr bench --backend serial`` is accepted, with one worker only."""
    local, _ = smoke_local
    threads = torch.get_num_threads()
    result = run_experiment(SMOKE, tmp_path, backend="serial", quiet=True, report=False)
    assert result.finished == 8 and not result.failed
    assert torch.get_num_threads() == threads
    assert not list((tmp_path / "runs").glob("*.partial-*"))
    for name in ("summary.csv", "curves.csv", "metrics.csv"):
        assert (tmp_path / name).read_bytes() == (local / name).read_bytes(), name
    args = build_parser().parse_args(["bench", "--suite", "smoke", "--backend", "serial"])
    assert args.backend == "serial"
    with pytest.raises(SpecError, match="--backend serial runs one run at a time"):
        make_backend("serial", workers=2)


def test_sigkill_mid_experiment_then_restart_completes_exactly_the_missing_runs(
        tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rl_lr.cli", "bench", str(SMOKE), "--out", str(tmp_path),
               "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        finished = [p for p in runs.glob("*") if (p / "summary.json").exists()] \
            if runs.exists() else []
        if len(finished) >= 2:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job: the bench, fork server, workers
    process.wait(timeout=30)
    survivors = {p.name: (p / "summary.json").stat().st_mtime_ns
                 for p in runs.glob("*") if (p / "summary.json").exists()}
    assert 2 <= len(survivors) < 8

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"({len(survivors)} before this call)" in result.stderr
    summary = _rows(tmp_path / "summary.csv")
    assert len(summary) == 8 and len({r["run_id"] for r in summary}) == 8
    for run_id, mtime in survivors.items():  # finished runs were not redone
        assert (runs / run_id / "summary.json").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in runs.iterdir()) == sorted(r["run_id"] for r in summary)
    for row in summary:
        json.loads((runs / row["run_id"] / "summary.json").read_text())
        assert len(_rows(runs / row["run_id"] / "progress.csv")) >= 2


def test_user_registered_controller_runs_in_the_harness(tmp_path: Path) -> None:
    experiment = experiment_from_dict({
        "name": "plugin", "imports": [str(ROOT / "examples" / "custom_controller.py")],
        "budget": {"steps": 256, "eval_every": 128, "eval_episodes": 1},
        "grid": {"env": ["CartPole-v1"], "algo": ["ppo"],
                 "lr": {"dip": "halve_on_dip(cosine(1e-3))"}, "seed": [0],
                 "set": {**TINY, "n_envs": [1]}},
    })
    result = run_experiment(experiment, tmp_path, workers=1, quiet=True)
    assert result.finished == 1 and not result.failed, result.failed
    assert _rows(tmp_path / "summary.csv")[0]["lr_spec"] == "halve_on_dip(cosine(1e-3))"


@pytest.mark.parametrize("stop", ["ctrl_c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_cleanly_and_keeps_finished_runs(stop: str,
                                                                 tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the terminal's process group) and SIGTERM to the driver alone
    (``kill``, a batch scheduler's time limit) both stop the workers, collect the finished runs
    and exit 130 with one line."""
    command = [sys.executable, "-m", "rl_lr.cli", "bench", str(SMOKE), "--out", str(tmp_path),
               "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (
            runs.exists() and any((p / "summary.json").exists() for p in runs.iterdir())):
        time.sleep(0.2)
    if stop == "ctrl_c":
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    else:
        process.terminate()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted; run the same command again to finish" in stderr
    assert "Traceback" not in stderr
    finished = sorted(p.name for p in runs.iterdir() if (p / "summary.json").exists())
    assert finished and len(finished) < 8
    assert sorted(r["run_id"] for r in _rows(tmp_path / "summary.csv")) == finished


def test_a_diverging_run_is_recorded_and_the_experiment_goes_on(tmp_path: Path) -> None:
    experiment = experiment_from_dict({
        "name": "diverge", "budget": {"steps": 400, "eval_every": 100, "eval_episodes": 1},
        "grid": {"env": ["Pendulum-v1"], "algo": ["sac"],
                 "lr": {"sane": "constant(1e-3)", "huge": "constant(10)"}, "seed": [0],
                 "set": {"learning_starts": [32], "batch_size": [32], "buffer_size": [500],
                         "policy_kwargs": [{"net_arch": [4]}]}},
    })
    result = run_experiment(experiment, tmp_path, workers=2, quiet=True, report=False)
    assert result.finished == 2 and not result.failed
    rows = {r["lr"]: r for r in _rows(tmp_path / "summary.csv")}
    assert rows["huge"]["diverged"] in ("1", "True", "true")
    assert rows["sane"]["diverged"] in ("0", "False", "false")
    (reason,) = result.diverged.values()
    assert reason.startswith("at step ")


TWO_GRIDS = """\
name: two_grids
description: two grid entries that set different hyper-parameters
budget: {steps: 64, eval_every: 64, eval_episodes: 1}
grid:
  - env: [CartPole-v1]
    algo: [ppo]
    lr: {constant: "constant(1e-3)"}
    seed: [0]
    set: {n_steps: [32], batch_size: [32]}
  - env: [CartPole-v1]
    algo: [ppo]
    lr: {constant: "constant(1e-3)"}
    seed: [0]
    set: {n_steps: [64], n_epochs: [1]}
"""


def test_grid_entries_with_different_axes_run_and_are_titled_by_their_own(tmp_path: Path
                                                                           ) -> None:
    """Each entry's runs carry only its own ``set.*`` labels: the driver used to label runs by
    the first run's axes (a KeyError before anything ran), and a panel of the other entry was
    titled with empty ``set.batch_size=``."""
    from rl_lr.results import load_results
    from tests.helpers import run_yaml

    out = run_yaml(tmp_path, "two_grids", TWO_GRIDS)
    data = load_results(out)
    titles = sorted(data.panel_title(panel) for panel in data.panels)
    assert titles == ["CartPole-v1 · set.n_steps=32 · set.batch_size=32",
                      "CartPole-v1 · set.n_steps=64 · set.n_epochs=1"]

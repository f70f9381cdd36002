"""rl_lr.harness.cost and ``rl-lr bench --plan``: runs still to do and their estimated cost,
from the measured wall time of earlier runs, and the P(improvement) each number of seeds per
group detects with 80 % power; nothing runs, nothing is written."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from rl_lr.cli import main
from rl_lr.experiment import plan_runs
from rl_lr.experiment.file import SUITES_DIR, load_experiment
from rl_lr.harness import cost
from rl_lr.harness.cost import RunTiming, estimate_seconds, format_power, read_history
from rl_lr.results import REPS, SEED

ROOT = Path(__file__).resolve().parents[1]
STANDARD = ROOT / "results" / "standard"


def test_same_budget_uses_the_mean_wall_time() -> None:
    history = [RunTiming("CartPole-v1", "ppo", 1000, s) for s in (1.0, 2.0, 6.0)]
    seconds, basis = estimate_seconds("CartPole-v1", "ppo", 1000, history)
    assert seconds == pytest.approx(3.0) and "mean of 3 runs" in basis


def test_another_budget_scales_seconds_per_step() -> None:
    history = [RunTiming("CartPole-v1", "ppo", 1000, 2.0),
               RunTiming("CartPole-v1", "ppo", 4000, 4.0)]
    seconds, basis = estimate_seconds("CartPole-v1", "ppo", 2000, history)
    assert seconds == pytest.approx(2000 * (0.002 + 0.001) / 2) and "scaled" in basis


def test_no_history_is_said_not_guessed() -> None:
    history = [RunTiming("CartPole-v1", "ppo", 1000, 2.0)]
    seconds, basis = estimate_seconds("Pendulum-v1", "sac", 1000, history)
    assert math.isnan(seconds) and "no earlier runs" in basis


def test_runs_with_the_same_hyper_parameters_price_a_run_when_there_are_any() -> None:
    short = (("n_steps", "512"),)
    history = [RunTiming("InvertedPendulum-v5", "ppo", 1000, 2.0, short),
               RunTiming("InvertedPendulum-v5", "ppo", 1000, 8.0, (("n_steps", "2048"),)),
               RunTiming("InvertedPendulum-v5", "ppo", 1000, 6.0)]
    assert estimate_seconds("InvertedPendulum-v5", "ppo", 1000, history, short) == (
        2.0, "mean of 1 runs of this budget")
    seconds, basis = estimate_seconds("InvertedPendulum-v5", "ppo", 2000, history,
                                      (("n_steps", "64"),))
    assert seconds == pytest.approx(2 * (2.0 + 8.0 + 6.0) / 3)
    assert basis.endswith("steps, other hyper-parameters")


def test_history_keeps_the_hyper_parameters_an_experiment_set() -> None:
    """results/dose_precheck ran PPO at the preset's 2,048-step rollouts and at 512."""
    history = read_history([ROOT / "results" / "dose_precheck"])
    assert {t.hyperparams for t in history} == {(), (("n_steps", "512"),)}


def test_history_reads_the_committed_standard_experiment() -> None:
    history = read_history([STANDARD])
    assert len(history) == 1000
    assert {(t.env, t.algo) for t in history} >= {("CartPole-v1", "ppo"), ("Pendulum-v1", "sac")}


def test_plan_of_the_smoke_suite_prints_runs_and_core_hours(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smoke"
    code = main(["bench", "--suite", "smoke", "--out", str(out), "--plan", "--workers", "2",
                 "--history", str(STANDARD)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "8 runs planned, 0 finished already, 8 to run" in printed
    row = next(line for line in printed.splitlines() if line.strip().startswith("CartPole-v1"))
    assert row.split()[:4] == ["CartPole-v1", "ppo", "768", "8"]
    assert float(row.split()[4]) > 0 and "scaled from 600 runs" in row
    assert row.endswith('other hyper-parameters  batch_size=64 n_epochs=2 n_steps=64 '
                        'policy_kwargs={"net_arch": [16]}')  # the standard runs set none
    assert "core-hours" in printed and "on 2 worker(s)" in printed
    # after the cost table: the smoke suite's groups have 2 seeds each, so one power line,
    # which says the report will not judge them
    power = [line for line in printed.splitlines() if "per group" in line]
    assert printed.rstrip().endswith(power[-1]) and len(power) == 1
    assert power[0] == ("2 seeds per group: too few runs to judge (fewer than 4 a side): the "
                        "report gives no verdict")
    assert not out.exists()  # nothing written


def test_plan_of_a_finished_experiment_has_nothing_to_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--suite", "controllers_act", "--out",
                 str(ROOT / "results" / "controllers_act"), "--plan"])
    assert code == 0
    assert "140 runs planned, 140 finished already, 0 to run" in capsys.readouterr().out


def test_one_power_figure_per_number_of_seeds_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard experiment has 10 seeds per group on the PPO tasks, 5 under SAC."""
    asked = []

    def fake(n_x: int, n_y: int, power: float, **kwargs: object) -> float:
        asked.append((n_x, n_y, power, kwargs["reps"], kwargs["rng"]))
        return 1 - 1 / n_x

    monkeypatch.setattr(cost, "min_detectable_p", fake)
    plan = plan_runs(load_experiment(SUITES_DIR / "standard.yaml"))
    assert cost.detectable_improvements(plan) == {5: 0.8, 10: 0.9}
    assert asked == [(5, 5, 0.8, REPS, SEED), (10, 10, 0.8, REPS, SEED)]


def test_power_lines_say_seed_or_seeds() -> None:
    assert format_power({1: 0.8, 10: 0.8274}).splitlines() == [
        "1 seed per group: too few runs to judge (fewer than 4 a side): the report gives no "
        "verdict",
        "10 seeds per group: P(improvement) detectable with 80 % power >= 0.83"]
    assert format_power({}) == ""


def test_tuning_runs_do_not_count_as_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """An experiment with a protocol: only its test runs are compared by the report."""
    monkeypatch.setattr(cost, "min_detectable_p", lambda n_x, *args, **kwargs: float(n_x))
    runs = [SimpleNamespace(labels={"lr": "a", "phase": phase, "trial": trial, "seed": seed})
            for phase, trial, seeds in (("tune", "0", 3), ("tune", "1", 3), ("test", "", 5))
            for seed in map(str, range(seeds))]
    assert cost.detectable_improvements(runs) == {5: 5.0}  # type: ignore[arg-type]


def test_plan_of_a_protocol_counts_its_test_phase(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    """fair_smoke: 2 families x 2 configurations x 2 tuning seeds, then 2 families x 2 test
    seeds, priced like the tuning runs; the power line is that of the test seeds."""
    code = main(["bench", "--suite", "fair_smoke", "--out", str(tmp_path / "f"), "--plan",
                 "--history", str(STANDARD)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "12 runs planned, 0 finished already, 12 to run" in printed
    rows = [line.split() for line in printed.splitlines() if line.strip().startswith("CartPole")]
    assert [row[3] for row in rows] == ["8", "4"] and "test phase:" in printed
    assert "2 seeds per group: too few runs to judge" in printed


def test_a_missing_history_directory_is_refused(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    code = main(["bench", "--suite", "smoke", "--out", str(tmp_path / "o"), "--plan",
                 "--history", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--history" in err and "nope" in err
    assert not (tmp_path / "o").exists()

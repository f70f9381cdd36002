"""rl_lr.tuning.study and rl_lr.tuning.space: the search-space format, the study (interrupted and
resumed), the CLI's errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import rl_lr
from rl_lr.run import TrainConfig, train
from rl_lr.spec import SpecError
from rl_lr.tuning.space import Choice, Fixed, PolicyChoice, Range, parse_space
from rl_lr.tuning.study import TrialSeededSampler, TuneSettings, open_storage, run_study
from tests.helpers import sigint_as_in_a_terminal

RL_LR = [sys.executable, "-m", "rl_lr.cli"]
TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}
SPACE = {"policies": {
    "constant": {"lr": ["1e-4", "1e-2", "log"]},
    "cosine": {"lr": [1e-4, 1e-2, "log"], "end": [0, "1e-5"], "warmup": 0.1},
    "plateau": {"base": {"constant": {"lr": [1e-4, 1e-2, "log"]}},
                "factor": [0.1, 0.9], "patience": [2, 20]},
}}


def settings(**changes: Any) -> TuneSettings:
    base: dict[str, Any] = {"env": "CartPole-v1", "algo": "ppo", "steps": 256, "seeds": (0,),
                            "eval_every": 64, "eval_episodes": 2, "n_envs": 1,
                            "overrides": TINY}
    return TuneSettings(**(base | changes))


# -- the space ---------------------------------------------------------------------------------


def test_space_reads_ranges_choices_fixed_values_and_nested_policies() -> None:
    space = parse_space({"policies": {
        "cyclic": {"low": [1e-5, 1e-4, "log"], "high": [1e-3, 1e-2, "log"], "cycles": [1, 8],
                   "mode": {"choice": ["triangular", "triangular2"]}},
        "plateau": {"base": {"constant": {"lr": [1e-4, 1e-2, "log"]}, "cosine": {"lr": 1e-3}},
                    "patience": [2, 20, "int", "log"], "factor": 0.5},
    }})
    cyclic = space.root.options["cyclic"].arguments
    assert cyclic["low"] == Range(1e-5, 1e-4, log=True)
    assert cyclic["cycles"] == Range(1, 8, integer=True)  # an integer argument: integers
    assert cyclic["mode"] == Choice(("triangular", "triangular2"))
    plateau = space.root.options["plateau"].arguments
    assert isinstance(plateau["base"], PolicyChoice) and list(plateau["base"].options) == [
        "constant", "cosine"]
    assert plateau["factor"] == Fixed(0.5)
    assert plateau["patience"] == Range(2, 20, log=True, integer=True)
    assert space.policies == ["cyclic", "plateau"]


def test_sampled_policies_are_spec_strings_that_round_trip() -> None:
    space = parse_space(SPACE)
    params = {"policy": "plateau", "plateau.base.constant.lr": 3e-4, "plateau.factor": 0.25,
              "plateau.patience": 7}
    policy = space.sample(optuna.trial.FixedTrial(params))
    assert repr(policy) == "plateau(constant(0.0003), factor=0.25, patience=7)"
    assert rl_lr.parse(repr(policy)) == policy
    cosine = space.sample(optuna.trial.FixedTrial({"policy": "cosine", "cosine.lr": 1e-3,
                                                   "cosine.end": 1e-6}))
    assert rl_lr.parse(repr(cosine)) == rl_lr.cosine(1e-3, end=1e-6, warmup=0.1)


def test_spec_valued_arguments_are_read_once_when_the_space_loads() -> None:
    space = parse_space({"policies": {
        "plateau": {"base": "cosine(1e-3)", "factor": 0.5},
        "trend": {"base": {"choice": ["constant(1e-3)", "linear(1e-3)"]}},
    }})
    assert space.root.options["plateau"].arguments["base"] == Fixed(rl_lr.cosine(1e-3))
    choice = space.root.options["trend"].arguments["base"]
    assert choice == Choice((rl_lr.constant(1e-3), rl_lr.linear(1e-3)),
                            ("constant(1e-3)", "linear(1e-3)"))  # Optuna keeps the spelling
    trial = optuna.trial.FixedTrial({"policy": "trend", "trend.base": "linear(1e-3)"})
    assert space.sample(trial) == rl_lr.parse("trend(linear(1e-3))")
    with pytest.raises(SpecError, match=r"policies\.plateau\.base: unknown LR policy 'cosin'"):
        parse_space({"policies": {"plateau": {"base": "cosin(1e-3)"}}})


@pytest.mark.parametrize(("policies", "message"), [
    ({"cosinee": {"lr": 1e-3}}, "unknown LR policy 'cosinee'; did you mean 'cosine'?"),
    ({"cosine": {"lr": 1e-3, "ends": 0}}, "policies.cosine.ends: unknown argument of cosine"),
    ({"constant": {"lr": [1e-2, 1e-5, "log"]}}, "policies.constant.lr: inverted range"),
    ({"constant": {"lr": [1e-3, 1e-3]}}, "policies.constant.lr: empty range"),
    ({"constant": {"lr": []}}, "policies.constant.lr: empty range"),
    ({"constant": {"lr": [0, 1e-2, "log"]}}, "a log range needs low > 0"),
    ({"constant": {"lr": [1e-4, 1e-2, "lg"]}}, "range flags must be among log, int"),
    ({"step": {"lr": 1e-3, "every": 0.25, "gamma": [0.1, "x"]}}, "bounds must be finite"),
    ({"cyclic": {"low": 1e-4, "high": 1e-3, "cycles": [1.5, 4]}}, "integer bounds"),
    ({"onecycle": {"lr": 1e-3, "anneal": ["cos", "linear"]}}, "give options as {choice"),
    ({"cosine": {}}, "policies.cosine.lr: required argument of cosine"),
    ({"plateau": {"base": {"nope": {}}}}, "policies.plateau.base.nope: unknown LR policy"),
    ({"cosine": {"lr": -1.0}}, "cosine: lr must be a finite number > 0"),
    ({"constant": {"lr": {"choice": [1e-3, 1e-3]}}}, "lists an option twice"),
])
def test_bad_spaces_are_refused_with_their_path(policies: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=r"^space\.yaml: ") as caught:
        parse_space({"policies": policies}, "space.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_space_needs_a_policies_mapping() -> None:
    for data in ({}, {"policies": {}}, {"policies": {"constant": {"lr": 1e-3}}, "extra": 1}, []):
        with pytest.raises(SpecError):
            parse_space(data)


# -- the study ---------------------------------------------------------------------------------


def _snapshot(storage: str, name: str) -> dict[int, tuple[str, dict[str, Any], float | None]]:
    study = optuna.load_study(study_name=name, storage=storage)
    return {t.number: (t.state.name, t.params, t.value) for t in study.trials
            if t.state.name == "COMPLETE"}


def test_study_interrupted_then_resumed_keeps_its_trials(tmp_path: Path) -> None:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(
        "policies:\n"
        "  constant: {lr: [1e-4, 1e-2, log]}\n"
        "  cosine: {lr: [1e-4, 1e-2, log], end: [0, 1e-5], warmup: 0.1}\n"
        "  plateau: {base: {constant: {lr: [1e-4, 1e-2, log]}}, factor: [0.1, 0.9],"
        " patience: [2, 20]}\n")
    out = tmp_path / "study"
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    argv = ["tune", "--env", "CartPole-v1", "--algo", "ppo", "--space", str(space_file),
            "--trials", "50", "--steps", "256", "--seeds", "1", "--eval-every", "64",
            "--eval-episodes", "2", "--n-envs", "1", "--reports", "2", "--storage", storage,
            "--study-name", "s", "--out", str(out), "--quiet",
            *[f"--set={k}={v}" for k, v in TINY.items() if k != "policy_kwargs"],
            "--set", "policy_kwargs.net_arch=[16]"]
    process = subprocess.Popen([*RL_LR, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            try:
                if len(_snapshot(storage, "s")) >= 3:
                    break
            except KeyError:  # the study does not exist yet
                continue
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the running trial fails, files written
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    before = _snapshot(storage, "s")
    assert len(before) >= 3
    first = {n: before[n] for n in sorted(before)[:3]}

    # the study goes on to 2 more finished trials (at least 5): on a loaded machine the
    # interrupted process may have finished more than 3 before the Ctrl-C reached it
    done = [t for t in optuna.load_study(study_name="s", storage=storage).trials
            if t.state.name in ("COMPLETE", "PRUNED", "FAIL")]
    trials = max(5, len(done) + 2)
    result = run_study(space_file, settings(), trials=trials, out=out, storage=storage,
                       study_name="s", reports=2)

    study = optuna.load_study(study_name="s", storage=storage)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED", "FAIL")]
    assert len(finished) == trials
    after = _snapshot(storage, "s")
    assert {n: after[n] for n in first} == first  # the first 3 trials kept as they were
    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert all(len(t.intermediate_values) == 1 for t in completed)  # reported at step 128
    assert all(t.user_attrs["env_steps"] == 256 for t in completed)
    assert result.total_env_steps >= 256 * len(completed)

    # outputs: the best spec parses and trains; the table; the plots
    best = (out / "best.txt").read_text().strip()
    assert best == result.best_spec == max(completed, key=lambda t: t.value).user_attrs["spec"]
    policy = rl_lr.parse(best)
    run = train(TrainConfig(env="CartPole-v1", algo="ppo", lr=repr(policy), steps=128,
                            eval_every=64, eval_episodes=2, n_envs=1, overrides=TINY),
                tmp_path / "best_run")
    assert run.status == "complete"
    with (out / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["number"]) for r in rows] == [t.number for t in study.trials]
    assert {"state", "value", "spec", "params_policy", "env_steps"} <= set(rows[0])
    for name in ("history.png", "importance.png", "importance.csv", "study.yaml"):
        assert (out / name).stat().st_size > 0
    assert yaml.safe_load((out / "study.yaml").read_text())["storage"] == storage  # not study.db
    assert (out / "trials" / "0000" / "seed_0" / "progress.csv").exists()
    assert not (out / "trials" / "0000" / "seed_0" / "checkpoint").exists()

    # the same study with other settings is refused, before anything runs
    with pytest.raises(SpecError, match=r"other settings .*differ in steps"):
        run_study(space_file, settings(steps=512), trials=6, out=out, storage=storage,
                  study_name="s")
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == len(study.trials)


def test_pruning_stops_a_trial_at_an_intermediate_evaluation(tmp_path: Path) -> None:
    from rl_lr.tuning.study import _Objective

    space = parse_space({"policies": {"constant": {"lr": [1e-4, 1e-2, "log"]}}})
    objective = _Objective(space, settings(seeds=(0, 1)), tmp_path, chunks=4)
    assert objective.boundaries() == [64, 128, 192, None]
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=1e9))
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state.name == "PRUNED"
    assert list(trial.intermediate_values) == [64]  # mean over both seeds at step 64
    assert trial.user_attrs["env_steps"] == 2 * 64  # both seeds stopped there
    for seed in (0, 1):
        run = tmp_path / "trials" / "0000" / f"seed_{seed}"
        assert (run / "progress.csv").exists() and not (run / "checkpoint").exists()


def _draw(study: optuna.Study, trials: int, barrier: threading.Barrier | None = None) -> None:
    """One process's (or machine's) share of a study: sample ``trials`` policies from SPACE
    with its sampler; the value, a function of the spec, stands in for training."""
    space = parse_space(SPACE)
    if barrier is not None:
        barrier.wait()  # "started together"

    def objective(trial: optuna.Trial) -> float:
        return zlib.crc32(repr(space.sample(trial)).encode()) / 2**32

    study.optimize(objective, n_trials=trials)


def _drawn(study: optuna.Study) -> list[str]:
    return [repr(sorted(t.params.items())) for t in study.trials]


def test_processes_sharing_a_study_with_one_sampler_seed_never_repeat_a_configuration(
        tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="s", storage=storage, direction="maximize")
    barrier = threading.Barrier(2)
    # two "machines" with the same --sampler-seed, each with its own study object on the
    # shared storage, past TPE's 10 random startup trials (the seed of (7, trial count,
    # worker) that rl-lr tune used before drew 20 distinct configurations of 24 here)
    threads = [threading.Thread(target=_draw, args=(
        optuna.load_study(study_name="s", storage=storage, sampler=TrialSeededSampler(7)),
        12, barrier)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    study = optuna.load_study(study_name="s", storage=storage)
    assert [t.number for t in study.trials] == list(range(24))
    assert len(set(_drawn(study))) == 24, _drawn(study)


def test_one_process_with_one_sampler_seed_repeats_its_study_exactly() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    drawn = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        study = optuna.create_study(direction="maximize", sampler=TrialSeededSampler(seed))
        _draw(study, 13)
        drawn[name] = _drawn(study)
    assert drawn["a"] == drawn["b"]  # bit for bit, past the random startup trials
    assert not set(drawn["a"]) & set(drawn["c"])  # another seed: other draws


def test_a_missing_database_driver_is_named_with_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for driver in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, driver, None)  # not installed
    with pytest.raises(SpecError) as caught:
        open_storage("postgresql://user:secret@127.0.0.1:1/db")
    message = str(caught.value)
    assert 'psycopg (3) is not installed: pip install "rl-lr[postgres]"' in message
    assert 'pip install "psycopg[binary]"' in message
    assert "psycopg2" not in message and "secret" not in message
    with pytest.raises(SpecError, match="its database driver psycopg2 is not installed"):
        open_storage("postgresql+psycopg2://user@127.0.0.1:1/db")  # the driver the URL names


# -- the command line --------------------------------------------------------------------------


def test_tune_cli_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "unknown.yaml").write_text("policies:\n  cosinee: {lr: [1e-5, 1e-2, log]}\n")
    (tmp_path / "inverted.yaml").write_text("policies:\n  constant: {lr: [1e-2, 1e-5, log]}\n")
    (tmp_path / "ok.yaml").write_text("policies:\n  constant: {lr: [1e-4, 1e-2, log]}\n")
    base = ["tune", "--env", "CartPole-v1", "--algo", "ppo", "--trials", "2", "--steps", "128"]
    cases = {
        "unknown": ([*base, "--space", str(tmp_path / "unknown.yaml")],
                    "unknown LR policy 'cosinee'"),
        "inverted": ([*base, "--space", str(tmp_path / "inverted.yaml")], "inverted range"),
        "sqlite": ([*base, "--space", str(tmp_path / "ok.yaml"), "--storage",
                    f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"], "cannot open"),
        "postgres": ([*base, "--space", str(tmp_path / "ok.yaml"), "--storage",
                      "postgresql://user:secret@127.0.0.1:1/db"], "cannot open"),
        "first_seed": ([*base, "--space", str(tmp_path / "ok.yaml"), "--first-seed", "-1"],
                       "--first-seed: expected an integer >= 0, got -1"),
    }
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    processes = {name: subprocess.Popen([*RL_LR, *argv, "--out", str(tmp_path / name)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
                 for name, (argv, _) in cases.items()}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 2, (name, stderr)
        assert stdout == ""
        assert len(stderr.strip().splitlines()) == 1, (name, stderr)
        assert cases[name][1] in stderr, (name, stderr)
        assert "secret" not in stderr
        assert not (tmp_path / name).exists(), name


def test_tune_first_seed_trains_every_trial_on_seeds_from_it(tmp_path: Path) -> None:
    """``--first-seed 3 --seeds 2``: seeds 3 and 4, so a study can choose on seeds an
    experiment never scores."""
    (tmp_path / "space.yaml").write_text("policies:\n  constant: {lr: [1e-4, 1e-2, log]}\n")
    out = tmp_path / "study"
    done = subprocess.run(
        [*RL_LR, "tune", "--env", "CartPole-v1", "--algo", "ppo", "--space",
         str(tmp_path / "space.yaml"), "--trials", "1", "--steps", "128", "--seeds", "2",
         "--first-seed", "3", "--eval-every", "64", "--eval-episodes", "2", "--n-envs", "1",
         *[f"--set={k}={v}" for k, v in TINY.items() if k != "policy_kwargs"],
         "--set", "policy_kwargs.net_arch=[16]", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "trials" / "0000").iterdir()) == ["seed_3", "seed_4"]
    assert yaml.safe_load((out / "study.yaml").read_text())["settings"]["seeds"] == [3, 4]

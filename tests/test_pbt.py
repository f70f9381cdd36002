"""rl_lr.tuning.pbt: the explore / exploit rules, a faithful exploit, and a population on Ray."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rl_lr.spec import SpecError
from rl_lr.tuning.pbt import PBT, Member, _exploit_explore, explore_lr, parse_method, run_pbt

TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}


def test_explore_moves_in_log_space_and_stays_within_bounds() -> None:
    method = PBT(min_lr=1e-4, max_lr=1e-2)
    rng = np.random.default_rng(0)
    hows = set()
    for start in (1e-4, 1e-3, 1e-2, 9.5e-3, 1.05e-4):
        for _ in range(300):
            new, how = explore_lr(start, method, rng)
            hows.add(how)
            assert method.min_lr <= new <= method.max_lr
            if how != "resample":
                factor = float(how[1:])
                expected = min(max(math.log(start) + math.log(factor), math.log(1e-4)),
                               math.log(1e-2))
                assert math.log(new) == pytest.approx(expected, abs=1e-12)
    assert hows == {"resample", "x0.8", "x1.2"}


def test_exploit_bottom_quantile_copies_the_top_and_diverged_members_rank_last() -> None:
    method = PBT(population=4)
    rows = [{"train_return": r} for r in (10.0, 30.0, 20.0, 40.0)]
    moves = _exploit_explore(method, rows, [1e-3] * 4, np.random.default_rng(0))
    assert [(m[0], m[1]) for m in moves] == [(0, 3)]  # ceil(4 * 0.25) = 1: worst <- best
    rows[3] = {"train_return": 99.0, "diverged": "parameter is not finite"}
    moves = _exploit_explore(method, rows, [1e-3] * 4, np.random.default_rng(0))
    assert [(m[0], m[1]) for m in moves] == [(3, 1)]
    unscored = [{"train_return": None}, {"train_return": 1.0}]  # no episode yet: not ranked
    assert _exploit_explore(PBT(population=2), unscored, [1e-3] * 2,
                            np.random.default_rng(0)) == []


def test_exploit_copies_weights_optimizer_state_entropy_coefficient_and_sets_the_lr() -> None:
    agent = {"algo": "sac", "env": "Pendulum-v1", "perturb": None, "preset": "default",
             "n_envs": 1, "overrides": {"learning_starts": 32, "batch_size": 16,
                                        "buffer_size": 500, "policy_kwargs": {"net_arch": [8]}}}
    source = Member(0, agent | {"seed": 1}, 400, 1e-3, 1)
    target = Member(1, agent | {"seed": 2}, 400, 3e-4, 1)
    source.train(64)
    target.set_state(source.get_state(), 5e-4)
    model, donor = target.agent.model, source.agent.model
    for name, tensor in donor.policy.state_dict().items():
        assert torch.equal(model.policy.state_dict()[name], tensor), name
    assert torch.equal(model.log_ent_coef, donor.log_ent_coef)
    assert model.actor.optimizer.state_dict()["state"].keys() == \
        donor.actor.optimizer.state_dict()["state"].keys() != set()
    assert {g["lr"] for o in (model.actor.optimizer, model.critic.optimizer)
            for g in o.param_groups} == {5e-4}
    row = target.train(64)  # trains on with the new LR (the attached constant policy)
    assert row["lr"] == 5e-4 and row["timesteps"] == 64


@pytest.mark.parametrize(("spec", "message"), [
    ("pbt(population=1)", "population must be an integer >= 2"),
    ("pbt(min_lr=1e-2, max_lr=1e-3)", "max_lr must be finite and > min_lr"),
    ("pbt(quantile=0.75)", "quantile must be in (0, 0.5]"),
    ("pbt(factors=[0.8, -1])", "factors must be a non-empty list of numbers > 0"),
    ("pbt(metric=clean)", "metric must be one of train_return, eval_return"),
])
def test_bad_pbt_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        parse_method(spec)


def test_a_negative_seed_is_refused_before_ray_starts(tmp_path: Path) -> None:
    """numpy refuses seed -1 only inside the run, once Ray has started: a traceback."""
    with pytest.raises(SpecError, match="seed must be an integer >= 0, got -1"):
        run_pbt("pbt(population=2)", "CartPole-v1", "ppo", steps=64, out=tmp_path / "pbt",
                seed=-1)
    assert not (tmp_path / "pbt").exists()


def _csv(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_population_of_2_on_a_local_ray_cluster(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "pbt"
    with pytest.raises(SpecError, match="population"):  # bad input: before Ray, nothing written
        run_pbt("pbt(population=1)", "CartPole-v1", "ppo", steps=192, out=out)
    assert not out.exists()

    # Ray runs in a child process, as a user runs it: a Ray internal check failure aborts the
    # driver's whole process (seen with Ray 2.60), which must never take the test session along.
    command = [sys.executable, "-m", "rl_lr.cli", "pbt",
               "pbt(population=2, interval=64, min_lr=1e-4, max_lr=1e-2)",
               "--env", "CartPole-v1", "--algo", "ppo", "--steps", "192", "--out", str(out),
               "--seed", "3", "--eval-episodes", "2", "--n-envs", "1", "--num-cpus", "2",
               *[f"--set={k}={v}" for k, v in TINY.items() if k != "policy_kwargs"],
               "--set", "policy_kwargs.net_arch=[16]"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "384 env steps in all (2 members)" in result.stdout
    # progress while it runs: one line per round on stderr, as rl-lr tune prints per trial
    rounds = [line for line in result.stderr.splitlines() if line.startswith("pbt: round ")]
    assert [line.split(",")[0] for line in rounds] == [f"pbt: round {k}/3" for k in range(4)]
    assert [line.split("; ")[-2] for line in rounds] == [
        "0 exploited", "1 exploited", "1 exploited", "0 exploited"]
    assert all(f"{64 * k:,} steps per member" in line for k, line in enumerate(rounds))

    # every member's env steps are counted and reported
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_env_steps"] == 384 and summary["members_env_steps"] == [192, 192]
    assert summary["population"] == 2 and summary["timesteps"] == 192

    # LR changes: one exploit / explore per round but the last, within bounds, recorded
    events = _csv(out / "events.csv")
    assert [int(e["round"]) for e in events] == [1, 2]
    assert summary["lr_changes"] == 2
    for event in events:
        assert event["member"] != event["source"]
        assert 1e-4 <= float(event["new_lr"]) <= 1e-2
    members = _csv(out / "members.csv")
    assert len(members) == 2 * 4  # rounds 0..3 for each member

    def member_row(member: str, round_: int) -> dict[str, Any]:
        return next(r for r in members if r["member"] == member and int(r["round"]) == round_)

    for event in events:  # the exploited member trains the next round with the new LR
        assert member_row(event["member"], int(event["round"]) + 1)["lr"] == event["new_lr"]
        assert member_row(event["member"], int(event["round"]))["copied_from"] == event["source"]

    # the best member's lineage is a run-shaped progress.csv with its LR
    progress = _csv(out / "progress.csv")
    assert [int(r["timesteps"]) for r in progress] == [0, 64, 128, 192]
    assert list(progress[0]) == ["timesteps", "eval_return_mean", "eval_return_std",
                                 "train_return", "lr", "member"]
    assert int(progress[-1]["member"]) == summary["best_member"]
    for k, row in enumerate(progress):
        assert float(row["lr"]) == float(member_row(row["member"], k)["lr"])
    assert (out / "lr.png").stat().st_size > 0 and (out / "pbt.yaml").exists()

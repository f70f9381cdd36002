"""``summary.json``'s rules for the step-0 evaluation (the untrained policy), as
:mod:`rl_lr.run.summary` documents them: it counts for ``best_eval_return`` and
``steps_to_threshold``, and it is the same for every LR policy of a seed."""

from __future__ import annotations

from pathlib import Path

from rl_lr.files import read_csv
from rl_lr.results.scores import steps_to_threshold
from rl_lr.run import TrainConfig, summarize, train


def _rows(*points: tuple[int, float]) -> list[dict[str, float]]:
    return [{"timesteps": t, "eval_return_mean": m} for t, m in points]


def test_an_untrained_policy_at_the_threshold_reaches_it_at_step_0() -> None:
    summary = summarize(_rows((0, 480.0), (100, 300.0), (200, 490.0)), 475.0, 1.0, 200, None)
    assert summary["steps_to_threshold"] == 0
    assert steps_to_threshold(summary) == 0.0  # a number, not "never reached"
    assert summary["best_eval_return"] == 490.0


def test_the_untrained_score_can_be_the_best() -> None:
    summary = summarize(_rows((0, 419.1), (100, 269.4), (200, 241.0)), 475.0, 1.0, 200, None)
    assert (summary["best_eval_return"], summary["best_eval_timesteps"]) == (419.1, 0)
    assert summary["steps_to_threshold"] is None  # 475 never scored
    below = summarize(_rows((0, 10.0), (100, 480.0)), 475.0, 1.0, 100, None)
    assert below["steps_to_threshold"] == 100 and below["best_eval_timesteps"] == 100


def test_step_0_is_the_same_for_every_lr_policy_of_a_seed(tmp_path: Path) -> None:
    first = {}
    for lr in ("constant(1e-3)", "cosine(3e-2)", "plateau(1e-4)"):
        config = TrainConfig(env="CartPole-v1", algo="ppo", steps=64, seed=4, lr=lr,
                             n_envs=1, eval_episodes=3,
                             overrides={"n_steps": 64, "batch_size": 64, "n_epochs": 1})
        out = tmp_path / lr.split("(")[0]
        train(config, out)
        rows = read_csv(out / "progress.csv")
        first[lr] = (rows[0]["timesteps"], rows[0]["eval_return_mean"])
    assert len(set(first.values())) == 1, first

"""``summary.json``: what a run's evaluation rows come to (final, best, area under the curve,
steps to the threshold, divergence).

**The step-0 evaluation** (the untrained policy, every run's first row) counts like every
other row: ``best_eval_return`` is the best of all rows, step 0 included (``best_eval_timesteps``
0 says that training never beat the untrained policy), ``steps_to_threshold`` is 0 when the
untrained policy already scores the env's threshold (nothing had to be learned), and
``eval_auc`` starts at step 0. The step-0 score depends on the seed, not on the LR policy
(the LR does not touch the initial weights), so it is the same for every policy of a seed and
shifts no comparison between policies; it is kept because excluding it would change committed
results (``best_eval_return`` of 22 of the 1000 runs of ``results/standard``: PPO on
CartPole-v1, whose untrained policies score up to 419) for no gain in comparisons. A reader who
wants "best after training" takes the maximum of ``progress.csv`` past its first row.
"""

from __future__ import annotations

from typing import Any

from rl_lr.schema import (
    DIVERGED,
    DIVERGED_AT,
    DIVERGENCE_REASON,
    EVAL_AUC,
    EVAL_RETURN_MEAN,
    EVAL_RETURN_STD,
    FINAL_EVAL_RETURN,
    STEPS_TO_THRESHOLD,
    TIMESTEPS,
    TRAIN_RETURN,
)

__all__ = ["summarize"]




def summarize(rows: list[dict[str, Any]], threshold: float | None, wall_time: float,
              budget: int, diverged: tuple[int, str] | None) -> dict[str, Any]:
    """``summary.json`` from the rows.

    ``eval_auc`` is the area under the eval curve (trapezoid over ``timesteps``) divided by
    the steps it spans: the run's time-averaged clean return, comparable across budgets.

    >>> rows = [{"timesteps": 0, "eval_return_mean": 0.0},
    ...         {"timesteps": 10, "eval_return_mean": 4.0}]
    >>> s = summarize(rows, 3.0, 2.0, 10, None)
    >>> s["eval_auc"], s["steps_to_threshold"], s["best_eval_return"]
    (2.0, 10, 4.0)
    """
    steps = [row[TIMESTEPS] for row in rows]
    means = [row[EVAL_RETURN_MEAN] for row in rows]
    best = max(range(len(rows)), key=lambda i: means[i]) if rows else None
    area = sum((steps[i + 1] - steps[i]) * (means[i + 1] + means[i]) / 2
               for i in range(len(rows) - 1))
    span = steps[-1] - steps[0] if rows else 0
    reached = [s for s, m in zip(steps, means, strict=True) if threshold is not None
               and m >= threshold]
    total = steps[-1] if rows else 0
    if diverged is not None:
        total = diverged[0]
    return {
        "budget": budget,
        TIMESTEPS: total,
        "evaluations": len(rows),
        FINAL_EVAL_RETURN: means[-1] if rows else None,
        "final_eval_return_std": rows[-1].get(EVAL_RETURN_STD) if rows else None,
        "final_train_return": rows[-1].get(TRAIN_RETURN) if rows else None,
        "best_eval_return": means[best] if best is not None else None,
        "best_eval_timesteps": steps[best] if best is not None else None,
        EVAL_AUC: area / span if span > 0 else (means[0] if rows else None),
        "reward_threshold": threshold,
        STEPS_TO_THRESHOLD: reached[0] if reached else None,
        "wall_time_s": round(wall_time, 3),
        "steps_per_second": round(total / wall_time, 1) if wall_time > 0 else None,
        DIVERGED: diverged is not None,
        DIVERGED_AT: diverged[0] if diverged else None,
        DIVERGENCE_REASON: diverged[1] if diverged else None,
    }

"""What a stateful LR policy may observe: one :class:`TrainingSignals` per update.

Built by the SB3 hook (:mod:`rl_lr.sb3`) after each ``train()`` call from what the agent itself
sees. Honesty rule: episode returns come from the Monitor of the *training* env, i.e. the
observed, possibly perturbed reward. The clean returns of the same episodes ride along in
``clean_*`` fields for one purpose only: *oracle* policies (:mod:`rl_lr.oracles`), which are
labelled as such, read them to tell a bad rule apart from a noisy signal; no other policy may.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["TrainingSignals"]


@dataclass(frozen=True)
class TrainingSignals:
    """A snapshot of training taken right after one update (one SB3 ``train()`` call).

    Attributes:
        num_timesteps: env steps taken so far (all envs).
        progress: position in the run, 0 -> 1 (see :func:`rl_lr.attach`).
        n_updates: ``train()`` calls seen by the hook, this one included.
        new_episode_returns: observed returns of the episodes that ended since the previous
            update (oldest first; at most the Monitor window, 100 by default).
        new_episode_lengths: their lengths.
        recent_returns: the Monitor window of observed returns (oldest first).
        train_stats: SB3's ``train/*`` statistics of this update without the prefix, e.g.
            ``{"approx_kl": 0.004, "clip_fraction": 0.1, "value_loss": 3.2}`` for PPO.
        lr: the LR applied in this update, per optimizer name.
        grad_norms: mean global L2 gradient norm over this update's optimizer steps, per
            optimizer; filled only when a policy asks for gradients (``needs_gradients``).
        clean_new_episode_returns: the clean (unperturbed) returns of the same new episodes,
            for oracle policies only (:mod:`rl_lr.oracles`); equal to the observed ones when
            the training env is not perturbed.
        clean_recent_returns: the clean returns of the Monitor window, for oracles only.

    Example:
        >>> s = TrainingSignals(num_timesteps=2048, progress=0.5, n_updates=1)
        >>> s.new_episode_returns
        ()
    """

    num_timesteps: int
    progress: float
    n_updates: int
    new_episode_returns: tuple[float, ...] = ()
    new_episode_lengths: tuple[int, ...] = ()
    recent_returns: tuple[float, ...] = ()
    train_stats: Mapping[str, float] = field(default_factory=dict)
    lr: Mapping[str, float] = field(default_factory=dict)
    grad_norms: Mapping[str, float] = field(default_factory=dict)
    clean_new_episode_returns: tuple[float, ...] = ()
    clean_recent_returns: tuple[float, ...] = ()

"""Oracle LR policies: a reward-aware policy fed the *clean* training returns.

``oracle(policy)`` runs ``policy`` (``plateau``, ``volatility``, ``trend``, ``bandit``,
``reset_on_change``, ... any policy that watches returns) on the clean returns of the
training episodes instead of the observed, perturbed ones. It is not a method anyone could
deploy -- a real agent never sees the clean reward -- but a diagnostic: if ``oracle(plateau)``
beats the constant LR where ``plateau`` does not, the rule is sound and the noisy signal is
the problem; if both fail, the rule is. The spec text says ``oracle(...)``, so a run labelled
by its spec says "oracle" in every table; name an experiment's oracle arms ``oracle_*``.

Where the clean returns come from: a perturbed training env reports each episode's clean
return (:class:`rl_lr.envs.CleanReturn`), the Monitor keeps it in the episode record, and the
SB3 hook passes it on in :attr:`rl_lr.signals.TrainingSignals.clean_recent_returns` (equal to
the observed returns on a clean env). Only this module reads those fields. An experiment
file must label an oracle arm with a name that says "oracle" (:func:`is_oracle`, checked when
the experiment is planned), so every table names it for what it is.

    >>> import rl_lr
    >>> rl_lr.parse("oracle(plateau(3e-4, patience=3))")
    oracle(plateau(constant(0.0003), patience=3))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rl_lr.controllers import Controller
from rl_lr.schedules import register
from rl_lr.signals import TrainingSignals

__all__ = ["Oracle", "clean_view", "is_oracle"]


def clean_view(signals: TrainingSignals) -> TrainingSignals:
    """``signals`` with the observed returns replaced by the clean ones.

    >>> s = TrainingSignals(num_timesteps=1, progress=0.1, n_updates=1,
    ...                     new_episode_returns=(3.0,), recent_returns=(3.0,),
    ...                     clean_new_episode_returns=(1.0,), clean_recent_returns=(1.0,))
    >>> clean_view(s).recent_returns
    (1.0,)
    """
    return dataclasses.replace(signals, new_episode_returns=signals.clean_new_episode_returns,
                               recent_returns=signals.clean_recent_returns)


def is_oracle(value: Any) -> bool:
    """Whether an LR spec value (a policy, or ``{network: policy}``) holds an oracle anywhere.

    >>> import rl_lr
    >>> is_oracle(rl_lr.parse("plateau(1e-3)")), is_oracle({"actor": Oracle(rl_lr.parse(
    ...     "trend(1e-3)"))})
    (False, True)
    """
    if isinstance(value, Mapping):
        return any(is_oracle(v) for v in value.values())
    return "oracle(" in repr(value)


@register("oracle")
@dataclass(frozen=True, repr=False)
class Oracle(Controller):
    """``oracle(policy)``: ORACLE -- ``policy`` observing the clean training returns instead
    of the observed ones, a diagnostic reference, not a deployable method. Its LR is
    ``policy``'s (see :mod:`rl_lr.oracles`); the oracle of a fixed schedule is the schedule."""

    def observe(self, signals: TrainingSignals) -> None:
        self.state.progress = signals.progress
        self.base.observe(clean_view(signals))

    def log_values(self) -> dict[str, float]:
        return self.base.log_values()

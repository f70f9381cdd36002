"""Agents: the algorithm factory and tuned presets (installed as ``rl_lr.agents``).

    >>> from rl_lr.agents import ALGORITHMS, load_preset
    >>> sorted(ALGORITHMS)
    ['a2c', 'crossq', 'ddpg', 'dqn', 'ppo', 'sac', 'td3', 'tqc', 'trpo']

:func:`make` builds a ready-to-train agent (envs, model with preset hyper-parameters plus
overrides, LR policy attached); :func:`resolve` checks and resolves the same arguments without
building anything; :func:`load_preset` reads ``agents/presets/<algo>.yaml``;
:func:`make_eval_env` and :func:`evaluate` run the clean evaluation episodes side by side.
"""

from __future__ import annotations

from rl_lr.agents.algorithms import ALGORITHMS, AlgorithmInfo
from rl_lr.agents.compat import (
    IncompatibleError,
    check_action_space,
    check_reported_stats,
    resolve_algo,
    resolve_env_id,
)
from rl_lr.agents.evaluation import evaluate, evaluate_sequentially, make_eval_env
from rl_lr.agents.factory import Agent, AgentSpec, build, make, resolve
from rl_lr.agents.presets import PRESET_DIR, Preset, PresetWarning, load_preset, preset_entries

__all__ = [
    "ALGORITHMS",
    "PRESET_DIR",
    "Agent",
    "AgentSpec",
    "AlgorithmInfo",
    "IncompatibleError",
    "Preset",
    "PresetWarning",
    "build",
    "check_action_space",
    "check_reported_stats",
    "evaluate",
    "evaluate_sequentially",
    "load_preset",
    "make",
    "make_eval_env",
    "preset_entries",
    "resolve",
    "resolve_algo",
    "resolve_env_id",
]

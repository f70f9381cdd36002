# Over 400 lines: the PBT method spec, its Ray members and the population loop are one unit.
"""Population-based training of the learning rate: ``pbt(population=N, interval=STEPS, ...)``
run by :func:`run_pbt`, each member a Ray actor.

PBT (Jaderberg et al. 2017) is a baseline *method*, not a per-run LR policy: ``N`` agents
train side by side with constant LRs; every ``interval`` env steps the worst quantile copies
the weights, optimizer states and LR of a member of the best quantile (exploit) and then
changes that LR (explore). The rules are Ray Tune's ``PopulationBasedTraining`` defaults --
bottom ``quantile`` 0.25 clones the top 0.25 (at most half the population each), resample
with probability 0.25, else multiply by 0.8 or 1.2 -- with one fix users ask Ray for: the
step is taken in log space and clipped to ``[min_lr, max_lr]``, so the LR never leaves its
bounds.

Why not Ray Tune's scheduler: its exploit restores a trial from the donor's checkpoint
directory. An SB3 ``model.zip`` holds weights and optimizer states, but not the live
training envs, and a restored trial restarts ``learn()`` with SB3's per-call progress clock;
Ray Tune also needs pandas and pyarrow, which rl-lr does not. Here exploit copies what PBT
copies -- network weights, optimizer states, entropy coefficient, VecNormalize statistics and
the LR -- in memory between actors, while each member keeps its own envs (and replay buffer),
and every env step is counted. Members are Ray actors on a local cluster started here or an
existing one (``ray_address``), so a population trains in parallel.

Ranking honesty: by default members are ranked by the *observed* training return (SB3's
Monitor window, perturbed if the env is, cleared when a member's weights are replaced) -- the
signal rl-lr's controllers see. ``metric=eval_return`` ranks by the clean evaluation return
instead: an oracle no single-run policy has, reported as such.

Fair comparison: a population of ``N`` members trained for ``steps`` each spends ``N * steps``
env steps; ``summary.json`` reports ``total_env_steps`` (all members) next to the best
member's curve, so compare it with single runs given the same total budget (or report both).

Files in ``out`` (shaped like a single run's):

- ``progress.csv``: the best member's *lineage* -- at each evaluation, the member whose weights
  the final best member descends from -- with its LR and a ``member`` column;
- ``summary.json``: :func:`rl_lr.run.summarize` of that curve, plus ``total_env_steps``,
  ``members_env_steps``, ``population``, ``lr_changes``, ``best_member``, ``final_lr``;
- ``members.csv``: every member's evaluation rows (``round``, ``score``, ``lr``, and
  ``copied_from``: whose weights it took after that row, itself if none);
- ``events.csv``: every exploit / explore step (``source``, ``old_lr``, ``new_lr``, ``how``);
- ``pbt.yaml``: the method spec and the run's settings; ``lr.png``: every member's LR.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import torch

from rl_lr.agents import evaluate, make, make_eval_env, resolve
from rl_lr.files import versions, write_csv, write_json, write_yaml
from rl_lr.harness.backends import check_ray_address
from rl_lr.plots import new_axes, save_figure
from rl_lr.run import summarize
from rl_lr.run.divergence import find_divergence
from rl_lr.run.recorder import eval_seed
from rl_lr.sb3 import attach, network_optimizers, silence_logger
from rl_lr.schedules import Constant
from rl_lr.schema import (
    EVAL_RETURN_MEAN,
    EVAL_RETURN_STD,
    EVENTS_CSV,
    LR,
    MEMBERS_CSV,
    PBT_LR_PNG,
    PBT_YAML,
    PROGRESS_COLUMNS,
    PROGRESS_CSV,
    SUMMARY_JSON,
    TIMESTEPS,
    TRAIN_RETURN,
)
from rl_lr.spec import Registry, SpecError, SpecObject

__all__ = ["METHODS", "PBT", "PBTResult", "explore_lr", "member_seed", "parse_method", "run_pbt"]


@dataclass(frozen=True, repr=False)
class PopulationMethod(SpecObject):
    """Base of population methods (they run many agents; they are not per-run LR policies)."""

    _spec_positional = 0


METHODS = Registry("population method", PopulationMethod)


@METHODS.register("pbt")
@dataclass(frozen=True, repr=False)
class PBT(PopulationMethod):
    """pbt(population=4, interval=2048): population-based training of a constant LR.

    Attributes:
        population: members (>= 2).
        interval: env steps per member between exploit / explore rounds (rounded up to whole
            rollouts by on-policy algorithms).
        min_lr, max_lr: bounds of the LR (initial draws and every perturbation).
        quantile: fraction of members copied from / into (Ray Tune: 0.25), at most half.
        resample_probability: chance to redraw the LR log-uniformly instead of perturbing.
        factors: multiplicative perturbations (applied in log space, clipped to the bounds).
        metric: ``train_return`` (observed, honest) or ``eval_return`` (clean, an oracle).

    Example:
        >>> parse_method("pbt(population=2, interval=256)")
        pbt(population=2, interval=256)
    """

    population: int = 4
    interval: int = 2048
    min_lr: float = 1e-5
    max_lr: float = 1e-2
    quantile: float = 0.25
    resample_probability: float = 0.25
    factors: tuple[float, ...] = (0.8, 1.2)
    metric: Literal["train_return", "eval_return"] = "train_return"

    def validate(self) -> None:
        if self.population < 2:
            raise self.fail("population", "must be an integer >= 2")
        if self.interval < 1:
            raise self.fail("interval", "must be a positive number of env steps")
        if not (math.isfinite(self.min_lr) and 0 < self.min_lr < self.max_lr
                and math.isfinite(self.max_lr)):
            raise self.fail("max_lr", f"must be finite and > min_lr ({self.min_lr!r}) > 0")
        if not 0 < self.quantile <= 0.5:
            raise self.fail("quantile", "must be in (0, 0.5]")
        if not 0 <= self.resample_probability <= 1:
            raise self.fail("resample_probability", "must be in [0, 1]")
        if not self.factors or not all(math.isfinite(f) and f > 0 for f in self.factors):
            raise self.fail("factors", "must be a non-empty list of numbers > 0")


def parse_method(spec: Any) -> PBT:
    """A population method from its spec string or mapping (:class:`SpecError` otherwise)."""
    method = METHODS.parse(spec)
    assert isinstance(method, PBT)
    return method


def explore_lr(lr: float, method: PBT, rng: np.random.Generator) -> tuple[float, str]:
    """Explore step: resample log-uniformly with ``resample_probability``, else multiply by
    one of ``factors`` -- in log space, clipped to ``[min_lr, max_lr]``.

    >>> method = PBT(min_lr=1e-4, max_lr=1e-3, resample_probability=0.0, factors=(10.0,))
    >>> explore_lr(5e-4, method, np.random.default_rng(0))
    (0.001, 'x10.0')
    """
    low, high = math.log(method.min_lr), math.log(method.max_lr)
    if rng.random() < method.resample_probability:
        return float(math.exp(rng.uniform(low, high))), "resample"
    factor = float(method.factors[int(rng.integers(len(method.factors)))])
    step = min(max(math.log(lr) + math.log(factor), low), high)
    return float(min(max(math.exp(step), method.min_lr), method.max_lr)), f"x{factor}"


def member_seed(seed: int, member: int) -> int:
    """Seed of member ``member`` of a population seeded ``seed`` (independent across both).

    >>> member_seed(0, 0) != member_seed(0, 1) != member_seed(1, 0)
    True
    """
    return int(np.random.SeedSequence([seed, 20_000, member]).generate_state(1)[0] % 2**31)


# --------------------------------------------------------------------------------------------
# A member: one agent in a Ray actor
# --------------------------------------------------------------------------------------------


class Member:
    """One agent of the population (instantiated inside a Ray actor)."""

    def __init__(self, index: int, agent: Mapping[str, Any], steps: int, lr: float,
                 eval_episodes: int) -> None:
        torch.set_num_threads(1)
        self.index, self.steps, self.eval_episodes = index, steps, eval_episodes
        self.seed = int(agent["seed"])
        self.agent = make(agent["algo"], agent["env"], Constant(lr), seed=self.seed,
                          perturb=agent["perturb"], preset=agent["preset"],
                          n_envs=agent["n_envs"], total_timesteps=steps, **agent["overrides"])
        self.eval_env = make_eval_env(self.agent.spec, n_envs=eval_episodes)
        self.lr = lr
        self.evaluations = 0
        self.diverged: str | None = None

    def _lr_now(self) -> float:
        optimizer = next(iter(network_optimizers(self.agent.model).values()))
        return float(optimizer.param_groups[0]["lr"])

    def evaluate(self) -> dict[str, Any]:
        """A progress row: clean eval return (seeded as a single run's), observed return, LR."""
        model = self.agent.model
        row: dict[str, Any] = {TIMESTEPS: int(model.num_timesteps), EVAL_RETURN_MEAN: None,
                               EVAL_RETURN_STD: None, TRAIN_RETURN: None,
                               LR: self._lr_now(), "diverged": self.diverged}
        if self.diverged is None:
            returns = evaluate(model, self.eval_env, self.eval_episodes,
                               eval_seed(self.seed, self.evaluations))
            row[EVAL_RETURN_MEAN] = float(np.mean(returns))
            row[EVAL_RETURN_STD] = float(np.std(returns))
            buffer = list(model.ep_info_buffer or ())
            row[TRAIN_RETURN] = float(np.mean([e["r"] for e in buffer])) if buffer else None
        self.evaluations += 1
        return row

    def train(self, steps: int) -> dict[str, Any]:
        """Train ``steps`` more env steps (not past the budget), then evaluate."""
        model = self.agent.model
        todo = min(steps, self.steps - int(model.num_timesteps))
        if todo > 0 and self.diverged is None:
            try:
                silence_logger(model)
                model.learn(todo, reset_num_timesteps=model.num_timesteps == 0)
                self.diverged = find_divergence(model)
            except (ValueError, RuntimeError, FloatingPointError) as err:
                self.diverged = find_divergence(model) or f"{type(err).__name__}: {err}"
        return self.evaluate()

    def get_state(self) -> dict[str, Any]:
        """Weights, optimizer states, saved tensors (entropy coefficient), VecNormalize stats."""
        model = self.agent.model
        _, tensors = model._get_torch_save_params()
        state: dict[str, Any] = {
            "params": model.get_parameters(),
            "tensors": {n: attrgetter(n)(model).detach().clone() for n in tensors},
            "lr": self._lr_now(),
        }
        normalize = model.get_vec_normalize_env()
        if normalize is not None:
            state["normalize"] = (copy.deepcopy(normalize.obs_rms),
                                  copy.deepcopy(normalize.ret_rms))
        return state

    def set_state(self, state: Mapping[str, Any], lr: float) -> None:
        """Exploit ``state`` (see :meth:`get_state`), then train with ``lr``."""
        model = self.agent.model
        model.set_parameters(dict(state["params"]), exact_match=True)
        with torch.no_grad():
            for name, value in state["tensors"].items():
                attrgetter(name)(model).copy_(value)
        normalize = model.get_vec_normalize_env()
        if normalize is not None and "normalize" in state:
            normalize.obs_rms, normalize.ret_rms = copy.deepcopy(state["normalize"])
        if model.ep_info_buffer is not None:  # the observed return of the new weights from now
            model.ep_info_buffer.clear()
        self.diverged = None
        self.set_lr(lr)

    def set_lr(self, lr: float) -> None:
        self.lr = lr
        attach(self.agent.model, Constant(lr), total_timesteps=self.steps)

    def close(self) -> int:
        steps = int(self.agent.model.num_timesteps)
        self.agent.env.close()
        self.eval_env.close()
        return steps


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


@dataclass
class PBTResult:
    """The outcome: the best member (by the ranking metric at the end), its lineage curve
    (``rows``, with ``lr`` and ``member``), every LR change, and the env steps of all members."""

    out: Path
    method: PBT
    best_member: int
    rows: list[dict[str, Any]]
    events: list[dict[str, Any]]
    members: list[dict[str, Any]]
    total_env_steps: int
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def lr_trace(self) -> list[tuple[int, float]]:
        """``(timesteps, lr)`` along the best member's lineage."""
        return [(row[TIMESTEPS], row[LR]) for row in self.rows]


def _score(row: Mapping[str, Any], metric: str) -> float | None:
    if row.get("diverged"):
        return -math.inf
    value = row.get(metric)
    return None if value is None else float(value)


def _exploit_explore(method: PBT, rows: list[dict[str, Any]], lrs: list[float],
                     rng: np.random.Generator) -> list[tuple[int, int, float, str]]:
    """``(member, source, new_lr, how)`` for each bottom member, Ray Tune's rule: the bottom
    ``ceil(n * quantile)`` (at most half) each clone a random member of the top as many."""
    ranked = sorted((i for i, row in enumerate(rows) if _score(row, method.metric) is not None),
                    key=lambda i: (-(_score(rows[i], method.metric) or 0.0), i))
    count = min(math.ceil(len(ranked) * method.quantile), len(ranked) // 2)
    if count == 0:
        return []
    top, bottom = ranked[:count], ranked[-count:]
    moves = []
    for member in bottom:
        source = int(top[int(rng.integers(len(top)))])
        new_lr, how = explore_lr(lrs[source], method, rng)
        moves.append((member, source, new_lr, how))
    return moves


def _lineage(best: int, member_rows: list[list[dict[str, Any]]],
             parents: list[list[int]]) -> list[dict[str, Any]]:
    """Rows of the members the final ``best`` descends from. ``parents[r - 1][i]`` is the
    member whose weights ``i`` took at the end of round ``r`` (itself if not exploited), so
    the holder of round ``k - 1`` is ``parents[k - 2][holder of round k]``.

    >>> rows = [[{"t": k, "m": i} for k in range(3)] for i in range(2)]
    >>> [r["member"] for r in _lineage(0, rows, [[1, 1], [0, 1]])]
    [1, 1, 0]
    """
    rounds = len(member_rows[best]) - 1
    rows, holder = [], best
    for k in range(rounds, -1, -1):
        rows.append(member_rows[holder][k] | {"member": holder})
        if k >= 2:
            holder = parents[k - 2][holder]
    return rows[::-1]


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError(f"--out {out} must be a new or empty directory")


def run_pbt(
    method: PBT | str | Mapping[str, Any],
    env: str,
    algo: str,
    *,
    steps: int,
    out: Path,
    seed: int = 0,
    eval_episodes: int = 10,
    n_envs: int | None = None,
    preset: str = "default",
    perturb: Any = None,
    overrides: Mapping[str, Any] | None = None,
    ray_address: str | None = None,
    num_cpus: int | None = None,
    initial_lrs: Sequence[float] | None = None,
    stream: TextIO | None = None,
) -> PBTResult:
    """Train a population with PBT on Ray actors and write the files (module docstring).

    Args:
        method: ``pbt(...)`` as an object, spec string or mapping.
        env, algo: as for :func:`rl_lr.run.train`.
        steps: env steps per member (the population spends ``population * steps``).
        out: output directory (new or empty).
        seed: seeds the initial LRs, the explore draws and the members' seeds.
        eval_episodes, n_envs, preset, perturb, overrides: as for a single run.
        ray_address: an existing Ray cluster; default: start a local one (stopped at the end).
        num_cpus: CPUs of the local cluster (default: all cores).
        initial_lrs: one LR per member to start from (a warm start: rl-lr suggest), within
            ``[min_lr, max_lr]``; default: log-uniform draws.
        stream: where to print one progress line per round (:func:`round_line`), as
            ``rl-lr tune`` prints one per trial; ``None``: silent.

    Raises:
        SpecError: bad method, settings or ``out`` -- before Ray starts or anything is written.
    """

    method = parse_method(method)
    overrides = dict(overrides or {})
    if type(steps) is not int or steps < 1:
        raise SpecError(f"steps must be a positive integer, got {steps!r}")
    if type(eval_episodes) is not int or eval_episodes < 1:
        raise SpecError(f"eval_episodes must be a positive integer, got {eval_episodes!r}")
    if type(seed) is not int or seed < 0:  # numpy refuses it only once Ray has started
        raise SpecError(f"seed must be an integer >= 0, got {seed!r}")
    if initial_lrs is not None and (len(initial_lrs) != method.population or not all(
            method.min_lr <= x <= method.max_lr for x in initial_lrs)):
        raise SpecError(f"initial_lrs must be {method.population} LRs in [{method.min_lr}, "
                        f"{method.max_lr}], got {list(initial_lrs)!r}")
    spec = resolve(algo, env, Constant(method.min_lr), seed=0, perturb=perturb,
                   preset=preset, n_envs=n_envs, total_timesteps=steps, **overrides)
    _check_out(out)
    check_ray_address(ray_address)
    try:
        import ray  # optional dependency: pip install 'rl-lr[ray]'
    except ImportError:
        raise SpecError("PBT runs its members on Ray: pip install 'rl-lr[ray]'") from None

    started = not ray.is_initialized()
    if started:
        if ray_address:
            ray.init(address=ray_address, log_to_driver=False, include_dashboard=False)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), log_to_driver=False,
                     include_dashboard=False)
    clock = time.monotonic()
    rng = np.random.default_rng(seed)
    lrs = [float(math.exp(rng.uniform(math.log(method.min_lr), math.log(method.max_lr))))
           for _ in range(method.population)]
    lrs = [float(x) for x in initial_lrs] if initial_lrs is not None else lrs
    cpus = float(ray.cluster_resources().get("CPU", 1))
    actor: Any = ray.remote(num_cpus=min(1.0, cpus / method.population))(Member)
    agent = {"algo": spec.algo, "env": env, "perturb": spec.perturb, "preset": preset,
             "n_envs": n_envs, "overrides": overrides}
    members = [actor.remote(i, agent | {"seed": member_seed(seed, i)}, steps, lrs[i],
                            eval_episodes) for i in range(method.population)]
    member_rows: list[list[dict[str, Any]]] = [[] for _ in members]
    parents: list[list[int]] = []
    events: list[dict[str, Any]] = []
    try:
        for i, row in enumerate(ray.get([m.evaluate.remote() for m in members])):
            member_rows[i].append(row | {"round": 0, "copied_from": i})
        rounds = math.ceil(steps / method.interval)
        _say(stream, round_line(0, rounds, [rows[-1] for rows in member_rows], method.metric,
                                0, time.monotonic() - clock))
        for k in range(1, rounds + 1):
            rows = ray.get([m.train.remote(method.interval) for m in members])
            for i, row in enumerate(rows):
                member_rows[i].append(row | {"round": k, "score": _score(row, method.metric)})
            lrs = [row[LR] for row in rows]
            moves = _exploit_explore(method, rows, lrs, rng) if k < rounds else []
            parent = list(range(len(members)))
            states = {src: members[src].get_state.remote() for src in {m[1] for m in moves}}
            ray.get([members[member].set_state.remote(states[source], new_lr)
                     for member, source, new_lr, _ in moves])
            for member, source, new_lr, how in moves:
                parent[member] = source
                events.append({"round": k, "timesteps": rows[member][TIMESTEPS],
                               "member": member, "source": source, "old_lr": lrs[member],
                               "new_lr": new_lr, "how": how})
            for i in range(len(members)):
                member_rows[i][-1]["copied_from"] = parent[i]
            parents.append(parent)
            _say(stream, round_line(k, rounds, rows, method.metric, len(moves),
                                    time.monotonic() - clock))
        member_steps = [int(s) for s in ray.get([m.close.remote() for m in members])]
    finally:
        for m in members:
            ray.kill(m)
        if started:
            ray.shutdown()
    final = [_score(rows[-1], method.metric) for rows in member_rows]
    best = max(range(len(final)), key=lambda i: (final[i] if final[i] is not None
                                                 else -math.inf, -i))
    return _write(out, method, env, algo, steps, seed, spec, best,
                  _lineage(best, member_rows, parents), member_rows, events, member_steps,
                  time.monotonic() - clock)


def round_line(k: int, rounds: int, rows: list[dict[str, Any]], metric: str, exploits: int,
               elapsed: float) -> str:
    """The progress line of round ``k`` of ``rounds`` (0: the initial evaluation): steps per
    member, the leading member with its score and LR, the population's LR range, how many
    members exploited another, and the wall time so far.

    Example:
        >>> rows = [{"timesteps": 2048, "train_return": 20.5, "lr": 1e-3},
        ...         {"timesteps": 2048, "train_return": 31.0, "lr": 3e-4}]
        >>> print(*round_line(1, 4, rows, "train_return", 1, 12.3).split("; "), sep="\\n")
        pbt: round 1/4, 2,048 steps per member
        best member 1: train_return 31, lr 0.0003
        lr 0.0003-0.001
        1 exploited
        12 s
    """
    scored = [(score, -i) for i, row in enumerate(rows)
              if (score := _score(row, metric)) is not None]
    lrs = [float(row[LR]) for row in rows]
    parts = [f"pbt: round {k}/{rounds}, {int(rows[0]['timesteps']):,} steps per member"]
    if scored:
        score, minus_i = max(scored)
        parts.append(f"best member {-minus_i}: {metric} {score:.4g}, "
                     f"lr {lrs[-minus_i]:.3g}")
    else:
        parts.append(f"no {metric} yet")
    parts += [f"lr {min(lrs):.3g}-{max(lrs):.3g}", f"{exploits} exploited", f"{elapsed:.0f} s"]
    return "; ".join(parts)


def _say(stream: TextIO | None, line: str) -> None:
    if stream is not None:
        stream.write(line + "\n")
        stream.flush()


def _write(out: Path, method: PBT, env: str, algo: str, steps: int, seed: int, spec: Any,
           best: int, lineage: list[dict[str, Any]], member_rows: list[list[dict[str, Any]]],
           events: list[dict[str, Any]], member_steps: list[int],
           wall_time: float) -> PBTResult:

    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / PROGRESS_CSV, lineage, [*PROGRESS_COLUMNS, "member"])
    flat = [{"member": i, **row} for i, rows in enumerate(member_rows) for row in rows]
    write_csv(out / MEMBERS_CSV, flat, ["member", "round", *PROGRESS_COLUMNS, "score",
                                          "copied_from", "diverged"])
    write_csv(out / EVENTS_CSV, events,
              ["round", "timesteps", "member", "source", "old_lr", "new_lr", "how"])
    curve = [r for r in lineage if r[EVAL_RETURN_MEAN] is not None]
    summary = summarize(curve, spec.reward_threshold, wall_time, steps, None)
    total = int(sum(member_steps))
    summary |= {"method": repr(method), "population": method.population,
                "interval": method.interval, "metric": method.metric, "best_member": best,
                "final_lr": lineage[-1][LR], "lr_changes": len(events),
                "total_env_steps": total, "members_env_steps": member_steps}
    write_json(out / SUMMARY_JSON, summary)
    write_yaml(out / PBT_YAML, {
        "method": repr(method), "env": env, "algo": algo, "steps_per_member": steps,
        "seed": seed, "member_seeds": [member_seed(seed, i) for i in range(len(member_rows))],
        "agent": spec.to_dict() | {"lr": f"constant per member, set by {method!r}",
                                   "seed": "member_seeds"}, "versions": versions(),
    }, "rl-lr pbt: the population method and the agent every member trains.")
    ax = new_axes()
    for i, rows in enumerate(member_rows):
        ax.step([r[TIMESTEPS] for r in rows], [r[LR] for r in rows], where="pre",
                alpha=0.45, linewidth=1.0, label=f"member {i}" if len(member_rows) <= 8 else None)
    ax.step([r[TIMESTEPS] for r in lineage], [r[LR] for r in lineage], where="pre",
            color="black", linewidth=2.0, label=f"best lineage (member {best})")
    ax.set_yscale("log")
    ax.set_xlabel("timesteps (per member)")
    ax.set_ylabel("learning rate")
    ax.set_title(f"{method!r}: {env}, {algo}, {total} env steps in all", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=7)
    save_figure(ax, out / PBT_LR_PNG)
    flat_members = [{"member": i, **row} for i, rows in enumerate(member_rows) for row in rows]
    return PBTResult(out, method, best, lineage, events, flat_members, total, summary)

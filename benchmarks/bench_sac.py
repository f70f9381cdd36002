"""Cost of a SAC step on Pendulum-v1 and the levers that keep SB3 (issue "Run cost").

The run measured is the standard benchmark's grid 5: ``rl-lr train`` of SAC on Pendulum-v1
with the zoo preset (SB3's defaults: 256x256 networks, batch 256, one gradient step per env
step) at ``constant(1e-3)``, one torch thread. Four parts, each run in this one process (a
shared, noisy machine: every figure is a ratio against a baseline measured in the same loop):

* ``profile``: where one step goes, by section timers wrapped around SB3's, torch's and
  rl-lr's methods (exclusive time of each section) during a real ``rl_lr.run.train`` run;
* ``levers``: steps/s of one model per lever, trained in chunks of ``--chunk`` steps, the arms
  interleaved round by round (order rotated), ratio to the baseline chunk of the same round;
  ``2 runs x 1 thread`` runs the baseline in two worker processes at once (aggregate steps/s);
  a compiled arm's compile time is reported apart (and counted for a 10k-step run);
* ``overhead``: whole runs of ``--run-steps`` steps: ``rl-lr train`` (evaluation at the start
  and the end only) vs ``agents.make`` + ``learn()`` vs SB3's own ``SAC`` + ``learn()``;
* ``identity``: each lever's ``rl-lr train`` run (``--identity-steps``, evaluation every 1000
  steps) against the baseline's, ``progress.csv`` byte for byte, the baseline also against
  the committed ``results/standard`` run of the same seed;
* ``curves`` (not in the default parts): levers that change the math, 3 seeds of
  ``--curve-steps`` steps, final and mean evaluation return vs the committed baseline runs.

    python benchmarks/bench_sac.py --quick                  # a few minutes
    nice -n 5 python benchmarks/bench_sac.py                # ~25 min on the 2-core machine
    nice -n 5 python benchmarks/bench_sac.py --parts curves --levers "adam fused"

Every lever exists only inside this process (overrides or monkeypatches undone after each use).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import math
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from stable_baselines3 import SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.sac import policies as sac_policies
from stable_baselines3.sac import sac as sac_module

import rl_lr.sb3
from rl_lr.agents import make
from rl_lr.run import TrainConfig, divergence, train
from rl_lr.sb3 import LRHook, silence_logger

ENV, ALGO = "Pendulum-v1", "sac"
COMMITTED = Path(__file__).resolve().parent.parent / "results" / "standard" / "runs"

# --------------------------------------------------------------------------------------------
# The levers
# --------------------------------------------------------------------------------------------


def foreach_polyak_update(params: Any, target_params: Any, tau: float) -> None:
    """SB3's ``polyak_update`` (``target * (1 - tau)``, then ``+ tau * param``, in place) with
    one foreach call per operation instead of two kernel calls per parameter."""
    with torch.no_grad():
        sources, targets = list(params), list(target_params)
        if targets:
            torch._foreach_mul_(targets, 1.0 - tau)
            torch._foreach_add_(targets, sources, alpha=tau)


def freeze_critic_in_actor_loss(model: Any) -> None:
    """The actor loss backpropagates through the critic only for d Q / d action: switch the
    critic's weights off autograd between the critic's and the actor's optimizer steps (SB3
    computes their gradients there and discards them at the next ``zero_grad``)."""
    weights = list(model.critic.parameters())

    def switch(on: bool) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            for weight in weights:
                weight.requires_grad_(on)
        return hook

    model.critic.optimizer.register_step_post_hook(switch(False))
    model.actor.optimizer.register_step_post_hook(switch(True))


def compile_networks(model: Any, mode: str | None) -> None:
    """``torch.compile`` the actor (its call and ``action_log_prob``), critic and target."""
    policy = model.policy
    for module in (policy.actor, policy.critic, policy.critic_target):
        module.compile(mode=mode)
    policy.actor.action_log_prob = torch.compile(policy.actor.action_log_prob, mode=mode)


def one_pass_divergence_check(find_divergence: Callable[[Any], str | None]) -> Any:
    """rl-lr's divergence check (every rollout start: every env step for SAC), first as one
    pass over all parameters and logged values; the per-tensor check only if that finds
    anything non-finite, so the verdict and its message are unchanged."""
    def find(model: Any) -> str | None:
        logger = model.__dict__.get("_logger")
        values = [float(v) for v in (logger.name_to_value.values() if logger else ())
                  if isinstance(v, (int, float, np.floating))]
        with torch.no_grad():
            flat = torch.cat([p.reshape(-1) for p in model.policy.parameters()])
            if bool(torch.isfinite(flat).all()) and all(map(math.isfinite, values)):
                return None
        return find_divergence(model)

    return find


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """``owner.name = value`` for the duration of the block."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def after_setup(*actions: Callable[[Any], None]) -> Callable[[], Any]:
    """A patch running ``actions`` on every SAC model right after SB3 builds its networks."""
    original = SAC._setup_model

    def setup(self: Any) -> None:
        original(self)
        for action in actions:
            action(self)

    return functools.partial(replaced, SAC, "_setup_model", setup)


@dataclass(frozen=True)
class Lever:
    """One way to make SAC cheaper: hyper-parameter overrides, a patch (a context manager
    factory active while the model is built and trained), torch threads; ``identical``: the
    math is unchanged, so the run should be bit-identical to the baseline."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    patch: Callable[[], Any] = contextlib.nullcontext
    threads: int = 1
    identical: bool = True

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with self.patch():
                yield
        finally:
            torch.set_num_threads(previous)


POLYAK = functools.partial(replaced, sac_module, "polyak_update", foreach_polyak_update)
FREEZE = after_setup(freeze_critic_in_actor_loss)


@contextlib.contextmanager
def both(*patches: Callable[[], Any]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch())
        yield


def _adam(**kwargs: Any) -> dict[str, Any]:
    return {"policy_kwargs.optimizer_kwargs": kwargs}


TWO_PROCESSES = "2 runs x 1 thread"
LEVERS = {lever.name: lever for lever in [
    Lever("baseline"),
    Lever("2 threads", threads=2),
    Lever("adam foreach", _adam(foreach=True)),
    Lever("adam fused", _adam(fused=True), identical=False),
    Lever("foreach polyak", patch=POLYAK),
    Lever("frozen critic in actor loss", patch=FREEZE),
    Lever("compile default", patch=after_setup(functools.partial(compile_networks, mode=None)),
          identical=False),
    Lever("compile reduce-overhead", identical=False, patch=after_setup(
        functools.partial(compile_networks, mode="reduce-overhead"))),
    Lever("compile max-autotune-no-cudagraphs", identical=False, patch=after_setup(
        functools.partial(compile_networks, mode="max-autotune-no-cudagraphs"))),
    Lever("foreach adam + polyak + frozen critic", _adam(foreach=True),
          patch=functools.partial(both, POLYAK, FREEZE)),
    Lever("fused adam + polyak + frozen critic", _adam(fused=True),
          patch=functools.partial(both, POLYAK, FREEZE), identical=False),
    Lever("one-pass divergence check", patch=lambda: replaced(
        divergence, "find_divergence", one_pass_divergence_check(divergence.find_divergence))),
]}
QUICK_LEVERS = ["2 threads", "adam foreach", "adam fused", "foreach polyak",
                "frozen critic in actor loss", "compile default",
                "fused adam + polyak + frozen critic", "one-pass divergence check"]
#: Levers on rl-lr's own callbacks: measured on whole ``rl-lr train`` runs (part 3) only.
RUN_LEVERS = ["one-pass divergence check"]

# --------------------------------------------------------------------------------------------
# Part 1: the profile
# --------------------------------------------------------------------------------------------


class Sections:
    """Exclusive wall time per section path (a section inside another is its own path)."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, ...], float] = defaultdict(float)
        self.stack: list[tuple[str, float]] = []
        self.counter = 0  # backward index within one train() call
        self.originals: list[tuple[Any, str, Any]] = []

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        if self.stack:
            self._charge(now)
        self.stack.append((name, now))

    def leave(self) -> None:
        now = time.perf_counter()
        self._charge(now)
        self.stack.pop()
        if self.stack:
            self.stack[-1] = (self.stack[-1][0], now)

    def _charge(self, now: float) -> None:
        path = tuple(name for name, _ in self.stack)
        self.seconds[path] += now - self.stack[-1][1]

    def wrap(self, owner: Any, attribute: str, label: Callable[..., str] | str) -> None:
        function = getattr(owner, attribute)

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(label(*args, **kwargs) if callable(label) else label)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        self.originals.append((owner, attribute, function))
        setattr(owner, attribute, timed)

    def restore(self) -> None:
        """Undo every :meth:`wrap`."""
        for owner, attribute, function in reversed(self.originals):
            setattr(owner, attribute, function)
        self.originals.clear()


def profile(steps: int, seed: int) -> None:
    """Section times of one ``rl-lr train`` run (evaluation every 1000 steps, 10 episodes)."""
    sections = Sections()
    networks = ("ent_coef", "critic", "actor")  # SB3's order within one gradient step
    model: list[Any] = [None]

    def backward_label(*_: Any, **__: Any) -> str:
        sections.counter += 1
        return f"backward {networks[(sections.counter - 1) % 3]}"

    def step_label(optimizer: Any, *_: Any, **__: Any) -> str:
        named = rl_lr.sb3.network_optimizers(model[0])
        name = next((n for n, o in named.items() if o is optimizer), "?")
        return f"Adam step {name} (+ step hooks)"

    def train_label(self: Any, *_: Any, **__: Any) -> str:
        model[0], sections.counter = self, 0
        return "train(): losses, .item(), logging"

    def grad(what: str, otherwise: str) -> Callable[..., str]:
        return lambda *_, **__: what if torch.is_grad_enabled() else otherwise

    for owner, attribute, label in [
        (SAC, "learn", "SB3 loop: collect_rollouts, _store_transition, ..."),
        (DummyVecEnv, "step_wait", "env step (Monitor, Pendulum)"),
        (BasePolicy, "predict", "predict (actor forward, batch 1)"),
        (ReplayBuffer, "add", "replay buffer add"),
        (ReplayBuffer, "sample", "replay buffer sample"),
        (BaseCallback, "on_step", "callbacks"),
        (BaseCallback, "on_rollout_start", "callbacks"),
        (BaseCallback, "on_rollout_end", "callbacks"),
        (BaseCallback, "update_locals", "callbacks"),
        (SAC, "train", train_label),
        (BasePolicy, "set_training_mode", "set_training_mode"),
        (sac_policies.Actor, "action_log_prob",
         grad("actor forward (grad)", "actor forward (next obs, no grad)")),
        (sac_policies.ContinuousCritic, "forward",
         grad("critic forward x2 (grad)", "critic target forward (no grad)")),
        (torch.Tensor, "backward", backward_label),
        (torch.optim.Adam, "step", step_label),
        (torch.optim.Optimizer, "zero_grad", "zero_grad"),
        (sac_module, "polyak_update", "polyak update"),
        (LRHook, "apply", "rl-lr LR hook"),
        (LRHook, "after_update", "rl-lr LR hook"),
        (rl_lr.sb3, "gradient_norm", "rl-lr gradient-norm watcher"),
        (divergence, "find_divergence", "rl-lr divergence check (every rollout start)"),
    ]:
        if hasattr(owner, attribute):  # rl-lr's run internals may move: time what is there
            sections.wrap(owner, attribute, label)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(env=ENV, algo=ALGO, steps=steps, seed=seed, lr="preset",
                                 eval_every=1000, eval_episodes=10)
            result = train(config, Path(tmp) / "run")
            timing = list(csv.DictReader((Path(tmp) / "run" / "timing.csv").open()))
    finally:
        sections.restore()
    eval_seconds = sum(float(row["eval_time_s"]) for row in timing)
    total = sum(sections.seconds.values())
    print(f"\n### Profile: one `rl-lr train` run, {steps} steps ({steps - 100} gradient "
          f"steps after SAC's 100 random ones), {len(timing)} evaluations of 10 episodes\n")
    print(f"learn() {total:.1f} s = {1e3 * total / steps:.2f} ms per env step, of which "
          f"evaluations (timing.csv) {eval_seconds:.1f} s; status {result.status}\n")
    print("| section (exclusive time) | ms per env step | share |")
    print("|---|---:|---:|")
    grouped: dict[str, float] = defaultdict(float)
    for path, seconds in sections.seconds.items():
        outer = "callbacks" in path and path[-1] != "rl-lr divergence check (every rollout start)"
        grouped["other callbacks (evaluation included)" if outer else path[-1]] += seconds
    for name, seconds in sorted(grouped.items(), key=lambda item: -item[1]):
        print(f"| {name} | {1e3 * seconds / steps:.2f} | {100 * seconds / total:.1f} % |")


# --------------------------------------------------------------------------------------------
# Part 2: the levers, chunk by chunk
# --------------------------------------------------------------------------------------------


def build_model(lever: Lever, seed: int, warmup: int) -> tuple[BaseAlgorithm, float]:
    """The agent ``rl-lr train`` builds, with ``lever``; learned ``warmup`` steps (the 100
    random steps, then updates: compilation happens here). Returns (model, warm-up seconds)."""
    with lever.active():
        started = time.perf_counter()
        model = make(ALGO, ENV, seed=seed, total_timesteps=10**7, **lever.overrides).model
        silence_logger(model)
        model.learn(warmup)
        return model, time.perf_counter() - started


def _worker(connection: Any, name: str, seed: int, warmup: int) -> None:
    """One arm in its own process (its own torch threads, patches and compiled code): builds
    the model, reports the warm-up time, then learns a chunk of steps per request and reports
    when it started and ended (``time.monotonic``, comparable across processes)."""
    torch.set_num_threads(1)
    lever = LEVERS[name]
    model, seconds = build_model(lever, seed, warmup)
    connection.send(seconds)
    while (steps := connection.recv()) is not None:
        with lever.active():
            started = time.monotonic()
            model.learn(steps, reset_num_timesteps=False)
            connection.send((started, time.monotonic()))


class Arm:
    """Worker processes running one lever; :meth:`rate` steps them all at once."""

    def __init__(self, name: str, seed: int, warmup: int, copies: int = 1) -> None:
        context = mp.get_context("spawn")
        self.connections, self.processes, self.warmups = [], [], []
        for index in range(copies):  # one after the other: warm-up times undisturbed
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, name, seed + index, warmup))
            process.start()
            self.connections.append(parent)
            self.processes.append(process)
            self.warmups.append(parent.recv())

    def rate(self, steps: int) -> float:
        """Steps per second of a chunk of ``steps`` in every copy (summed over copies)."""
        for connection in self.connections:
            connection.send(steps)
        spans = [connection.recv() for connection in self.connections]
        return len(spans) * steps / (max(end for _, end in spans) -
                                     min(start for start, _ in spans))

    def close(self) -> None:
        for connection in self.connections:
            connection.send(None)
        for process in self.processes:
            process.join()


def levers(names: list[str], rounds: int, chunk: int, seed: int, warmup: int,
           run_steps: int = 10_000) -> None:
    """Steps/s ratio of each lever to the baseline: in every round each arm's chunk runs next
    to a baseline chunk (baseline first in even rounds, second in odd ones; arm order
    rotated), and the ratio is taken against that adjacent baseline chunk."""
    arms: dict[str, Arm] = {}
    try:
        for name in ["baseline", *names]:
            arms[name] = Arm("baseline", seed, warmup, copies=2) if name == TWO_PROCESSES \
                else Arm(name, seed, warmup)
            print(f"started {name}: warm-up {arms[name].warmups[0]:.1f} s", flush=True)
        rates: dict[str, list[float]] = defaultdict(list)
        ratios: dict[str, list[float]] = defaultdict(list)
        for index in range(rounds):
            for name in names[index % len(names):] + names[:index % len(names)]:
                pair = ["baseline", name] if index % 2 == 0 else [name, "baseline"]
                measured = {arm: arms[arm].rate(chunk) for arm in pair}
                rates[name].append(measured[name])
                rates["baseline"].append(measured["baseline"])
                ratios[name].append(measured[name] / measured["baseline"])
            print(f"round {index + 1}/{rounds}: " + ", ".join(
                f"{n} {ratios[n][-1]:.2f}" for n in names), flush=True)
    finally:
        for arm in arms.values():
            arm.close()
    print(f"\n### Levers: {rounds} rounds of {chunk} steps per arm next to {chunk} baseline "
          f"steps, after {warmup} warm-up steps, each arm in its own process; baseline "
          f"{statistics.median(rates['baseline']):.1f} steps/s (median)\n")
    print("| lever | steps/s (median) | ratio to baseline (median, min-max) | extra warm-up "
          f"(compile) s | ratio over a {run_steps}-step run, warm-up counted |")
    print("|---|---:|---:|---:|---:|")
    base_seconds = run_steps / statistics.median(rates["baseline"])
    for name in names:
        ratio = statistics.median(ratios[name])
        extra = max(0.0, arms[name].warmups[0] - arms["baseline"].warmups[0])
        run_ratio = base_seconds / (base_seconds / ratio + extra)
        print(f"| {name} | {statistics.median(rates[name]):.1f} | **{ratio:.2f}x** "
              f"({min(ratios[name]):.2f}-{max(ratios[name]):.2f}) | {extra:.1f} | "
              f"{run_ratio:.2f}x |")


# --------------------------------------------------------------------------------------------
# Part 3: rl-lr's per-step overhead, whole runs
# --------------------------------------------------------------------------------------------


def _plain_sb3(steps: int, seed: int) -> float:
    model = SAC("MlpPolicy", ENV, learning_rate=1e-3, seed=seed, device="cpu")
    silence_logger(model)
    model.learn(steps)
    return 0.0


def _make_learn(steps: int, seed: int) -> float:
    model = make(ALGO, ENV, seed=seed, total_timesteps=steps).model
    silence_logger(model)
    model.learn(steps)
    return 0.0


def _rl_lr_train(steps: int, seed: int, lever: Lever = LEVERS["baseline"]) -> float:
    """The run; returns its evaluation seconds (timing.csv)."""
    with tempfile.TemporaryDirectory() as tmp, lever.active():
        train(TrainConfig(env=ENV, algo=ALGO, steps=steps, seed=seed, lr="preset",
                          eval_every=steps, eval_episodes=10, overrides=lever.overrides),
              Path(tmp) / "run")
        timing = csv.DictReader((Path(tmp) / "run" / "timing.csv").open())
        return sum(float(row["eval_time_s"]) for row in timing)


def overhead(rounds: int, steps: int, seed: int, names: list[str]) -> None:
    """Whole runs: SB3 alone, rl-lr's agent, ``rl-lr train``, and ``rl-lr train`` with each
    lever of ``names``."""
    arms: dict[str, Callable[[int, int], float]] = {
        "SB3 SAC + learn()": _plain_sb3, "agents.make + learn()": _make_learn,
        "rl-lr train (2 evaluations)": _rl_lr_train}
    for name in names:
        arms[f"rl-lr train, {name}"] = functools.partial(_rl_lr_train, lever=LEVERS[name])
    names = list(arms)
    walls: dict[str, list[float]] = defaultdict(list)
    net: dict[str, list[float]] = defaultdict(list)
    for arm in arms.values():
        arm(200, seed)  # first-use costs (imports, allocator), not charged to an arm
    for index in range(rounds):
        for name in names[index % len(names):] + names[:index % len(names)]:
            started = time.perf_counter()
            evaluation = arms[name](steps, seed)
            walls[name].append(time.perf_counter() - started)
            net[name].append(walls[name][-1] - evaluation)
        print(f"round {index + 1}/{rounds} done", flush=True)
    print(f"\n### rl-lr overhead: whole runs of {steps} steps (build included), {rounds} "
          "rounds\n")
    print("| arm | wall s (median) | steps/s ratio to SB3 SAC (median, min-max) | the same, "
          "evaluation time left out |")
    print("|---|---:|---:|---:|")
    for name in names:
        ratios = [p / w for w, p in zip(walls[name], walls[names[0]], strict=True)]
        nets = [p / w for w, p in zip(net[name], walls[names[0]], strict=True)]
        print(f"| {name} | {statistics.median(walls[name]):.1f} | "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) | "
              f"{statistics.median(nets):.3f} ({min(nets):.3f}-{max(nets):.3f}) |")


# --------------------------------------------------------------------------------------------
# Parts 4-5: same math? same learning curve?
# --------------------------------------------------------------------------------------------


def train_run(lever: Lever, seed: int, steps: int, out: Path) -> list[dict[str, str]]:
    """An ``rl-lr train`` run with ``lever`` (evaluation every 1000 steps, 10 episodes);
    its ``progress.csv`` rows."""
    torch._dynamo.reset()  # compiled code of an earlier run: not reused, not counted
    with lever.active():
        train(TrainConfig(env=ENV, algo=ALGO, steps=steps, seed=seed, lr="preset",
                          eval_every=1000, eval_episodes=10, overrides=lever.overrides),
              out, threads=lever.threads)
    return list(csv.DictReader((out / "progress.csv").open()))


def committed_rows(seed: int) -> list[dict[str, str]] | None:
    """The committed standard-benchmark run of SAC Pendulum-v1, ``constant(1e-3)``, clean."""
    for config in sorted(COMMITTED.glob("*/config.yaml")):
        run = (yaml.safe_load(config.read_text()) or {}).get("run", {})
        if (run.get("algo"), run.get("env"), run.get("seed"), run.get("lr"),
                run.get("perturb")) == (ALGO, ENV, seed, "constant(1e-3)", None):
            return list(csv.DictReader((config.parent / "progress.csv").open()))
    return None


def compare(rows: list[dict[str, str]], base: list[dict[str, str]]) -> str:
    """Whether two runs' ``progress.csv`` rows are identical, and if not whether training is
    (every column but the evaluation returns: SB3's losses, gradient norms, train return)."""
    if rows == base:
        return "identical"
    evaluation = ("eval_return_mean", "eval_return_std")
    training = [{k: v for k, v in row.items() if k not in evaluation} for row in rows]
    if training == [{k: v for k, v in row.items() if k not in evaluation} for row in base]:
        return "training identical, evaluation returns differ"
    return "different"


def identity(names: list[str], steps: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = train_run(LEVERS["baseline"], seed, steps, Path(tmp) / "baseline")
        committed = committed_rows(seed)
        verdict = "not found"
        if committed is not None:  # a 10k-step run: compare the rows at the same steps
            at = {row["timesteps"]: row for row in committed}
            common = [row for row in base if row["timesteps"] in at]
            verdict = compare([at[row["timesteps"]] for row in common], common) + \
                f" (steps {', '.join(row['timesteps'] for row in common)})"
        print(f"\n### Same math? `rl-lr train`, seed {seed}, {steps} steps, every "
              f"progress.csv cell\n\nbaseline vs the committed results/standard run: "
              f"{verdict}\n")
        print("| lever | progress.csv vs baseline | max abs diff of the train/ losses | wall s |")
        print("|---|---|---:|---:|")
        for name in names:
            if name == TWO_PROCESSES:
                continue
            started = time.perf_counter()
            rows = train_run(LEVERS[name], seed, steps, Path(tmp) / name.replace(" ", "_"))
            wall = time.perf_counter() - started
            diffs = [abs(float(a[k]) - float(b[k])) for a, b in zip(rows, base, strict=True)
                     for k in a if k.startswith("train/") and a[k] and b[k]]
            print(f"| {name} | {compare(rows, base)} | "
                  f"{max(diffs, default=0.0):.3g} | {wall:.0f} |", flush=True)


def curves(names: list[str], steps: int, seeds: list[int]) -> None:
    """Final and mean evaluation return (rows 0..steps) per seed vs the committed baseline."""
    def scores(rows: list[dict[str, str]]) -> tuple[float, float]:
        returns = [float(r["eval_return_mean"]) for r in rows if int(r["timesteps"]) <= steps]
        return returns[-1], statistics.fmean(returns)

    print(f"\n### Learning curves, seeds {seeds}, {steps} steps (final, mean of the "
          "evaluations)\n")
    print("| arm | final per seed | mean final | mean AUC |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["baseline", *names]:
            results = []
            for seed in seeds:
                rows = committed_rows(seed) if name == "baseline" else None
                if rows is None:
                    rows = train_run(LEVERS[name], seed, steps, Path(tmp) / f"{name}{seed}")
                results.append(scores(rows))
            finals = [final for final, _ in results]
            print(f"| {name} | {', '.join(f'{f:.0f}' for f in finals)} | "
                  f"{statistics.fmean(finals):.0f} | "
                  f"{statistics.fmean(auc for _, auc in results):.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes: fewer, smaller")
    parser.add_argument("--parts", nargs="*", default=["profile", "levers", "overhead",
                                                       "identity"],
                        choices=["profile", "levers", "overhead", "identity", "curves"])
    parser.add_argument("--levers", nargs="*", choices=[*LEVERS, TWO_PROCESSES],
                        help="default: all (--quick: a subset)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--chunk", type=int, help="steps per arm per round")
    parser.add_argument("--profile-steps", type=int)
    parser.add_argument("--run-steps", type=int, help="steps of an overhead run")
    parser.add_argument("--identity-steps", type=int)
    parser.add_argument("--curve-steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quick = args.quick
    chosen = args.levers or ([TWO_PROCESSES, *QUICK_LEVERS] if quick else
                             [TWO_PROCESSES, *(n for n in LEVERS if n != "baseline")])
    chosen = [n for n in chosen if n != "baseline"]
    torch.set_num_threads(1)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if "profile" in args.parts:
        profile(args.profile_steps or (600 if quick else 2000), args.seed)
    if "levers" in args.parts:
        levers([n for n in chosen if n not in RUN_LEVERS], args.rounds or (5 if quick else 15),
               args.chunk or 50, args.seed, warmup=300)
    if "overhead" in args.parts:
        overhead(args.rounds or 3, args.run_steps or (600 if quick else 1500), args.seed,
                 [n for n in chosen if n in RUN_LEVERS])
    if "identity" in args.parts:
        identity(chosen, args.identity_steps or (600 if quick else 1000), args.seed)
    if "curves" in args.parts:
        curves([n for n in chosen if not LEVERS[n].identical] if not args.levers else chosen,
               args.curve_steps, [0, 1, 2])
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""``rl-lr train``: end to end on real agents with tiny budgets -- files, determinism,
divergence, resume, bad input."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from stable_baselines3 import PPO, SAC

import rl_lr
from rl_lr.agents import ALGORITHMS
from rl_lr.cli import main
from rl_lr.envs import parse_perturbations
from rl_lr.optimizers import OPTIMIZERS
from rl_lr.run import TrainConfig, resume, train
from rl_lr.run.console import ProgressBar
from rl_lr.run.recorder import FIXED_COLUMNS

PPO_ARGS = [
    "--env", "CartPole-v1", "--algo", "ppo", "--lr", "plateau(cosine(1e-3, end=1e-4))",
    "--perturb", "gaussian(0.5)", "--steps", "512", "--seed", "3", "--n-envs", "2",
    "--eval-every", "128", "--eval-episodes", "2", "--set", "n_steps=64",
    "--set", "batch_size=64", "--set", "n_epochs=2", "--set", "policy_kwargs.net_arch=[16]",
]
SAC_ARGS = [
    "--env", "Pendulum-v1", "--algo", "sac", "--lr", "actor=cosine(1e-3)",
    "--lr", "critic=plateau(1e-3, patience=1)", "--lr", "ent_coef=3e-4", "--steps", "240",
    "--seed", "5", "--eval-every", "80", "--eval-episodes", "1", "--set", "learning_starts=60",
    "--set", "batch_size=16", "--set", "buffer_size=500", "--set", "policy_kwargs.net_arch=[16]",
    "--set", "use_sde=true",
]
SUMMARY_KEYS = {
    "budget", "timesteps", "evaluations", "final_eval_return", "final_eval_return_std",
    "final_train_return", "best_eval_return", "best_eval_timesteps", "eval_auc",
    "reward_threshold", "steps_to_threshold", "wall_time_s", "steps_per_second", "diverged",
    "diverged_at", "divergence_reason",
}


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``rl-lr train ARGV`` in-process: exit code, stdout, stderr."""
    code = main(["train", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open() as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny PPO run (with --save-model), shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("ppo") / "run"
    assert main(["train", *PPO_ARGS, "--save-model", "--quiet", "--out", str(out)]) == 0
    return out


# -- files ------------------------------------------------------------------------------------


def test_ppo_run_writes_every_file_with_the_documented_columns(ppo_run: Path) -> None:
    names = {p.name for p in ppo_run.iterdir()}
    assert {"config.yaml", "progress.csv", "timing.csv", "lr_trace.csv", "summary.json",
            "model.zip", "checkpoint"} <= names
    header, rows = read_rows(ppo_run / "progress.csv")
    assert header[:5] == list(FIXED_COLUMNS)
    assert {"grad_norm", "controller/multiplier", "train/approx_kl", "train/value_loss",
            "train/policy_gradient_loss", "train/entropy_loss"} <= set(header)
    assert [int(r["timesteps"]) for r in rows] == [0, 128, 256, 384, 512]
    assert rows[0]["train_return"] == "" and rows[0]["grad_norm"] == ""
    policy = rl_lr.parse("plateau(cosine(1e-3, end=1e-4))")
    for row in rows:  # the LR applied, read back from the optimizer, on the run's own clock
        assert float(row["lr"]) == pytest.approx(policy.value(int(row["timesteps"]) / 512))
        assert float(row["eval_return_mean"]) > 0  # clean return, despite the noisy training
    timing_header, timing = read_rows(ppo_run / "timing.csv")
    assert timing_header == ["timesteps", "wall_time_s", "eval_time_s", "steps_per_second"]
    assert [r["timesteps"] for r in timing] == [r["timesteps"] for r in rows]

    summary = json.loads((ppo_run / "summary.json").read_text())
    assert set(summary) == SUMMARY_KEYS
    means = [float(r["eval_return_mean"]) for r in rows]
    assert summary["final_eval_return"] == means[-1] and summary["best_eval_return"] == max(means)
    assert summary["evaluations"] == 5 and summary["timesteps"] == 512
    assert summary["reward_threshold"] == 475.0 and summary["diverged"] is False
    assert min(means) <= summary["eval_auc"] <= max(means)


def test_config_yaml_records_the_fully_resolved_run(ppo_run: Path) -> None:
    config = yaml.safe_load((ppo_run / "config.yaml").read_text())
    assert set(config) == {"run", "agent", "options", "versions", "git_commit"}
    run, agent = config["run"], config["agent"]
    assert (run["env"], run["algo"], run["steps"], run["seed"]) == ("CartPole-v1", "ppo", 512, 3)
    assert (run["lr"], run["perturb"]) == ("plateau(cosine(1e-3, end=1e-4))", "gaussian(0.5)")
    assert agent["lr"] == "plateau(cosine(0.001, end=0.0001))"
    assert agent["perturb"] == "[gaussian(0.5)]"
    constructor = set(ALGORITHMS["ppo"].parameters()) - {
        "policy", "env", "learning_rate", "seed", "verbose", "tensorboard_log", "device",
        "_init_setup_model"}
    assert set(agent["hyperparams"]) == constructor  # every hyper-parameter actually used
    assert agent["hyperparams"]["n_steps"] == 64 and agent["hyperparams"]["gamma"] == 0.98
    assert agent["hyperparams"]["clip_range"] == "linear(0.2)"  # zoo preset, as a spec
    assert agent["hyperparams"]["policy_kwargs"] == {"net_arch": [16]}
    assert agent["preset_source"].startswith("zoo hyperparams/ppo.yml CartPole-v1")
    assert (agent["n_envs"], agent["device"], agent["policy"]) == (2, "cpu", "MlpPolicy")
    assert {"python", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "mujoco",
            "rl-lr"} <= set(config["versions"])
    assert config["versions"]["torch"] == torch.__version__.split("+")[0] or \
        config["versions"]["torch"] == torch.__version__
    assert config["git_commit"] is None or len(config["git_commit"]) == 40
    assert config["options"] == {"threads": 1, "save_model": True, "tensorboard": False}


def test_a_config_carries_the_objects_and_renders_the_specs_as_written() -> None:
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=1000, lr="constant(3e-3)",
                         perturb="[gaussian(std=1.0), delay(5)]",
                         optimizer={"policy": "sgd(momentum=0.9)"})
    assert config.lr == {"default": rl_lr.constant(3e-3)}
    assert config.perturb == parse_perturbations("[gaussian(1.0), delay(5)]")
    assert config.optimizer == {"policy": OPTIMIZERS.parse("sgd(momentum=0.9)")}
    written = config.to_dict()
    assert (written["lr"], written["perturb"], written["optimizer"]) == (
        "constant(3e-3)", "[gaussian(std=1.0), delay(5)]", {"policy": "sgd(momentum=0.9)"})
    assert TrainConfig(**written) == config
    reseeded = dataclasses.replace(config, seed=4)
    assert reseeded.lr is config.lr and reseeded.to_dict() == written | {"seed": 4}
    changed = dataclasses.replace(config, lr={"default": rl_lr.cosine(1e-3)}, perturb=())
    assert (changed.to_dict()["lr"], changed.to_dict()["perturb"]) == (
        {"default": "cosine(0.001)"}, [])  # objects given in Python: their spec strings
    assert changed.perturb == () and changed.lr == {"default": rl_lr.cosine(1e-3)}
    assert TrainConfig(env="CartPole-v1", algo="ppo", steps=1000, lr="preset").lr is None
    with pytest.raises(rl_lr.SpecError, match="unknown perturbation 'gausian'"):
        TrainConfig(env="CartPole-v1", algo="ppo", steps=1000, perturb="gausian(1.0)")


def test_committed_runs_read_back_and_render_the_same() -> None:
    """Run ids hash ``to_dict()``: a committed run's ``config.yaml`` must read back into the
    same text."""
    paths = sorted((Path(__file__).resolve().parents[1] / "results").glob("*/runs/*/config.yaml"))
    assert paths
    for path in paths[::25]:
        run = yaml.safe_load(path.read_text())["run"]
        assert TrainConfig(**run).to_dict() == run, path


def test_saved_model_loads_with_its_lr_policy_state(ppo_run: Path) -> None:
    model = PPO.load(ppo_run / "model.zip", device="cpu")
    hook = rl_lr.attach(model)
    assert hook.attached.total_timesteps == 512
    policy = hook.attached.policies["policy"]
    assert repr(policy) == "plateau(cosine(0.001, end=0.0001))"
    assert policy.state.measurements > 0  # the controller's state came back with the model
    assert model.num_timesteps == 512


def test_same_command_twice_gives_byte_identical_progress(
    ppo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb3_dirs = set(Path(tempfile.gettempdir()).glob("SB3-*"))
    code, _, _ = cli([*PPO_ARGS, "--save-model", "--quiet", "--out", str(tmp_path / "again")],
                     capsys)
    assert code == 0
    assert (tmp_path / "again" / "progress.csv").read_bytes() == \
        (ppo_run / "progress.csv").read_bytes()
    assert set(Path(tempfile.gettempdir()).glob("SB3-*")) == sb3_dirs  # no empty log dir left


def test_sac_run_per_network_columns_and_identical_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        code, out, err = cli([*SAC_ARGS, "--quiet", "--out", str(tmp_path / name)], capsys)
        assert code == 0 and "complete: 240 steps" in out and "\r" not in err
    assert (tmp_path / "a" / "progress.csv").read_bytes() == \
        (tmp_path / "b" / "progress.csv").read_bytes()
    header, rows = read_rows(tmp_path / "a" / "progress.csv")
    assert {"lr/actor", "lr/critic", "lr/ent_coef", "grad_norm/actor", "grad_norm/critic",
            "controller/critic/multiplier", "train/actor_loss", "train/critic_loss",
            "train/ent_coef"} <= set(header)
    assert [int(r["timesteps"]) for r in rows] == [0, 80, 160, 240]
    last = rows[-1]
    assert float(last["lr/actor"]) == pytest.approx(0.0, abs=1e-12)  # cosine to 0 at the end
    assert float(last["lr/ent_coef"]) == 3e-4 and last["lr"] == last["lr/actor"]
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    # Gymnasium sets no threshold for Pendulum-v1: the control suite's -250 applies
    assert summary["reward_threshold"] == -250.0 and summary["steps_to_threshold"] is None


def lr_at(trace: list[dict[str, str]], network: str, step: int) -> float:
    """The LR ``lr_trace.csv`` says ``network`` held at ``step`` (its step function)."""
    rows = [r for r in trace if r["network"] == network and int(r["timesteps"]) <= step]
    return float(rows[-1]["lr"])


def test_the_lr_trace_holds_every_update_and_agrees_with_the_evaluations(ppo_run: Path) -> None:
    """PPO, 2 envs x 64 steps: an update every 128 steps; the cosine moves more than 1 % at
    each, so each has a row; at every evaluation the trace says what progress.csv read."""
    header, trace = read_rows(ppo_run / "lr_trace.csv")
    assert header == ["timesteps", "network", "lr", "lr_min", "lr_max"]
    assert [int(r["timesteps"]) for r in trace] == [128, 256, 384, 512]
    _, rows = read_rows(ppo_run / "progress.csv")
    for row in rows[1:]:
        assert lr_at(trace, "policy", int(row["timesteps"])) == pytest.approx(float(row["lr"]))
    for r in trace:  # a schedule holds one LR through an update
        assert r["lr_min"] == r["lr"] == r["lr_max"]


def test_the_lr_trace_is_run_length_encoded_and_sees_inside_updates(tmp_path: Path) -> None:
    """A constant costs one row; kl_adaptive per minibatch moves the LR between the optimizer
    steps of an update, which the evaluations never see and lr_min/lr_max do."""
    common = dict(env="CartPole-v1", algo="ppo", steps=512, seed=1, eval_every=512,
                  eval_episodes=1, n_envs=1, overrides={"n_steps": 64, "batch_size": 16})
    train(TrainConfig(lr="constant(1e-3)", **common), tmp_path / "constant")  # type: ignore[arg-type]
    _, trace = read_rows(tmp_path / "constant" / "lr_trace.csv")
    assert [(r["timesteps"], r["lr"]) for r in trace] == [("64", "0.001")]
    train(TrainConfig(lr="kl_adaptive(1e-3, cadence='minibatch')", **common),  # type: ignore[arg-type]
          tmp_path / "kl")
    _, trace = read_rows(tmp_path / "kl" / "lr_trace.csv")
    _, rows = read_rows(tmp_path / "kl" / "progress.csv")
    assert len(rows) == 2 and len(trace) > 2  # more than the evaluations show
    assert any(float(r["lr_min"]) < float(r["lr_max"]) for r in trace)
    for r in trace:
        assert float(r["lr_min"]) <= float(r["lr"]) <= float(r["lr_max"])


# -- divergence -------------------------------------------------------------------------------


def test_divergence_is_recorded_not_crashed(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, stdout, err = cli([
        "--env", "Pendulum-v1", "--algo", "sac", "--lr", "10", "--steps", "400",
        "--eval-every", "20", "--eval-episodes", "1", "--set", "learning_starts=32",
        "--set", "batch_size=32", "--set", "buffer_size=500",
        "--set", "policy_kwargs.net_arch=[4]", "--quiet", "--out", str(out)], capsys)
    assert code == 0 and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diverged"] is True and 32 < summary["diverged_at"] < 400
    assert "not finite" in summary["divergence_reason"] or "inf" in summary["divergence_reason"]
    assert f"diverged at step {summary['diverged_at']}" in stdout
    _, rows = read_rows(out / "progress.csv")
    assert rows and all(int(r["timesteps"]) <= summary["diverged_at"] for r in rows)
    assert all(math.isfinite(float(r["eval_return_mean"])) for r in rows)


def test_divergence_inside_an_update_is_recognised(tmp_path: Path) -> None:
    """SGD at a huge LR makes PPO's parameters NaN within an update; torch.distributions then
    raises: the run still ends as diverged, with the step."""
    pytest.importorskip("rl_lr.optimizers")
    config = TrainConfig(env="CartPole-v1", algo="ppo", lr="1e10", optimizer="sgd()",
                         steps=1024, eval_every=128, eval_episodes=1, preset="sb3", overrides={
                             "n_steps": 64, "batch_size": 64, "n_epochs": 2,
                             "policy_kwargs": {"net_arch": [4]}, "max_grad_norm": 1e30})
    result = train(config, tmp_path / "run")
    assert result.status == "diverged" and result.summary is not None
    assert result.summary["diverged_at"] < 1024


@rl_lr.register("nan_after_half")
@dataclass(frozen=True, repr=False)
class NanAfterHalf(rl_lr.LRPolicy):
    """A test policy: ``lr`` for the first half of the run, NaN after."""

    lr: float

    def _value(self, progress: float) -> float:
        return self.lr if progress < 0.5 else math.nan


def test_a_non_finite_lr_ends_the_run_as_diverged(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, stdout, _ = cli([*PPO_ARGS[:5], "nan_after_half(1e-3)", *PPO_ARGS[6:],
                           "--quiet", "--out", str(out)], capsys)
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0 and summary["diverged"] and summary["diverged_at"] == 256
    assert summary["divergence_reason"].startswith("LR")
    assert "run diverged at step 256" in stdout


# -- resume -----------------------------------------------------------------------------------


def test_ppo_resume_gives_the_same_files_as_a_run_that_never_stopped(
    ppo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rl_lr.cli.main import build_parser
    from rl_lr.cli.train import _config_from_args  # the CLI's own reading of the arguments

    out = tmp_path / "stopped"
    args = build_parser().parse_args(["train", *PPO_ARGS, "--out", str(out)])
    result = train(_config_from_args(args), out, save_model=True, stop_after=200)
    assert result.status == "stopped" and not (out / "summary.json").exists()
    _, rows = read_rows(out / "progress.csv")
    assert int(rows[-1]["timesteps"]) == 256
    code, stdout, _ = cli(["--resume", str(out), "--quiet"], capsys)
    assert code == 0 and "complete: 512 steps" in stdout
    assert (out / "progress.csv").read_bytes() == (ppo_run / "progress.csv").read_bytes()
    assert (out / "lr_trace.csv").read_bytes() == (ppo_run / "lr_trace.csv").read_bytes()
    whole = json.loads((ppo_run / "summary.json").read_text())
    resumed = json.loads((out / "summary.json").read_text())
    clock = {"wall_time_s", "steps_per_second"}
    assert {k: v for k, v in resumed.items() if k not in clock} == \
        {k: v for k, v in whole.items() if k not in clock}
    a, b = PPO.load(ppo_run / "model.zip"), PPO.load(out / "model.zip")
    assert repr(a.learning_rate) == repr(b.learning_rate)
    assert a.learning_rate.policies["policy"].state_dict() == \
        b.learning_rate.policies["policy"].state_dict()
    code, _, err = cli(["--resume", str(out)], capsys)
    assert code == 0 and "already finished" in err


def test_stop_after_only_stops_at_an_evaluation_inside_learn(ppo_run: Path,
                                                              tmp_path: Path) -> None:
    """Past the last evaluation inside ``learn()``, the final row does not stop the run."""
    from rl_lr.cli.main import build_parser
    from rl_lr.cli.train import _config_from_args

    args = build_parser().parse_args(["train", *PPO_ARGS, "--out", str(tmp_path)])
    result = train(_config_from_args(args), tmp_path / "run", save_model=True, stop_after=500)
    assert result.status == "complete"
    assert (tmp_path / "run" / "progress.csv").read_bytes() == \
        (ppo_run / "progress.csv").read_bytes()


def test_sac_resume_with_replay_buffer_gsde_and_controllers(tmp_path: Path) -> None:
    from rl_lr.cli.main import build_parser
    from rl_lr.cli.train import _config_from_args

    args = build_parser().parse_args(
        ["train", *SAC_ARGS, "--n-envs", "2", "--steps", "480", "--out", str(tmp_path)])
    config = _config_from_args(args)
    whole = train(config, tmp_path / "whole", save_model=True)
    stopped = train(config, tmp_path / "stopped", save_model=True, stop_after=100)
    assert whole.status == "complete" and stopped.status == "stopped"
    resumed = resume(tmp_path / "stopped")
    assert resumed.status == "complete"
    assert (tmp_path / "stopped" / "progress.csv").read_bytes() == \
        (tmp_path / "whole" / "progress.csv").read_bytes()
    assert (tmp_path / "stopped" / "lr_trace.csv").read_bytes() == \
        (tmp_path / "whole" / "lr_trace.csv").read_bytes()
    a = SAC.load(tmp_path / "whole" / "model.zip")
    b = SAC.load(tmp_path / "stopped" / "model.zip")
    critic = a.learning_rate.policies["critic"]
    assert critic.state.measurements > 0  # episodes ended on both sides of the stop
    assert repr(critic.state_dict()) == repr(b.learning_rate.policies["critic"].state_dict())
    for p, q in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(p, q)


# -- bad input --------------------------------------------------------------------------------


BASE = ["--env", "CartPole-v1", "--algo", "ppo", "--steps", "64"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "CartPol-v1", "--algo", "ppo", "--steps", "64"], "did you mean 'CartPole-v1'"),
        (["--env", "CartPole-v1", "--algo", "pp0", "--steps", "64"], "did you mean 'ppo'"),
        ([*BASE, "--lr", "cosine(3e-4"], "unbalanced brackets"),
        ([*BASE, "--lr", "cosin(3e-4)"], "did you mean 'cosine'"),
        ([*BASE, "--perturb", "gaussian(-1)"], "std must be a finite number >= 0"),
        ([*BASE, "--set", "n_step=8"], "unknown hyper-parameter 'n_step' for PPO"),
        ([*BASE, "--set", "n_steps"], "--set expects KEY=VALUE"),
        ([*BASE, "--set", "batch_size=0"], "PPO refused its hyper-parameters"),
        (["--env", "CartPole-v1", "--algo", "ppo", "--steps", "0"], "expected a positive integer"),
        (["--env", "CartPole-v1", "--algo", "ppo", "--steps", "-3"],
         "expected a positive integer"),
        (["--env", "CartPole-v1", "--algo", "sac", "--steps", "64"], "sac cannot act in"),
        ([*BASE, "--algo", "a2c", "--lr", "kl_adaptive(1e-3)"], "a2c does not report"),
        (["--env", "CartPole-v1", "--algo", "ppo"], "missing --steps"),
        ([*BASE, "--set", "n_steps=[1"], "--set n_steps: cannot read '[1' as a value"),
        ([*BASE, "--lr", "policy=cosine(1e-3)", "--lr", "policy=constant(1e-3)"],
         "--lr: network policy given twice"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, _stdout, err = cli([*argv, "--quiet", "--out", str(out)], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def _listing(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def test_an_output_directory_holding_a_run_is_left_untouched(
    ppo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _listing(ppo_run)
    code, _, err = cli([*PPO_ARGS, "--seed", "4", "--out", str(ppo_run)], capsys)
    assert code == 2 and "holds a different run (differs in seed)" in err
    code, _, err = cli([*PPO_ARGS, "--save-model", "--out", str(ppo_run)], capsys)
    assert code == 2 and "already holds this run" in err and "--resume" in err
    assert _listing(ppo_run) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _, err = cli([*PPO_ARGS, "--out", str(other)], capsys)
    assert code == 2 and "holds no rl-lr run" in err
    code, _, err = cli(["--resume", str(ppo_run), "--steps", "5"], capsys)
    assert code == 2 and "drop --steps" in err
    code, _, err = cli(["--resume", str(other)], capsys)
    assert code == 2 and "no config.yaml" in err


def test_resume_needs_a_saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=128, eval_every=64,
                         eval_episodes=1, overrides={"n_steps": 64, "batch_size": 64})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump({
        "run": config.to_dict(), "options": {"save_model": False}}))
    code, _, err = cli(["--resume", str(tmp_path / "run")], capsys)
    assert code == 2 and "no checkpoint" in err


# -- progress bar and options -----------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only() -> None:
    terminal = _Terminal()
    bar = ProgressBar(1000, stream=terminal, interval=0.0)
    bar.train_return, bar.eval_return, bar.lr = 12.5, 30.0, 3e-4
    bar.update(250)
    bar.update(500, force=True)
    bar.close()
    text = terminal.getvalue()
    assert text.startswith("\r[") and "500/1,000 steps" in text and "/s" in text
    assert "return 12.5" in text and "eval 30" in text and "lr 0.0003" in text
    assert text.endswith("\n")
    for bar in (ProgressBar(10, stream=io.StringIO()), ProgressBar(10, False, _Terminal())):
        bar.update(5, force=True)
        bar.close()
        assert bar.stream.getvalue() == ""  # type: ignore[attr-defined]


def test_train_uses_the_requested_threads_and_restores_them(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=64, eval_every=64,
                         eval_episodes=1, overrides={"n_steps": 32, "batch_size": 32}, n_envs=2)
    result = train(config, tmp_path / "run", threads=2)
    assert result.status == "complete" and torch.get_num_threads() == before
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["options"]["threads"] \
        == 2


def test_tensorboard_needs_its_package_or_writes_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    code, _, err = cli([*BASE, "--set", "n_steps=32", "--set", "batch_size=32",
                        "--eval-every", "64", "--eval-episodes", "1", "--tensorboard",
                        "--quiet", "--out", str(tmp_path / "run")], capsys)
    if importlib.util.find_spec("tensorboard") is None:
        assert code == 2 and "pip install tensorboard" in err
        assert not (tmp_path / "run").exists()
    else:
        assert code == 0 and any((tmp_path / "run" / "tb").rglob("events.*"))


def test_resume_of_a_run_stopped_after_its_last_checkpoint_only_finishes_it(
    ppo_run: Path, tmp_path: Path
) -> None:
    """Killed between the final checkpoint and summary.json: resume just writes the end."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(ppo_run, out)
    (out / "summary.json").unlink()
    (out / "model.zip").unlink()
    result = resume(out)
    assert result.status == "complete" and not result.already_done
    assert (out / "progress.csv").read_bytes() == (ppo_run / "progress.csv").read_bytes()
    assert (out / "model.zip").exists()
    assert result.summary is not None and result.summary["final_eval_return"] == \
        json.loads((ppo_run / "summary.json").read_text())["final_eval_return"]

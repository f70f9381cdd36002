"""Figures: every kind rendered from a small real experiment (the smoke suite), as valid, non-blank
PNG and SVG files of the expected size; the bands agree with rl_lr.metrics; one colour per
policy everywhere; regime switches and divergences are marked; ``rl-lr plot``."""

from __future__ import annotations

import functools
import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from rl_lr import metrics
from rl_lr.cli import main
from rl_lr.plots import (
    curve_band,
    lr_band,
    new_axes,
    plot_diagnostic,
    plot_grouped_intervals,
    plot_heatmap,
    plot_intervals,
    plot_learning_curves,
    plot_lr_curve,
    plot_lr_policy,
    plot_lr_traces,
    plot_performance_profiles,
    plot_probability_of_improvement,
    policy_colours,
    save_figure,
)
from rl_lr.report.figures import FIGURES, REPORT_KINDS, make_figure
from rl_lr.results import Results, load_results

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.yaml"


@functools.cache
def smoke_experiment(base: Path) -> Path:
    """The smoke suite run once per test session (also used by tests/test_report.py)."""
    from rl_lr.harness import run_experiment

    out = base / "smoke_experiment"
    result = run_experiment(SMOKE, out, workers=2, quiet=True)
    assert result.failed == {}, result.failed
    return out


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smoke_experiment(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def data(experiment_dir: Path) -> Results:
    return load_results(experiment_dir)


def check_png(path: Path, size: tuple[int, int]) -> None:
    """A valid PNG of ``size`` pixels, >= 150 dpi, that is not blank."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        assert min(image.info["dpi"]) >= 149.9
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    ink = np.any(pixels < 200, axis=2).mean()  # drawn (non-white-ish) fraction of the image
    assert 0.01 < ink < 0.9, f"{path.name}: {ink:.3f} of the pixels drawn"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # lines, text, colours


def check_svg(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert float(root.attrib["width"].removesuffix("pt")) > 100
    assert len(list(root.iter())) > 100



def test_an_axis_fixed_by_the_policy_is_part_of_it_not_a_panel(data: Results) -> None:
    """schedule-free AdamW as its own policy (lr label ``sf``, optimizer ``sf``) shares the
    panels of the other policies; an optimizer varied within a policy makes panels."""
    sf_rows = [{**row, "lr": "sf", "optimizer": "sf"} for row in data.summary
               if row["lr"] == "cosine"]
    with_sf = replace(data, summary=[*data.summary, *sf_rows])
    assert with_sf.panel_axes == ["env", "perturb"]
    assert with_sf.panels == data.panels and len(with_sf.rows(data.panels[0], "sf")) == 2
    crossed = replace(data, summary=[*data.summary, *({**r, "lr": "cosine"} for r in sf_rows)])
    assert crossed.panel_axes == ["env", "perturb", "optimizer"]


# --------------------------------------------------------------------------- every figure


def test_an_experiment_is_read_once_into_a_small_structure(data: Results) -> None:
    assert data.name == "smoke" and not data.partial and data.finished == data.planned == 8
    assert data.policies == ["cosine", "plateau"]
    assert data.panel_axes == ["env", "perturb"]
    assert [dict(p)["perturb"] for p in data.panels] == ["clean", "noise"]
    curves = data.group_curves(data.panels[0], "cosine")
    assert curves is not None and curves.values.shape == (2, curves.timesteps.size)
    table = data.score_table
    assert table.normalised and {k: v.shape for k, v in table.scores.items()} == {
        "cosine": (2, 2), "plateau": (2, 2)}
    assert sorted(data.ranking()) == data.policies


@pytest.mark.parametrize("kind", [k for k in FIGURES if k not in ("base_lr", "dose")])
def test_every_figure_kind_renders_from_a_real_experiment(experiment_dir: Path, data: Results,
                                                     kind: str, tmp_path: Path) -> None:
    """``rl-lr bench`` wrote every figure of the report into report/figures (PNG at 150 dpi and
    SVG); a kind the report does not show (``lr``: the curves figure has it) is saved here.
    ``base_lr`` and ``dose`` need an experiment with that axis: tests/test_report_base_lr.py,
    tests/test_report_dose.py."""
    figure = make_figure(data, kind)
    width, height = figure.get_size_inches()
    png = experiment_dir / "report" / "figures" / f"{kind}.png"
    if kind not in REPORT_KINDS:
        png = tmp_path / f"{kind}.png"
        save_figure(figure, png, dpi=150, svg=True)
    check_png(png, (round(width * 150), round(height * 150)))
    check_svg(png.with_suffix(".svg"))
    assert "PARTIAL" not in figure.get_suptitle()  # a finished experiment


def test_saving_is_reproducible(experiment_dir: Path, data: Results, tmp_path: Path) -> None:
    save_figure(make_figure(data, "aggregates"), tmp_path / "a.png", svg=True)
    for suffix in (".png", ".svg"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (
            experiment_dir / "report" / "figures" / f"aggregates{suffix}").read_bytes()


def test_one_colour_per_policy_in_every_figure(data: Results) -> None:
    colours = policy_colours(data.policies)
    assert colours == policy_colours(reversed(data.policies))  # sorted, stable
    curves = make_figure(data, "curves")
    for ax in curves.axes:
        for line in ax.get_lines():
            if line.get_label() in colours:
                assert line.get_color() == colours[str(line.get_label())]
    legend_colours = {t.get_text().split(":")[0]: h.get_color() for t, h in
                      zip(curves.legends[0].get_texts(), curves.legends[0].legend_handles,
                          strict=True) if t.get_text().split(":")[0] in colours}
    assert legend_colours == colours
    # an experiment where only plateau has finished runs yet keeps plateau's colour
    plateau_only = replace(data, summary=[r for r in data.summary if r["lr"] == "plateau"])
    assert plateau_only.policies == ["plateau"]
    assert plateau_only.palette_policies == ["cosine", "plateau"]  # planned, not finished
    ax = make_figure(plateau_only.select(["CartPole-v1"]), "curves").axes[0]
    assert [line.get_color() for line in ax.get_lines() if line.get_label() == "plateau"] == [
        colours["plateau"]]


def test_a_legend_names_a_policys_spec_only_when_all_its_runs_share_it(data: Results) -> None:
    """``label: spec`` when every run of the policy has that spec; the label alone when its
    runs have several (an LR per env, a configuration tuned per condition), never one of
    them as if it were the policy's."""
    def legend(results: Results) -> list[str]:
        return [t.get_text() for t in make_figure(results, "curves").legends[0].get_texts()]

    assert data.specs["plateau"]
    assert f"plateau: {data.specs['plateau']}" in legend(data)
    first = data.summary.index(next(r for r in data.summary if r["lr"] == "plateau"))
    rows = [dict(r, lr_spec="plateau(0.5)") if i == first else r
            for i, r in enumerate(data.summary)]
    mixed = replace(data, summary=rows)
    assert mixed.specs["plateau"] == ""
    assert "plateau" in legend(mixed)
    assert not any(text.startswith("plateau:") for text in legend(mixed))


def test_a_legend_names_the_optimizer_and_fits_the_figure(data: Results) -> None:
    """A policy run with its own optimizer is named with it (``spec with optimizer``), and
    the legend below a one-panel figure fits inside it, its long labels wrapped."""
    rows = [dict(r, optimizer_spec="adam(betas=[0.99, 0.99], eps=1e-5)",
                 lr_spec="reset_on_change(constant(0.002597), window=6, threshold=3.147)")
            if r["lr"] == "plateau" else r for r in data.summary]
    one_panel = replace(data, summary=[r for r in rows if data.panel_of(r) == data.panels[0]])
    assert one_panel.specs["plateau"].endswith(" with adam(betas=[0.99, 0.99], eps=1e-5)")
    figure = make_figure(one_panel, "curves")
    figure.draw_without_rendering()  # lays the figure out
    legend = figure.legends[0].get_window_extent()
    assert legend.x0 >= 0 and legend.x1 <= figure.bbox.width
    assert "adam(betas" in " ".join(t.get_text() for t in figure.legends[0].get_texts())


def test_regime_switches_and_divergence_are_marked(data: Results) -> None:
    noise = data.panels[1]
    summary = []
    diverged_id = ""
    for row in data.summary:
        row = dict(row)
        if data.panel_of(row) == noise:
            row["perturb_spec"] = "switch(at=[0.5], scale=[1.0, -1.0])"
            if row["lr"] == "cosine" and not diverged_id:
                row.update(diverged="1", final_eval_return="nan", diverged_at="1024")
                diverged_id = row["run_id"]
        summary.append(row)
    curves = dict(data.curves)
    t, y = curves[diverged_id]["eval_return_mean"]
    curves[diverged_id] = {**curves[diverged_id],
                           "eval_return_mean": (t, np.where(t >= t[-1], np.nan, y))}
    changed = replace(data, summary=summary, curves=curves)
    # smoke: 768 steps over 8 envs = 96 steps each; regime 2 starts at step 48 of each env
    assert changed.switch_steps(noise) == [48 * 8]
    assert changed.switch_steps(data.panels[0]) == []
    figure = make_figure(changed, "curves")
    noise_ax = next(ax for ax in figure.axes if ax.get_title().endswith("noise"))
    vertical = [line for line in noise_ax.get_lines()
                if line.get_linestyle() == ":" and len(set(line.get_xdata())) == 1]
    assert [float(line.get_xdata()[0]) for line in vertical] == [384.0]
    crosses = [line for line in noise_ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and float(crosses[0].get_xdata()[0]) == float(t[-2])
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "regime switch" in labels and "diverged run" in labels  # reward or dynamics
    assert changed.final_score(next(r for r in summary if r["run_id"] == diverged_id)) == y[-2]


def test_envs_without_a_normalisation_range(data: Results) -> None:
    """Envs in no suite: raw returns (one env), or only the known envs pooled (several)."""
    def renamed(names: dict[str, str]) -> Results:
        def env(row: dict[str, str]) -> dict[str, str]:
            return {**row, "env": names[row["perturb"]]}

        return replace(data, summary=[env(r) for r in data.summary],
                       metrics=[env(r) for r in data.metrics])

    one = renamed({"clean": "Foo-v0", "noise": "Foo-v0"})
    assert not one.score_table.normalised and "raw returns: Foo-v0" in one.score_table.note
    assert "optimality_gap" not in one.policy_intervals["cosine"]
    two = renamed({"clean": "Foo-v0", "noise": "Bar-v0"})
    assert two.envs == ["Foo-v0", "Bar-v0"] and len(two.score_table.tasks) == 1
    assert "left out Bar-v0" in two.score_table.note
    figure = make_figure(two, "heatmap")
    assert "scaled within each column" in figure.axes[1].get_ylabel()  # the colour bar
    cells = {t.get_text().split("\n")[0] for t in figure.axes[0].texts}
    finals = {f"{float(r['final_iqm']):.0f}" for r in data.metrics}
    assert cells == finals  # raw returns written in the cells
    for kind in ("aggregates", "profiles", "stability", "curves"):
        make_figure(two, kind)


# --------------------------------------------------------------------------- building blocks


def test_curve_band_is_the_metrics_bootstrap_at_each_point() -> None:
    x = np.random.default_rng(3).normal(size=(7, 5))
    for statistic in ("iqm", "mean"):
        centre, low, high = curve_band(x, statistic=statistic, rng=11)  # type: ignore[arg-type]
        for j in range(x.shape[1]):
            ci = metrics.stratified_bootstrap_ci(x[:, [j]], statistic, rng=11)
            assert (centre[j], low[j], high[j]) == pytest.approx(tuple(ci), rel=1e-12)
    again = curve_band(x, rng=11)
    assert all(np.array_equal(a, b) for a, b in zip(curve_band(x, rng=11), again, strict=True))


def test_curve_band_uses_the_runs_present_at_each_point() -> None:
    x = np.array([[1.0, 2.0, np.nan], [3.0, np.inf, np.nan], [5.0, 6.0, np.nan]])
    centre, low, high = curve_band(x, statistic="mean", rng=0)
    assert centre[:2].tolist() == [3.0, 4.0] and np.isnan(centre[2])
    assert low[1] >= 2.0 and high[1] <= 6.0 and np.isnan(low[2]) and np.isnan(high[2])
    with pytest.raises(ValueError, match=r"values must have shape \(runs, points\)"):
        curve_band([1.0, 2.0], rng=0)
    with pytest.raises(ValueError, match="statistic must be"):
        curve_band(x, statistic="median", rng=0)  # type: ignore[arg-type]


def test_lr_band_and_zero_lr_on_a_log_axis() -> None:
    med, low, high = lr_band([[1e-3, 5e-4, 0.0], [1e-3, 2.5e-4, 0.0]])
    assert med.tolist() == [1e-3, 3.75e-4, 0.0] and low[1] == 2.5e-4 and high[1] == 5e-4
    ax = plot_lr_traces({"cosine": ([0, 50, 100], [[1e-3, 5e-4, 0.0]])})
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [100.0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "applied learning rate"


def test_plot_functions_take_an_axes_and_return_it() -> None:
    scores = {"a": np.array([[0.2, 0.4], [0.6, 0.5]]), "b": np.array([[0.5, 0.1], [0.9, 0.3]])}
    calls = [
        lambda ax: plot_learning_curves({"a": ([0, 1], [[0.0, 1.0], [0.0, 2.0]])}, ax),
        lambda ax: plot_lr_traces({"a": ([0, 1], [[1e-3, 1e-4]])}, ax),
        lambda ax: plot_intervals({"a": (1.0, 0.5, 1.5), "b": 2.0}, ax),
        lambda ax: plot_grouped_intervals({"g": {"a": (1.0, 0.5, 1.5)}}, ax),
        lambda ax: plot_performance_profiles(scores, ax, reps=50),
        lambda ax: plot_probability_of_improvement(scores, ax, reps=50),
        lambda ax: plot_heatmap([[0.1, 0.2]], ["a"], ["x", "y"], ax),
        lambda ax: plot_lr_curve([0, 1], [1e-3, 1e-4], ax),
    ]
    for call in calls:
        ax = new_axes()
        assert call(ax) is ax
        assert isinstance(call(None).get_figure(root=True), Figure)  # ax=None: its own figure


def test_existing_names_keep_working(tmp_path: Path) -> None:
    import rl_lr

    ax = plot_lr_policy(rl_lr.cosine(1e-3, warmup=0.1), total_steps=1000, log_scale=True)
    assert ax.get_xlabel() == "timesteps"
    out = save_figure(ax, tmp_path / "lr.png")
    assert out == tmp_path / "lr.png" and not out.with_suffix(".svg").exists()
    with pytest.raises(ValueError, match="colours must give a colour for every policy"):
        plot_intervals({"a": 1.0}, colours={"b": "red"})


def test_the_diagnostics_figure_draws_what_each_task_logged(data: Results) -> None:
    """PPO: the LR, then loss, KL, clip fraction, gradient norm and entropy, one colour per
    policy, the mean of the seeds; a task without a KL (SAC, A2C) has no KL panel."""
    figure = make_figure(data, "diagnostics")
    titles = [ax.get_title() for ax in figure.axes if ax.axison]
    wanted = ["applied LR", "loss", "approx. KL (rollout → updated policy)", "clip fraction",
              "gradient norm (after clipping)", "policy entropy (−entropy loss)"]
    assert titles == wanted * len(data.panels)
    assert [sub.get_suptitle() for sub in figure.subfigs] == [
        data.panel_title(p) for p in data.panels]
    colours = policy_colours(data.policies)
    entropy = figure.axes[5]
    for line in entropy.get_lines():
        if line.get_label() in colours:
            assert line.get_color() == colours[str(line.get_label())]
            group = data.group_curves(data.panels[0], str(line.get_label()), "train/entropy_loss")
            assert group is not None
            assert np.allclose(line.get_ydata(), -np.nanmean(group.values, axis=0))
    no_kl = replace(data, curves={run: {m: t for m, t in per.items()
                                        if m not in ("train/approx_kl", "train/clip_fraction")}
                                  for run, per in data.curves.items()})
    titles = [ax.get_title() for ax in make_figure(no_kl, "diagnostics").axes if ax.axison]
    assert "clip fraction" not in titles and titles.count("loss") == len(data.panels)
    ax = plot_diagnostic({"a": ([0, 1, 2], [[1e-4, 1e-2, 1.0]])}, ylabel="KL", log_scale=True)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "KL"


def test_the_lr_figure_draws_every_update_from_the_traces(experiment_dir: Path, data: Results,
                                                         tmp_path: Path) -> None:
    """Runs with lr_trace.csv: steps at every update, agreeing with the evaluations; runs
    without one (written before traces existed): lines between the evaluation points."""
    panel = data.panels[1]
    steps, every_update = data.group_lr(panel, "plateau")
    evaluations = data.group_curves(panel, "plateau", "lr")
    assert every_update and steps is not None and evaluations is not None
    for j, t in enumerate(evaluations.timesteps):  # the step function at each evaluation
        at = np.searchsorted(steps.timesteps, t, side="right") - 1
        assert np.allclose(steps.values[:, at], evaluations.values[:, j], rtol=0.011)
    lines = [line for line in make_figure(data, "lr").axes[0].get_lines()
             if line.get_label() in data.policies]
    assert {line.get_drawstyle() for line in lines} == {"steps-post"}
    old = tmp_path / "old"
    shutil.copytree(experiment_dir, old, ignore=shutil.ignore_patterns("lr_trace.csv"))
    before = load_results(old)
    assert before.group_lr(panel, "plateau")[1] is False
    lines = [line for line in make_figure(before, "lr").axes[0].get_lines()
             if line.get_label() in data.policies]
    assert {line.get_drawstyle() for line in lines} == {"default"}


# --------------------------------------------------------------------------- rl-lr plot


def test_plot_command(experiment_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    out = tmp_path / "heat.png"
    assert main(["plot", str(experiment_dir), "--kind", "heatmap", "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out), str(out.with_suffix(".svg"))]
    with Image.open(out) as image:
        assert image.format == "PNG"
    assert main(["plot", str(experiment_dir), "--kind", "lr", "--env", "CartPole-v1"]) == 0
    assert (experiment_dir / "plots" / "lr-CartPole-v1.png").is_file()
    small = tmp_path / "small.png"
    assert main(["plot", str(experiment_dir), "--kind", "heatmap", "--out", str(small),
                 "--compact"]) == 0
    with Image.open(small) as image:
        assert image.mode == "P" and min(image.info["dpi"]) >= 149.9
    assert small.stat().st_size < out.stat().st_size
    check_png(small, Image.open(out).size)
    capsys.readouterr()
    bad = [(["--kind", "curves", "--env", "Nope-v0"], "--env Nope-v0: not in this experiment"),
           (["--kind", "curves", "--out", str(tmp_path / "x.jpg")], "--out must end in"),
           (["--kind", "colours"], "invalid choice"),
           (["--kind", "lr", "--dpi", "72"], ">= 150 dpi")]
    for args, message in bad:
        assert main(["plot", str(experiment_dir), *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(["plot", str(tmp_path), "--kind", "lr"]) == 2
    assert "is not an experiment directory" in capsys.readouterr().err


def test_plot_command_with_nothing_to_draw_yet(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "experiment.yaml").write_text(json.dumps({"name": "x", "run_ids": ["a"]}))
    assert main(["plot", str(tmp_path), "--kind", "curves"]) == 1
    assert "nothing to draw: no finished runs" in capsys.readouterr().err


def test_readme_shows_figures_from_results() -> None:
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\((results/figures/[^)]+\.png)\)", readme)
    assert len(images) >= 2
    for image in images:
        path = ROOT / image
        assert path.is_file() and path.stat().st_size < 200_000
        with Image.open(path) as png:
            png.verify()


def test_a_selection_is_partial_only_if_its_own_runs_are_missing(data: Results) -> None:
    more = replace(data, experiment={**data.experiment, "run_ids": [*data.planned_ids, "p1"]})
    more.__dict__["plan_labels"] = {**data.plan_labels, "p1": {"env": "Pendulum-v1"}}
    assert more.partial and not more.select(["CartPole-v1"]).partial
    assert more.select(["Pendulum-v1"]).status == "PARTIAL: 0 of 1 runs finished"

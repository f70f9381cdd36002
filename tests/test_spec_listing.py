"""``rl-lr list``: each signature says how the spec is really called (keyword-only arguments
as keywords, collected arguments starred), and each summary is a whole sentence."""

from __future__ import annotations

import re

import pytest

import rl_lr
from rl_lr.cli import main
from rl_lr.envs import PERTURBATIONS
from rl_lr.spec import SpecError, first_sentence

REGISTRIES = {"policies": rl_lr.POLICIES, "perturbations": PERTURBATIONS}


def _listing(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["list", kind]) == 0
    lines = capsys.readouterr().out.splitlines()
    return {line.split("(", 1)[0]: line for line in lines}


def test_keyword_only_arguments_are_listed_as_keywords(capsys: pytest.CaptureFixture[str]) -> None:
    listed = _listing("perturbations", capsys)
    assert listed["heavy_tailed"].startswith("heavy_tailed(*, df=..., scale=..., clip=None)  ")
    assert listed["markov_switch"].startswith("markov_switch(*, rate=..., scale=[], offset=[])  ")
    assert listed["gaussian"].startswith("gaussian(std, relative=False)  ")  # positional stays
    policies = _listing("policies", capsys)
    assert policies["sequence"].startswith("sequence(*pieces, at=...)  ")
    assert policies["cosine"].startswith("cosine(lr, end=0.0)  ")


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_what_the_listing_shows_as_positional_parses_by_position(
        kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    """For every name: the arguments before ``*`` are accepted by position (the parser gets as
    far as checking their values), and a name listed with ``*`` first refuses any."""
    registry = REGISTRIES[kind]
    for name, line in _listing(kind, capsys).items():
        inside = line.split("  ", 1)[0][len(name) + 1:-1]
        params = [p.strip() for p in re.split(r",(?![^\[]*\])", inside) if p.strip()]
        before_star = params[: params.index("*")] if "*" in params else params
        if before_star and not before_star[0].startswith("*"):
            try:
                registry.parse(f"{name}({', '.join(['x'] * len(before_star))})")
            except SpecError as err:  # a value error, never a positional-count one
                assert "positional" not in str(err), line
        if params[:1] == ["*"]:
            with pytest.raises(SpecError, match="keyword arguments only"):
                registry.parse(f"{name}(1)")


def test_sequence_given_lists_says_how_to_write_it() -> None:
    with pytest.raises(SpecError, match=re.escape(
            "sequence takes its pieces one by one, not as a list, and its other arguments by "
            "keyword: sequence(*pieces, at=...), e.g. "
            "sequence(constant(1e-3), cosine(1e-3), at=[0.5])")):
        rl_lr.parse("sequence([constant(1e-3), cosine(1e-3)], [0.5])")
    listed = rl_lr.parse("sequence(constant(1e-3), cosine(1e-3), at=[0.5])")
    assert rl_lr.parse("sequence(pieces=[constant(1e-3), cosine(1e-3)], at=[0.5])") == listed


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_every_summary_is_a_whole_sentence(kind: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for line in _listing(kind, capsys).values():
        summary = line.split("  ", 1)[1]
        assert summary.endswith("."), line
        assert summary.count("(") == summary.count(")"), line
        assert not re.search(r"(et al|, )\.$", summary), line
    listed = "\n".join(_listing("policies", capsys).values())
    assert "hypergradient descent (Baydin et al. 2018)." in listed
    assert "(Battiti 1989; Vogl et al. 1988) on the smoothed observed return." in listed
    assert "then s2, and so on." in listed


@pytest.mark.parametrize(("doc", "sentence"), [
    ("``f(x)``: by descent (Baydin et al. 2018). More.", "by descent (Baydin et al. 2018)."),
    ("The bold driver, after Vogl et al. 1988. More.", "The bold driver, after Vogl et al. 1988."),
    ("s1, then s2, ... Each piece.", "s1, then s2, ..."),
    ("A rule (e.g. a cap). gamma is in (0, 1].", "A rule (e.g. a cap)."),
    ("Shape: ``x.y`` of the run\n\nArgs: more.", "Shape: x.y of the run."),
])
def test_first_sentence(doc: str, sentence: str) -> None:
    assert first_sentence(doc) == sentence

"""The spec grammar: round trips, the YAML mapping form, pickling, error messages, and
property-based tests (valid specs round-trip and give finite LRs; garbage never escapes as
anything but :class:`rl_lr.SpecError`)."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
from typing import Any

import cloudpickle
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rl_lr
from rl_lr import LRPolicy, SpecError
from rl_lr.spec import Registry, SpecObject

# --------------------------------------------------------------------------------------------
# A user-registered policy (module level, so that pickle finds it by reference)
# --------------------------------------------------------------------------------------------


@rl_lr.register("my_test_policy")
@dataclasses.dataclass(frozen=True, repr=False)
class MyTestPolicy(LRPolicy):
    """``my_test_policy(lr, decay=0.5)``: linear from ``lr`` to ``lr * (1 - decay)``."""

    lr: float
    decay: float = 0.5

    def validate(self) -> None:
        super().validate()
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise self.fail("lr", "must be a finite number > 0")
        if not 0.0 <= self.decay <= 1.0:
            raise self.fail("decay", "must be in [0, 1]")

    def _value(self, progress: float) -> float:
        return self.lr * (1.0 - self.decay * progress)


# --------------------------------------------------------------------------------------------
# One example per registered name: (the object, a hand-written spec that means the same)
# --------------------------------------------------------------------------------------------

EXAMPLES: dict[str, tuple[LRPolicy, str]] = {
    "constant": (rl_lr.constant(1e-3), "constant(1e-3)"),
    "linear": (rl_lr.linear(3e-4, end=1e-5), "linear(3e-4, end=1e-5)"),
    "step": (rl_lr.step(1e-3, every=0.25, gamma=0.5), "step(1e-3, every=0.25, gamma=0.5)"),
    "multistep": (
        rl_lr.multistep(1e-3, milestones=[0.5, 0.75]),
        "multistep(1e-3, milestones=[0.5, 0.75])",
    ),
    "exponential": (rl_lr.exponential(1e-3, 1e-5), "exponential(lr=1e-3, end=1e-5)"),
    "polynomial": (rl_lr.polynomial(1e-3, end=1e-5, power=2), "polynomial(1e-3, 1e-5, power=2)"),
    "cosine": (rl_lr.cosine(3e-4, end=1e-5), "cosine(3e-4, end=1e-5)"),
    "cosine_restarts": (
        rl_lr.cosine_restarts(1e-3, 3, mult=2),
        "cosine_restarts(1e-3, cycles=3, mult=2)",
    ),
    "cyclic": (
        rl_lr.cyclic(1e-4, 1e-3, 4, mode="exp_range", gamma=0.5),
        "cyclic(1e-4, 1e-3, 4, mode=exp_range, gamma=0.5)",
    ),
    "onecycle": (rl_lr.onecycle(1e-3, anneal="linear"), "onecycle(1e-3, anneal='linear')"),
    "sequence": (
        rl_lr.sequence(rl_lr.constant(1e-3), rl_lr.cosine(1e-3), at=[0.5]),
        "sequence(1e-3, cosine(1e-3), at=[0.5])",
    ),
    "my_test_policy": (MyTestPolicy(1e-3, decay=0.25), "my_test_policy(1e-3, decay=0.25)"),
    # Controllers (stateful): the spec is the arguments; the state is not part of equality.
    "plateau": (
        rl_lr.plateau(rl_lr.cosine(1e-3), patience=3),
        "plateau(cosine(1e-3), factor=0.5, patience=3)",
    ),
    "kl_adaptive": (rl_lr.kl_adaptive(3e-4, target=0.01), "kl_adaptive(3e-4, target=0.01)"),
    "volatility": (
        rl_lr.volatility(rl_lr.linear(1e-3), window=10),
        "volatility(linear(1e-3), window=10)",
    ),
    "trend": (rl_lr.trend(1e-3, grow=1.1, cut=0.7), "trend(constant(1e-3), grow=1.1, cut=0.7)"),
    "bandit": (rl_lr.bandit(1e-3, arms=[0.5, 1, 2]), "bandit(1e-3, arms=[0.5, 1.0, 2])"),
    "hypergradient": (
        rl_lr.hypergradient(rl_lr.cosine(1e-3), beta=0.02),
        "hypergradient(base=cosine(1e-3), beta=0.02)",
    ),
    "reset_on_change": (  # rl_lr.resets (tests/test_arms.py)
        rl_lr.reset_on_change(rl_lr.cosine(1e-3), window=5, clear="step"),
        "reset_on_change(cosine(1e-3), window=5, clear=step)",
    ),
    "reset_every": (  # rl_lr.resets (tests/test_arms.py)
        rl_lr.reset_every(rl_lr.constant(1e-3), every=5000, clear="step"),
        "reset_every(1e-3, every=5000, clear=step)",
    ),
    "oracle": (  # rl_lr.oracles (tests/test_arms.py)
        rl_lr.oracle(rl_lr.plateau(1e-3, patience=3)),
        "oracle(plateau(1e-3, patience=3))",
    ),
}
NAMES = sorted(EXAMPLES)

MODIFIERS: list[dict[str, Any]] = [
    {"warmup": 0.1},
    {"warmup": 0.05, "warmup_start": 1e-6},
    {"warmup": 0.2, "warmup_start": 1e-5, "warmup_mode": "exponential"},
    {"min_lr": 1e-5},
    {"max_lr": 5e-4},
    {"warmup": 0.1, "min_lr": 1e-6, "max_lr": 1e-2},
]

NESTED: list[LRPolicy] = [
    rl_lr.sequence(
        rl_lr.linear(1e-5, end=1e-3),
        rl_lr.sequence(rl_lr.constant(1e-3), rl_lr.cosine(1e-3, end=1e-5), at=[0.25]),
        rl_lr.cyclic(1e-5, 1e-4, 2, mode="triangular2"),
        at=[0.1, 0.8],
        min_lr=1e-6,
    ),
    rl_lr.sequence(
        rl_lr.onecycle(1e-3, warmup=0.1, warmup_start=1e-6, warmup_mode="exponential"),
        MyTestPolicy(1e-4),
        at=[0.5],
        warmup=0.05,
    ),
]


def with_modifiers(policy: LRPolicy, modifiers: dict[str, Any]) -> LRPolicy:
    return dataclasses.replace(policy, **modifiers)  # re-validates through __post_init__


def all_examples() -> list[LRPolicy]:
    plain = [EXAMPLES[name][0] for name in NAMES]
    modified = [with_modifiers(p, m) for p in plain for m in MODIFIERS]
    return plain + modified + NESTED


def test_every_registered_name_has_an_example() -> None:
    """Every name that rl-lr registers (and this module's) needs an example above. Names that
    other test modules or the README register for their own use (classes defined outside
    rl_lr) are theirs to test."""
    ours = {
        name
        for name, cls in rl_lr.POLICIES
        if cls.__module__.split(".")[0] == "rl_lr" or cls.__module__ == __name__
    }
    missing = ours - set(EXAMPLES)
    assert not missing, f"add an example to tests/test_spec.py for {sorted(missing)}"
    assert set(EXAMPLES) <= set(rl_lr.POLICIES.names())
    for name, (policy, _) in EXAMPLES.items():
        assert policy.spec_name == name
        assert type(policy) is rl_lr.POLICIES.get(name)


# --------------------------------------------------------------------------------------------
# (a) Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str) -> None:
    policy, text = EXAMPLES[name]
    assert rl_lr.parse(repr(policy)) == policy
    assert rl_lr.parse(text) == policy
    assert repr(rl_lr.parse(text)) == repr(policy)
    assert rl_lr.parse(policy) is policy


@pytest.mark.parametrize("modifiers", MODIFIERS, ids=lambda m: ",".join(m))
@pytest.mark.parametrize("name", NAMES)
def test_round_trip_with_modifiers(name: str, modifiers: dict[str, Any]) -> None:
    policy = with_modifiers(EXAMPLES[name][0], modifiers)
    text = repr(policy)
    defaults = {f.name: f.default for f in dataclasses.fields(policy)}
    for key, value in modifiers.items():
        assert getattr(policy, key) == value
        assert (f"{key}=" in text) == (value != defaults[key]), text  # defaults are not rendered
    assert rl_lr.parse(text) == policy


@pytest.mark.parametrize("policy", NESTED, ids=repr)
def test_round_trip_nested(policy: LRPolicy) -> None:
    assert rl_lr.parse(repr(policy)) == policy


def test_defaults_are_not_rendered() -> None:
    assert repr(rl_lr.cosine(3e-4)) == "cosine(0.0003)"
    assert repr(rl_lr.cosine(3e-4, warmup=0.05)) == "cosine(0.0003, warmup=0.05)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", rl_lr.constant(1e-3)),
        ("  cosine( 3e-4 ,end = 1e-5 , )  ", rl_lr.cosine(3e-4, end=1e-5)),
        ("cosine(3E-4)", rl_lr.cosine(3e-4)),
        ("cosine('3e-4')", rl_lr.cosine(3e-4)),
        ('cosine(lr="3e-4")', rl_lr.cosine(3e-4)),
        ("cosine(.0003)", rl_lr.cosine(3e-4)),
        ("cosine(3e-4, max_lr=inf)", rl_lr.cosine(3e-4)),
        ("cosine_restarts(1e-3, 3.0)", rl_lr.cosine_restarts(1e-3, 3)),
        ("cosine(1e-3, warmup_mode=Exponential, warmup=0.1, warmup_start=1e-6)", None),
        ("sequence(pieces=[1e-3, cosine(1e-3)], at=[0.5])", EXAMPLES["sequence"][0]),
    ],
)
def test_spellings(text: str, expected: LRPolicy | None) -> None:
    if expected is None:  # Literal values are case-sensitive
        with pytest.raises(SpecError, match="warmup_mode must be one of linear, exponential"):
            rl_lr.parse(text)
    else:
        assert rl_lr.parse(text) == expected


def test_number_means_constant() -> None:
    assert rl_lr.parse(1e-3) == rl_lr.constant(1e-3)
    assert rl_lr.parse(3) == rl_lr.constant(3.0)


# --------------------------------------------------------------------------------------------
# (b) The YAML mapping form
# --------------------------------------------------------------------------------------------


def test_yaml_flow_mapping_equals_string_form() -> None:
    mapping = yaml.safe_load("{name: cosine, lr: 3e-4, end: 1e-5}")
    assert mapping["lr"] == "3e-4"  # PyYAML (YAML 1.1) reads 3e-4 as a string ...
    assert rl_lr.parse(mapping) == rl_lr.parse("cosine(3e-4, end=1e-5)")  # ... the grammar not


@pytest.mark.parametrize(
    ("document", "text"),
    [
        (
            "name: onecycle\nlr: 1.0e-3\nanneal: linear\nwarmup: 0.05\n",
            "onecycle(1e-3, anneal=linear, warmup=0.05)",
        ),
        (
            "{name: multistep, lr: 1e-3, milestones: [0.5, 7.5e-1], gamma: 0.5}",
            "multistep(1e-3, milestones=[0.5, 0.75], gamma=0.5)",
        ),
        (
            "{name: cyclic, low: 1e-4, high: 1e-3, cycles: 4, mode: triangular2, min_lr: 1e-5}",
            "cyclic(1e-4, 1e-3, 4, mode=triangular2, min_lr=1e-5)",
        ),
        (
            "{name: sequence, pieces: [1e-3, 'cosine(1e-3)', {name: linear, lr: 1e-4}],"
            " at: [0.25, 0.75]}",
            "sequence(constant(1e-3), cosine(1e-3), linear(1e-4), at=[0.25, 0.75])",
        ),
        ("lr: cosine(3e-4, end=1e-5)", "cosine(3e-4, end=1e-5)"),  # a spec string as a value
    ],
)
def test_yaml_documents(document: str, text: str) -> None:
    loaded = yaml.safe_load(document)
    if set(loaded) == {"lr"}:
        loaded = loaded["lr"]
    assert rl_lr.parse(loaded) == rl_lr.parse(text)


@pytest.mark.parametrize("name", NAMES)
def test_mapping_form_of_every_example(name: str) -> None:
    """``{name: ..., field: value}`` built from each example's fields parses back to it."""
    policy = with_modifiers(EXAMPLES[name][0], {"warmup": 0.1})
    mapping: dict[str, Any] = {"name": name}
    for f in dataclasses.fields(policy):
        if not f.init:  # e.g. a controller's state
            continue
        value = getattr(policy, f.name)
        mapping[f.name] = list(value) if isinstance(value, tuple) else value
    assert rl_lr.parse(mapping) == policy
    assert rl_lr.parse(yaml.safe_load(yaml.safe_dump(mapping_to_yaml(mapping)))) == policy


def mapping_to_yaml(mapping: dict[str, Any]) -> dict[str, Any]:
    """Nested policies as spec strings, so that ``yaml.safe_dump`` can write the mapping."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        return repr(value) if isinstance(value, LRPolicy) else value

    return {key: plain(value) for key, value in mapping.items()}


# --------------------------------------------------------------------------------------------
# (c) Pickling (SB3 saves the schedule inside the model zip with cloudpickle)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])
def test_every_policy_pickles(dumps: Any) -> None:
    grid = np.linspace(0.0, 1.0, 11)
    for policy in all_examples():
        loaded = pickle.loads(dumps(policy))
        assert type(loaded) is type(policy)
        assert loaded == policy and hash(loaded) == hash(policy)
        assert repr(loaded) == repr(policy)
        assert [loaded.value(p) for p in grid] == [policy.value(p) for p in grid]


# --------------------------------------------------------------------------------------------
# (d) Errors: a SpecError (a ValueError) with a one-line message that names the problem
# --------------------------------------------------------------------------------------------

ERRORS: list[tuple[Any, str]] = [
    # unknown name, with a suggestion
    ("cosin(3e-4)", "unknown LR policy 'cosin'; did you mean 'cosine'?"),
    ("one_cycle(1e-3)", "did you mean 'onecycle'?"),
    ("my_test_polcy(1e-3)", "did you mean 'my_test_policy'?"),
    ("sequence(constant(1e-3), cosinus(1e-3), at=[0.5])", "did you mean 'cosine'?"),
    # unknown argument
    ("cosine(3e-4, ned=1e-5)", "cosine: unknown argument 'ned' (did you mean 'end'?)"),
    ("cosine(3e-4, foo=1)", "cosine: unknown argument 'foo'"),
    # missing argument
    ("cosine()", "cosine: missing required argument(s) lr"),
    ("cosine", "cosine: missing required argument(s) lr"),
    ("cyclic(1e-4, 1e-3)", "cyclic: missing required argument(s) cycles"),
    ("sequence(at=[0.5])", "sequence: missing required argument(s) pieces"),
    # wrong type
    ("cosine(abc)", "cosine: lr must be a number, got abc"),
    ("cosine(3e-4, warmup=true)", "cosine: warmup must be a number, got True"),
    ("cosine([3e-4])", "cosine: lr must be a number"),
    ("cosine_restarts(1e-3, 2.5)", "cosine_restarts: cycles must be an integer, got 2.5"),
    ("multistep(1e-3, milestones=0.5)", "multistep: milestones must be a list"),
    ("onecycle(1e-3, anneal=quadratic)", "onecycle: anneal must be one of cos, linear"),
    ("sequence(1e-3, true, at=[0.5])", "sequence: pieces"),
    # lr <= 0
    ("cosine(0)", "cosine: lr must be a finite number > 0, got 0.0"),
    ("cosine(-3e-4)", "cosine: lr must be a finite number > 0, got -0.0003"),
    ("cyclic(0, 1e-3, 2)", "cyclic: low must be a finite number > 0"),
    ("sequence(constant(-1), cosine(1e-3), at=[0.5])", "constant: lr must be a finite number > 0"),
    # NaN
    ("cosine(nan)", "cosine: lr must be a finite number > 0, got nan"),
    ("cosine(3e-4, end=nan)", "cosine: end must be a finite number >= 0, got nan"),
    ("cosine(3e-4, warmup=nan)", "cosine: warmup must be a fraction"),
    ("cosine(3e-4, max_lr=nan)", "cosine: max_lr must be > min_lr"),
    # inf
    ("cosine(inf)", "cosine: lr must be a finite number > 0, got inf"),
    ("exponential(1e-3, -inf)", "exponential: end must be a finite number > 0"),
    ("cosine(1e999)", "cosine: lr must be a finite number > 0, got inf"),
    ("cosine_restarts(1e-3, 1e999)", "cosine_restarts: cycles must be an integer, got inf"),
    # fraction outside [0, 1]
    ("cosine(3e-4, warmup=1.5)", "cosine: warmup must be a fraction of the run in [0, 1), got 1.5"),
    ("cosine(3e-4, warmup=1)", "cosine: warmup must be a fraction"),
    ("cosine(3e-4, warmup=-0.1)", "cosine: warmup must be a fraction"),
    ("step(1e-3, every=1.5)", "step: every must be a fraction in (0, 1], got 1.5"),
    ("step(1e-3, every=0)", "step: every must be a fraction in (0, 1]"),
    ("onecycle(1e-3, pct_start=1)", "onecycle: pct_start must be a fraction in (0, 1)"),
    ("multistep(1e-3, milestones=[0.5, 1.5])", "multistep: milestones must be fractions in (0, 1)"),
    ("sequence(1e-3, 1e-4, at=[0])", "sequence: at must be fractions in (0, 1)"),
    # unsorted milestones / breakpoints
    (
        "multistep(1e-3, milestones=[0.75, 0.5])",
        "multistep: milestones must be strictly increasing",
    ),
    ("multistep(1e-3, milestones=[0.5, 0.5])", "multistep: milestones must be strictly increasing"),
    ("sequence(1e-3, 1e-4, 1e-5, at=[0.6, 0.3])", "sequence: at must be strictly increasing"),
    # unbalanced brackets, both kinds, and mismatched ones
    ("cosine(3e-4", "unbalanced brackets: missing ')'"),
    ("sequence(1e-3, cosine(1e-3, at=[0.5])", "unbalanced brackets: missing ')'"),
    ("multistep(1e-3, milestones=[0.5, 0.75", "unbalanced brackets: missing ']'"),
    ("cosine(3e-4))", "unbalanced brackets: unexpected ')'"),
    ("cosine(3e-4)]", "unbalanced brackets: unexpected ']'"),
    ("cosine(3e-4]", "expected ')' at position 11, found ']'"),
    ("multistep(1e-3, milestones=[0.5, 0.75)", "expected ']' at position 37, found ')'"),
    # trailing garbage
    ("cosine(3e-4) extra", "trailing text 'extra' at position 13"),
    ("cosine(3e-4), 1", "trailing text ', 1'"),
    ("cosine 3e-4", "trailing text '3e-4'"),
    # empty spec
    ("", "empty spec"),
    ("   \t\n", "empty spec"),
    # too many positional arguments
    ("cosine(3e-4, 1e-5, 0.1)", "cosine takes at most 2 positional argument(s) (lr, end), got 3"),
    ("constant(1e-3, 1e-4)", "constant takes at most 1 positional argument(s)"),
    # an argument given twice: by keyword twice, and by position and keyword
    ("cosine(3e-4, end=1e-5, end=1e-6)", "argument 'end' given twice"),
    ("cosine(3e-4, lr=1e-3)", "cosine: argument 'lr' given twice"),
    ("sequence(1e-3, 1e-4, pieces=[1e-3, 1e-4], at=[0.5])", "argument 'pieces' given twice"),
    # other syntax
    ("cosine(lr=3e-4, 1e-5)", "positional argument after keyword arguments in cosine(...)"),
    ("cosine(3e-4; end=0)", "unexpected character ';' at position 11"),
    ("cosine(3e-4,,)", "unexpected ',' at position 12"),
    ("cosine(3e-4, end=)", "unexpected ')'"),
    ("cosine(3e-4, 'end'=1)", "expected ')'"),
    ("'cosine(3e-4)", 'unexpected character "\'"'),
    ("[" * 200, "nested deeper than"),
    ("cosine(" * 200, "nested deeper than"),
    ("9" * 5000, "too long"),
    # cross-argument rules
    ("cyclic(1e-3, 1e-4, 2)", "cyclic: high must be > low"),
    ("cosine(3e-4, min_lr=1e-3, max_lr=1e-4)", "cosine: max_lr must be > min_lr"),
    ("cosine(3e-4, warmup=0.1, warmup_mode=exponential)", "cosine: warmup_start must be > 0"),
    ("sequence(1e-3, 1e-4, at=[0.3, 0.6])", "sequence: at must list len(pieces) - 1 = 1"),
    ("sequence(1e-3, at=[0.5])", "sequence: pieces must hold at least two policies"),
    # the mapping form
    ({"lr": 3e-4}, "a mapping spec needs a 'name' key"),
    ({"name": 3}, "'name' must be a string"),
    ({"name": "cosine", "lr": "abc"}, "cosine: lr must be a number, got abc"),
    ({"name": "cosine", "lr": 3e-4, "ned": 0}, "cosine: unknown argument 'ned'"),
    ({"name": "cosinus", "lr": 3e-4}, "did you mean 'cosine'?"),
    # a nested spec where a number belongs is named as written
    ("cosine(adam(betas=[0.9], x=y))", "cosine: lr must be a number, got adam(betas=[0.9], x=y)"),
    # not a spec at all
    (None, "must be an LR policy spec"),
    ([1e-3], "must be an LR policy spec"),
    (True, "must be an LR policy spec"),
]


@pytest.mark.parametrize(("spec", "fragment"), ERRORS, ids=lambda x: repr(x)[:60])
def test_errors(spec: Any, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        rl_lr.parse(spec)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message and len(message.splitlines()) == 1
    assert fragment in message, message


def test_constructor_errors_are_spec_errors() -> None:
    message = "cosine: lr must be a finite number > 0, got -1.0"
    with pytest.raises(SpecError, match=re.escape(message)):
        rl_lr.cosine(-1.0)
    with pytest.raises(SpecError, match="cosine: lr must be a number, got abc"):
        rl_lr.cosine("abc")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="my_test_policy: decay must be in"):
        MyTestPolicy(1e-3, decay=2.0)


# --------------------------------------------------------------------------------------------
# (e) Property-based tests
# --------------------------------------------------------------------------------------------

LRS = st.floats(min_value=1e-6, max_value=1.0)
NONNEG = st.one_of(st.just(0.0), st.floats(min_value=1e-8, max_value=1e-3))
GAMMAS = st.floats(min_value=0.01, max_value=1.0)


def increasing_fractions(size: int) -> st.SearchStrategy[list[float]]:
    fractions = st.floats(min_value=0.01, max_value=0.99)
    return st.lists(fractions, min_size=size, max_size=size, unique=True).map(sorted)


@st.composite
def cyclic_args(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(LRS)
    return {
        "low": low,
        "high": low * draw(st.floats(min_value=1.01, max_value=100.0)),
        "cycles": draw(st.integers(1, 10)),
        "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        "gamma": draw(st.floats(min_value=0.01, max_value=1.0)),
    }


# Random valid arguments per name. Names without an entry here (sequence, the controllers) are
# built by ``policies`` below: sequence recursively, the others from their EXAMPLES entry with a
# random base schedule and random modifiers.
VALID_ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "constant": st.fixed_dictionaries({"lr": LRS}),
    "linear": st.fixed_dictionaries({"lr": LRS, "end": NONNEG}),
    "step": st.fixed_dictionaries(
        {"lr": LRS, "every": st.floats(min_value=0.01, max_value=1.0), "gamma": GAMMAS}
    ),
    "multistep": st.fixed_dictionaries(
        {
            "lr": LRS,
            "milestones": st.integers(1, 4).flatmap(increasing_fractions),
            "gamma": GAMMAS,
        }
    ),
    "exponential": st.fixed_dictionaries({"lr": LRS, "end": LRS}),
    "polynomial": st.fixed_dictionaries(
        {"lr": LRS, "end": NONNEG, "power": st.floats(min_value=0.1, max_value=5.0)}
    ),
    "cosine": st.fixed_dictionaries({"lr": LRS, "end": NONNEG}),
    "cosine_restarts": st.fixed_dictionaries(
        {
            "lr": LRS,
            "cycles": st.integers(1, 10),
            "end": NONNEG,
            "mult": st.one_of(st.just(1.0), st.floats(min_value=1.0, max_value=3.0)),
        }
    ),
    "cyclic": cyclic_args(),
    "onecycle": st.fixed_dictionaries(
        {
            "lr": LRS,
            "pct_start": st.floats(min_value=0.01, max_value=0.99),
            "div": st.floats(min_value=1.0, max_value=100.0),
            "final_div": st.floats(min_value=1.0, max_value=1e5),
            "anneal": st.sampled_from(["cos", "linear"]),
        }
    ),
    "my_test_policy": st.fixed_dictionaries(
        {"lr": LRS, "decay": st.floats(min_value=0.0, max_value=1.0)}
    ),
}


@st.composite
def modifiers(draw: st.DrawFn) -> dict[str, Any]:
    mods: dict[str, Any] = {}
    if draw(st.booleans()):
        mods["warmup"] = draw(st.floats(min_value=0.0, max_value=0.5))
        mods["warmup_mode"] = draw(st.sampled_from(["linear", "exponential"]))
        if mods["warmup_mode"] == "exponential":
            mods["warmup_start"] = draw(st.floats(min_value=1e-7, max_value=1e-2))
        elif draw(st.booleans()):
            mods["warmup_start"] = draw(NONNEG)
    if draw(st.booleans()):
        mods["min_lr"] = draw(NONNEG)
    if draw(st.booleans()):  # with min_lr too: a class's own default may exceed 0 (kl_adaptive)
        mods.setdefault("min_lr", 0.0)
        mods["max_lr"] = mods["min_lr"] + draw(st.floats(min_value=1e-6, max_value=1.0))
    return mods


@st.composite
def policies(draw: st.DrawFn, depth: int = 2, piece: bool = False) -> LRPolicy:
    names = sorted(VALID_ARGS) if depth <= 0 else NAMES
    if piece:  # a sequence's pieces must be schedules (stateful controllers are rejected)
        names = [n for n in names if not rl_lr.POLICIES.get(n).stateful]  # type: ignore[attr-defined]
    name = draw(st.sampled_from(names))
    if name == "sequence":
        n = draw(st.integers(2, 3))
        kwargs = {
            "pieces": tuple(draw(policies(depth - 1, piece=True)) for _ in range(n)),
            "at": tuple(draw(increasing_fractions(n - 1))),
        }
    elif name in VALID_ARGS:
        kwargs = draw(VALID_ARGS[name])
    else:
        example = EXAMPLES[name][0]
        kwargs = {f.name: getattr(example, f.name) for f in dataclasses.fields(example) if f.init}
        if "base" in kwargs:
            kwargs["base"] = draw(policies(depth - 1))
    kwargs.update(draw(modifiers()))
    policy: LRPolicy = rl_lr.POLICIES.get(name)(**kwargs)
    return policy


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRID = [*np.linspace(0.0, 1.0, 41), -0.5, 1.5]


@PROPERTY
@given(policies())
def test_valid_specs_round_trip_and_give_finite_lrs(policy: LRPolicy) -> None:
    text = repr(policy)
    assert rl_lr.parse(text) == policy
    assert repr(rl_lr.parse(text)) == text
    for p in GRID:
        lr = policy.value(p)
        assert math.isfinite(lr) and lr >= 0.0, (p, lr)
        assert policy.min_lr <= lr <= policy.max_lr


def check_parse_outcome(text: str) -> None:
    """``parse`` returns an LRPolicy (that round-trips) or raises a one-line SpecError."""
    try:
        result = rl_lr.parse(text)
    except SpecError as err:
        assert len(str(err).splitlines()) == 1, str(err)
        return
    assert isinstance(result, LRPolicy)
    assert rl_lr.parse(repr(result)) == result


SPEC_CHARS = st.sampled_from(list("()[],=.'\"-+_ eE0123456789abcinfnat")) | st.characters()


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    text = repr(draw(policies()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "insert"]))
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "duplicate":
            text = text[:i] + text[i : i + 1] * 2 + text[i + 1 :]
        else:
            text = text[:i] + draw(SPEC_CHARS) + text[i:]
    return text


@PROPERTY
@given(st.text())
def test_random_text_raises_only_spec_errors(text: str) -> None:
    check_parse_outcome(text)


@PROPERTY
@given(mutated_specs())
def test_mutated_specs_raise_only_spec_errors(text: str) -> None:
    check_parse_outcome(text)


# --------------------------------------------------------------------------------------------
# (f) A user-registered policy
# --------------------------------------------------------------------------------------------


def test_user_policy_parses_round_trips_and_pickles() -> None:
    policy = rl_lr.parse("my_test_policy(1e-3, decay=0.25, warmup=0.1)")
    assert isinstance(policy, MyTestPolicy)
    assert policy == MyTestPolicy(1e-3, decay=0.25, warmup=0.1)
    assert rl_lr.parse(repr(policy)) == policy
    assert rl_lr.parse({"name": "my_test_policy", "lr": "1e-3", "decay": 0.25, "warmup": 0.1}) == (
        policy
    )
    for dumps in (pickle.dumps, cloudpickle.dumps):
        assert pickle.loads(dumps(policy)) == policy
    assert policy.value(0.1) == 1e-3 and policy.value(1.0) == pytest.approx(7.5e-4)
    nested = rl_lr.parse("sequence(my_test_policy(1e-3), cosine(1e-3), at=[0.5])")
    assert nested.pieces[0] == MyTestPolicy(1e-3)  # type: ignore[attr-defined]
    assert rl_lr.parse(repr(nested)) == nested


def test_register_rejects_bad_classes() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @rl_lr.register("my_test_policy")
        @dataclasses.dataclass(frozen=True, repr=False)
        class Other(LRPolicy):
            lr: float

    with pytest.raises(TypeError, match="must subclass LRPolicy"):
        rl_lr.register("not_a_policy")(int)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="identifier"):
        rl_lr.register("bad name")
    assert "not_a_policy" not in rl_lr.POLICIES
    assert rl_lr.POLICIES.get("my_test_policy") is MyTestPolicy


# --------------------------------------------------------------------------------------------
# A registry knows nothing of its members' kind: it learns what they share from its base
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class _Toy(SpecObject):
    """Base of a toy registry: every member shares ``scale``."""

    scale: float = dataclasses.field(default=1.0, kw_only=True)


def test_a_registry_learns_its_common_keywords_from_its_base() -> None:
    assert rl_lr.POLICIES.common_keywords == {"warmup", "warmup_start", "warmup_mode", "min_lr",
                                              "max_lr"}
    toys = Registry("UFO toy", _Toy)

    @toys.register("saucer")
    @dataclasses.dataclass(frozen=True, repr=False)
    class Saucer(_Toy):
        """``saucer(size)``: a flying saucer."""

        size: float

    assert toys.common_keywords == {"scale"}
    assert toys.describe() == ["saucer(size)  a flying saucer."]
    assert repr(toys.parse("saucer(2, scale=3)")) == "saucer(2.0, scale=3.0)"
    with pytest.raises(SpecError, match="must be a UFO toy spec such as 'saucer"):
        toys.parse(None)  # type: ignore[arg-type]

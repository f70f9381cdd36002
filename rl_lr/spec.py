# Over 400 lines: the object side of the grammar (type-driven coercion, registries) is one unit.
"""The spec grammar: one readable language for LR policies (and, later, perturbations and
optimizers) in Python, on the command line and in YAML.

A spec is a registered name followed by arguments, positional then keyword::

    cosine(3e-4, end=1e-5, warmup=0.05)
    sequence(constant(1e-3), cosine(1e-3), at=[0.5])
    onecycle(1e-3, anneal=linear)          # bare words are strings
    {name: cosine, lr: 3e-4, end: 1e-5}    # the same as a YAML / dict mapping

Values are numbers, strings (bare words or quoted), booleans (``true``/``True``), ``none``,
lists ``[...]`` and nested specs. Parsing never evaluates code: :mod:`rl_lr.grammar` reads the
text, and this module builds the object through its registered class, whose dataclass fields
are the arguments and whose type hints drive coercion. Every problem raises :class:`SpecError`
with a one-line message naming what is wrong and what is allowed.

A registered class is a frozen dataclass deriving from :class:`SpecObject`; its ``repr`` is its
spec, so ``parse(repr(obj)) == obj``::

    >>> from rl_lr import parse
    >>> parse("cosine(3e-4, warmup=0.05)")
    cosine(0.0003, warmup=0.05)
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from rl_lr.grammar import BARE_WORD, NUMBER, Call, SpecError, parse_text, render_value

__all__ = ["Registry", "SpecError", "SpecObject", "render_value"]


_T = TypeVar("_T", bound="SpecObject")


def render_spec(obj: SpecObject) -> str:
    """``name(positional..., key=value...)``: required arguments by position, the others by
    keyword when they differ from their default."""
    positional = _positional_names(type(obj))[: obj._spec_positional]
    parts: list[str] = []
    keywords: list[str] = []
    for f in _spec_fields(type(obj)):
        value = getattr(obj, f.name)
        if f.name == obj._spec_varargs:
            parts.extend(render_value(v) for v in value)
        elif f.name in positional and _is_required(f):
            parts.append(render_value(value))
        elif _is_required(f) or value != _default_of(f):
            keywords.append(f"{f.name}={render_value(value)}")
    return f"{obj.spec_name}({', '.join(parts + keywords)})"


# --------------------------------------------------------------------------------------------
# Spec objects and registries
# --------------------------------------------------------------------------------------------


def _spec_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """Init fields in call order: positional ones first, then keyword-only ones."""
    fields = [f for f in dataclasses.fields(cls) if f.init]
    return [f for f in fields if not f.kw_only] + [f for f in fields if f.kw_only]


def _positional_names(cls: type) -> list[str]:
    """Arguments that may be given by position (none besides the varargs, if any)."""
    if getattr(cls, "_spec_varargs", None) is not None:
        return []
    return [f.name for f in _spec_fields(cls) if not f.kw_only]


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


@dataclasses.dataclass(frozen=True, repr=False)
class SpecObject:
    """Base of everything that has a spec: a frozen dataclass whose init fields are its
    arguments. ``__post_init__`` coerces each field to its annotated type (``int`` -> ``float``,
    list -> tuple, number -> nested spec where the nested type allows it) and then calls
    :meth:`validate`. Subclasses raise :class:`SpecError` from ``validate``.
    """

    spec_name: ClassVar[str] = ""
    _spec_positional: ClassVar[int] = 1  # leading required arguments rendered by position
    _spec_varargs: ClassVar[str | None] = None  # field that collects extra positional args
    _registry: ClassVar[Registry | None] = None

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in _spec_fields(type(self)):
            value = getattr(self, f.name)
            where = f"{self.spec_name or type(self).__name__}: {f.name}"
            coerced = _coerce(value, hints[f.name], where)
            if coerced is not value:
                object.__setattr__(self, f.name, coerced)
        self.validate()

    def validate(self) -> None:
        """Check argument ranges; raise :class:`SpecError` naming argument, rule and value."""

    def __repr__(self) -> str:
        return render_spec(self)

    def fail(self, argument: str, rule: str) -> SpecError:
        """A :class:`SpecError` for ``argument`` breaking ``rule`` (e.g. ``'must be > 0'``)."""
        return SpecError(
            f"{self.spec_name}: {argument} {rule}, got {render_value(getattr(self, argument))}"
        )


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)  # each base's names from its own module
    return _HINTS[cls]


def _type_name(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint))
    if origin is tuple:
        item = get_args(hint)[0]
        plural = {float: "numbers", int: "integers", str: "strings", bool: "booleans"}
        return f"a list of {plural.get(item, 'specs')}"
    if hint is type(None):
        return "none"
    if isinstance(hint, type) and issubclass(hint, SpecObject):
        return "a spec"
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Coerce ``value`` to the annotated type ``hint`` or raise :class:`SpecError`."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except SpecError as err:
                errors.append(err)
        raise errors[0] if len(errors) == 1 else SpecError(
            f"{where} must be {_type_name(hint)}, got {render_value_safe(value)}"
        )
    if origin is Literal:
        allowed = get_args(hint)
        if value in allowed and isinstance(value, str):
            return value
        raise SpecError(
            f"{where} must be one of {', '.join(map(str, allowed))}, got {render_value_safe(value)}"
        )
    if origin is tuple:
        item_hint = get_args(hint)[0]
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(v, item_hint, f"{where}[{i}]") for i, v in enumerate(value))
        raise SpecError(f"{where} must be {_type_name(hint)}, got {render_value_safe(value)}")
    if hint in (float, int) and isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        value = parse_text(value)  # YAML 1.1 reads "3e-4" as a string
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type) and issubclass(hint, SpecObject):
        if isinstance(value, hint):
            return value
        registry = Registry.for_type(hint)
        if registry is not None:
            return registry.resolve(value, where)
    elif hint is Any:
        return value
    raise SpecError(f"{where} must be {_type_name(hint)}, got {render_value_safe(value)}")


def render_value_safe(value: Any) -> str:
    try:
        return render_value(value)
    except TypeError:
        return repr(value)


def _article(noun: str) -> str:
    """``a`` or ``an`` before ``noun``; an initialism is read letter by letter (an LR ...)."""
    word = noun.split(" ", 1)[0]
    if len(word) > 1 and word.isupper():
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    return "an" if noun[:1].lower() in "aeiou" else "a"


def signature(cls: type[SpecObject], hide: frozenset[str] = frozenset()) -> str:
    """How ``cls`` is called, as Python writes it: positional arguments first, a ``*`` before
    the keyword-only ones, whose required ones read ``name=...``; collected positional
    arguments as ``*name``; keyword-only arguments named in ``hide`` left out.

    Example:
        >>> from rl_lr.schedules import POLICIES
        >>> signature(POLICIES.get("cosine"), POLICIES.common_keywords)
        'cosine(lr, end=0.0)'
        >>> signature(POLICIES.get("sequence"), POLICIES.common_keywords)
        'sequence(*pieces, at=...)'
    """
    varargs = cls._spec_varargs
    positional = set(_positional_names(cls))
    parts: list[str] = []
    starred = False
    for f in _spec_fields(cls):
        if f.name == varargs:
            parts.append(f"*{f.name}")
            starred = True
            continue
        if f.name not in positional and f.name in hide:
            continue
        if f.name not in positional and not starred:
            parts.append("*")
            starred = True
        if not _is_required(f):
            parts.append(f"{f.name}={render_value(_default_of(f))}")
        else:
            parts.append(f.name if f.name in positional else f"{f.name}=...")
    return f"{cls.spec_name}({', '.join(parts)})"


def _usage(cls: type[SpecObject]) -> str:
    """``cls``'s signature without the keywords every member of its registry shares."""
    registry = cls._registry
    return signature(cls, registry.common_keywords if registry is not None else frozenset())


# A worked call for the error of a spec whose collected arguments came as a list.
_EXAMPLES = {"sequence": "sequence(constant(1e-3), cosine(1e-3), at=[0.5])"}
_ABBREVIATIONS = frozenset({"al.", "e.g.", "i.e.", "cf.", "vs.", "approx.", "eq.", "fig."})


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, whole: after a leading
    ````signature````: (if any), inline-code marks dropped, up to the first full stop that
    is outside brackets, not an abbreviation's (``et al.``) and followed by a space or the
    end (an ellipsis ends a sentence only before a capital letter).

    Example:
        >>> first_sentence("``f(x)``: the LR by descent (Baydin et al. 2018). More text.")
        'the LR by descent (Baydin et al. 2018).'
        >>> first_sentence("s1 until b1, then s2, ... Each piece sees its own progress.")
        's1 until b1, then s2, ...'
    """
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    if paragraph.startswith("``") and "``: " in paragraph:
        paragraph = paragraph.split("``: ", 1)[1]
    text = paragraph.replace("``", "")
    depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "." and depth == 0:
            rest = text[i + 1:]
            word = text[: i + 1].rsplit(" ", 1)[-1].lower()
            if rest == "":
                return text
            ellipsis = text[i - 1:i] == "."  # a sentence only when a capital follows
            if (rest[0] == " " and word not in _ABBREVIATIONS
                    and (rest[1:2].isupper() or not ellipsis)):
                return text[: i + 1]
    return text if text.endswith(".") else f"{text}."


class Registry:
    """A namespace of spec names, one per kind of object (LR policies, perturbations, ...).

    Example:
        >>> from rl_lr.spec import Registry
        >>> from rl_lr.schedules import POLICIES
        >>> POLICIES.parse("step(1e-3, every=0.25)")
        step(0.001, every=0.25)
    """

    _by_type: ClassVar[dict[type, Registry]] = {}

    def __init__(self, kind: str, base: type[SpecObject]) -> None:
        self.kind = kind
        self.base = base
        # Keyword arguments every member shares (the base class's own, e.g. an LR policy's
        # warm-up and clamps): left out of :meth:`describe`'s one-line signatures.
        self.common_keywords = frozenset(
            f.name for f in _spec_fields(base) if f.kw_only
        ) if dataclasses.is_dataclass(base) else frozenset()
        self._classes: dict[str, type[SpecObject]] = {}
        self._number_factory: Callable[[float], SpecObject] | None = None
        Registry._by_type[base] = self

    @classmethod
    def for_type(cls, hint: type) -> Registry | None:
        for klass in hint.__mro__:
            if klass in cls._by_type:
                return cls._by_type[klass]
        return None

    def register(self, name: str) -> Callable[[type[_T]], type[_T]]:
        """Class decorator: make ``name(...)`` parse into this class everywhere.

        The class must be a dataclass deriving from this registry's base; its repr becomes its
        spec. Registering a taken name is an error (names are global to the registry).
        """
        if not BARE_WORD.match(name):
            raise ValueError(f"spec name must be an identifier, got {name!r}")

        def decorate(cls: type[_T]) -> type[_T]:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise TypeError(f"{cls!r} must subclass {self.base.__name__} to be a {self.kind}")
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{cls.__name__} must be a (frozen) dataclass")
            existing = self._classes.get(name)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise ValueError(f"{self.kind} name {name!r} is already registered to {existing}")
            cls.spec_name = name
            cls._registry = self
            cls.__repr__ = SpecObject.__repr__  # type: ignore[method-assign]
            self._classes[name] = cls
            return cls

        return decorate

    def set_number_factory(self, factory: Callable[[float], SpecObject]) -> None:
        """How a bare number is read where a spec of this kind is due (``1e-3`` -> constant)."""
        self._number_factory = factory

    def names(self) -> list[str]:
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[tuple[str, type[SpecObject]]]:
        return iter(sorted(self._classes.items()))

    def get(self, name: str) -> type[SpecObject]:
        if name in self._classes:
            return self._classes[name]
        close = difflib.get_close_matches(name, self._classes, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(
            f"unknown {self.kind} {name!r}{hint} (known: {', '.join(self.names())})"
        )

    def parse(self, spec: str | Mapping[str, Any] | SpecObject | float) -> Any:
        """Parse a spec string, a YAML-style mapping, a number (where allowed) or pass an
        already built object through (checked to be of this kind)."""
        if isinstance(spec, str):
            return self.resolve(parse_text(spec), self.kind)
        return self.resolve(spec, self.kind)

    def resolve(self, value: Any, where: str) -> Any:
        """Build an object from a parsed value: a call, a bare name, a mapping or a number."""
        if isinstance(value, self.base):
            return value
        if isinstance(value, str):
            if value.strip() != value or "(" in value or " " in value or NUMBER.fullmatch(value):
                return self.parse(value)
            return self._build(Call(value), where)
        if isinstance(value, Call):
            return self._build(value, where)
        if isinstance(value, Mapping):
            return self._build(self._call_from_mapping(value, where), where)
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and self._number_factory is not None
        ):
            return self._number_factory(float(value))
        raise SpecError(
            f"{where} must be {_article(self.kind)} {self.kind} spec such as "
            f"'{self.names()[0] if self._classes else 'name'}(...)', got {render_value_safe(value)}"
        )

    def parse_list(self, spec: Any) -> tuple[Any, ...]:
        """Read a chain of specs: ``None`` / ``""`` / ``"none"`` (empty), one spec (string,
        mapping or object), a list of them, or a string holding a list ``"[a(1), b(2)]"``."""
        if spec is None:
            return ()
        if isinstance(spec, str):
            if not spec.strip():
                return ()
            parsed = parse_text(spec)
            if parsed is None:
                return ()
            items = parsed if isinstance(parsed, list) else [parsed]
        elif isinstance(spec, (Mapping, self.base)):
            items = [spec]
        elif isinstance(spec, (list, tuple)):
            items = list(spec)
        else:
            raise SpecError(
                f"{self.kind}s must be a spec string, a mapping or a list of them, got {spec!r}"
            )
        return tuple(self.resolve(item, f"{self.kind}[{i}]") for i, item in enumerate(items))

    def describe(self) -> list[str]:
        """One line per registered name: its signature (:func:`signature`) and its
        docstring's first sentence (:func:`first_sentence`)."""
        return [f"{signature(cls, hide=self.common_keywords)}  {first_sentence(cls.__doc__ or '')}"
                for _, cls in self]

    def _call_from_mapping(self, mapping: Mapping[str, Any], where: str) -> Call:
        if "name" not in mapping:
            raise SpecError(
                f"{where}: a mapping spec needs a 'name' key (one of {', '.join(self.names())}),"
                f" got keys {', '.join(map(str, mapping)) or 'none'}"
            )
        name = mapping["name"]
        if not isinstance(name, str):
            raise SpecError(f"{where}: 'name' must be a string, got {name!r}")
        return Call(name, (), tuple((str(k), v) for k, v in mapping.items() if k != "name"))

    def _build(self, call: Call, where: str) -> SpecObject:
        cls = self.get(call.name)
        fields = _spec_fields(cls)
        names = [f.name for f in fields]
        positional = _positional_names(cls)
        kwargs: dict[str, Any] = {}
        args = list(call.args)
        if cls._spec_varargs is not None and args:  # else it may come by keyword (a mapping)
            if any(isinstance(arg, list) for arg in args):
                raise SpecError(
                    f"{call.name} takes its {cls._spec_varargs} one by one, not as a list, and "
                    f"its other arguments by keyword: {_usage(cls)}, e.g. "
                    f"{_EXAMPLES.get(call.name, call.name + '(...)')}"
                )
            kwargs[cls._spec_varargs] = args
            args = []
        if len(args) > len(positional):
            raise SpecError(
                f"{call.name} takes at most {len(positional)} positional argument(s) "
                f"({', '.join(positional)}), got {len(args)}; signature: {_usage(cls)}"
                if positional else f"{call.name} takes keyword arguments only, got {len(args)} "
                f"positional; signature: {_usage(cls)}"
            )
        kwargs.update(zip(positional, args, strict=False))  # fewer args than names is fine
        for key, value in call.kwargs:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SpecError(
                    f"{call.name}: unknown argument {key!r}{hint}; allowed: "
                    f"{', '.join(names) or f'none, write {call.name}()'}"
                )
            if key in kwargs:
                raise SpecError(f"{call.name}: argument {key!r} given twice")
            kwargs[key] = value
        missing = [f.name for f in fields if _is_required(f) and f.name not in kwargs]
        if missing:
            raise SpecError(
                f"{call.name}: missing required argument(s) {', '.join(missing)}; "
                f"signature: {_usage(cls)}"
            )
        return cls(**kwargs)

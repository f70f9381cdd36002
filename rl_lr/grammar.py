"""The text side of the spec grammar: tokenizer, parser and value rendering.

``name(positional, key=value)`` calls, numbers, strings (bare words or quoted), booleans,
``none``, lists and nested calls. Parsing builds plain values and :class:`Call` records, never
evaluates code; :mod:`rl_lr.spec` resolves calls against a registry.

    >>> parse_text("cosine(3e-4, end=1e-5)")
    Call(name='cosine', args=(0.0003,), kwargs=(('end', 1e-05),))
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from rl_lr.errors import SpecError

__all__ = ["BARE_WORD", "KEYWORDS", "NUMBER", "Call", "SpecError", "parse_text", "render_value"]


@dataclasses.dataclass(frozen=True)
class Call:
    """A parsed ``name(args, key=value)`` before it is resolved against a registry."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


# --------------------------------------------------------------------------------------------
# Tokenizer and parser
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf\b|nan\b))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<punct>[()\[\],=])
    )""",
    re.VERBOSE,
)
NUMBER = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)")
KEYWORDS: dict[str, Any] = {"true": True, "false": False, "none": None}
_MAX_DEPTH = 50  # nesting of calls and lists; deeper input is a SpecError, not a RecursionError


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].lstrip()[:1]
            at = len(text) - len(text[pos:].lstrip())
            raise SpecError(f"unexpected character {bad!r} at position {at} in {text!r}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "number":
            try:
                value: Any = float(raw) if re.search(r"[.eEna]", raw) else int(raw)
            except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
                message = f"number at position {start} is too long ({len(raw)} characters)"
                raise SpecError(message) from None
        elif kind == "string":
            value = raw[1:-1]
        elif kind == "name" and raw.lower() in KEYWORDS:
            kind, value = "literal", KEYWORDS[raw.lower()]
        else:
            value = raw
        tokens.append((kind, value, start))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def error(self, message: str) -> SpecError:
        return SpecError(f"{message} in {self.text!r}")

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, punct: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "punct" and token[1] == punct:
            self.i += 1
            return True
        return False

    def expect(self, punct: str, closing_for: int | None = None) -> None:
        if self.take(punct):
            return
        token = self.peek()
        if token is None:
            where = f" opened at position {closing_for}" if closing_for is not None else ""
            raise self.error(f"unbalanced brackets: missing {punct!r}{where}")
        raise self.error(f"expected {punct!r} at position {token[2]}, found {token[1]!r}")

    def parse(self) -> Any:
        if not self.tokens:
            raise SpecError("empty spec: write a name with arguments, e.g. 'cosine(3e-4)'")
        value = self.value()
        token = self.peek()
        if token is not None:
            if token[0] == "punct" and token[1] in ")]":
                raise self.error(
                    f"unbalanced brackets: unexpected {token[1]!r} at position {token[2]}"
                )
            raise self.error(f"trailing text {self.text[token[2]:]!r} at position {token[2]}")
        return value

    def value(self) -> Any:
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise self.error(f"spec nested deeper than {_MAX_DEPTH} levels")
            return self._value()
        finally:
            self.depth -= 1

    def _value(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of spec")
        kind, value, pos = token
        if kind in ("number", "string", "literal"):
            self.i += 1
            return value
        if kind == "name":
            self.i += 1
            if self.take("("):
                return self.call_rest(value, pos)
            return value  # a bare word: a string, or a call without arguments where a spec is due
        if value == "[":
            self.i += 1
            items: list[Any] = []
            while not self.take("]"):
                items.append(self.value())
                if not self.take(","):
                    self.expect("]", closing_for=pos)
                    break
            return items
        raise self.error(f"unexpected {value!r} at position {pos}")

    def call_rest(self, name: str, pos: int) -> Call:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while not self.take(")"):
            token = self.peek()
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if token and token[0] == "name" and nxt and nxt[0] == "punct" and nxt[1] == "=":
                self.i += 2
                if token[1] in kwargs:
                    raise self.error(f"argument {token[1]!r} given twice")
                kwargs[token[1]] = self.value()
            else:
                if kwargs:
                    raise self.error(f"positional argument after keyword arguments in {name}(...)")
                args.append(self.value())
            if not self.take(","):
                self.expect(")", closing_for=pos + len(name))
                break
        return Call(name, tuple(args), tuple(kwargs.items()))


# --------------------------------------------------------------------------------------------
# Rendering (the inverse of parsing)
# --------------------------------------------------------------------------------------------

BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def render_value(value: Any) -> str:
    """Render one argument value in the grammar (the inverse of parsing it)."""
    if hasattr(value, "spec_name"):  # a SpecObject: its repr is its spec
        return repr(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if BARE_WORD.match(value) and value.lower() not in (*KEYWORDS, "inf", "nan"):
            return value
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, Call):  # a nested spec where a value belongs, named in an error
        inner = [*map(render_value, value.args), *(f"{k}={render_value(v)}" for k, v in
                                                    value.kwargs)]
        return f"{value.name}({', '.join(inner)})"
    raise TypeError(f"cannot render {value!r} ({type(value).__name__}) in a spec")




_ZOO_LINEAR = re.compile(r"\s*lin_(?P<start>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")


def parse_text(text: str) -> Any:
    """Parse one spec text into plain values and :class:`Call` records.

    rl-baselines3-zoo's ``lin_1e-3`` is refused with its rl-lr spelling:

    >>> parse_text("lin_1e-3")
    Traceback (most recent call last):
    ...
    rl_lr.errors.SpecError: 'lin_1e-3' is rl-baselines3-zoo's spelling; write linear(1e-3)
    """
    zoo = _ZOO_LINEAR.fullmatch(text)
    if zoo is not None:
        raise SpecError(f"{text.strip()!r} is rl-baselines3-zoo's spelling; write "
                        f"linear({zoo['start']})")
    return _Parser(text).parse()

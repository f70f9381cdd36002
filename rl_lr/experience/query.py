"""Selecting and ordering rows of a :class:`~rl_lr.experience.index.RunIndex`: the ``--where``
mini-language of ``rl-lr runs`` (read here, never evaluated as code) and sorting.

An expression is terms separated by spaces, all of which must hold (quote a value with spaces,
as in shell: ``lr_spec='cosine(3e-3, warmup=0.05)'``). A term is ``COLUMN OP VALUE``, spaces
around the operator allowed (``eval_auc > 400``):

- ``=`` (or ``==``) / ``!=``: equal / not equal; ``a,b`` lists alternatives, ``*`` and ``?``
  are wildcards, an empty value matches an empty cell, numbers compare as numbers
  (``steps=3e4``), spaces in the text do not matter (commas inside a spec's brackets are the
  spec's);
- ``<``, ``<=``, ``>``, ``>=``: numeric columns only, against a number;
- ``~``: the cell contains the text (case-insensitive).

    >>> rows = [{"env": "CartPole-v1", "eval_auc": 400.0}, {"env": "Pendulum-v1",
    ...         "eval_auc": -900.0}]
    >>> [r["env"] for r in where(rows, "env=Cart*", ("env", "eval_auc"))]
    ['CartPole-v1']
    >>> [r["env"] for r in where(rows, "eval_auc > 0 env!=Pendulum-v1", ("env", "eval_auc"),
    ...                          numeric=("eval_auc",))]
    ['CartPole-v1']
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rl_lr.errors import SpecError

__all__ = ["OPERATORS", "parse_where", "sort_rows", "where"]

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
_OPERATOR = r"(==|!=|>=|<=|=|>|<|~)"
_TERM = re.compile(rf"^([A-Za-z_][\w.]*)\s*{_OPERATOR}(.*)$", re.DOTALL)
_STARTS_WITH_OPERATOR = re.compile(rf"^{_OPERATOR}")

Row = dict[str, Any]
Test = Callable[[Row], bool]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if not math.isnan(value) else None


def _check_column(column: str, columns: Sequence[str], option: str = "--where") -> None:
    if column in columns:
        return
    close = difflib.get_close_matches(column, columns, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise SpecError(f"{option}: unknown column {column!r}{hint}; columns: {', '.join(columns)}")


def _equals(cell: Any, wanted: str) -> bool:
    if cell is None or cell == "":
        return wanted == ""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        number = _number(wanted)
        if number is not None:
            return float(cell) == number
    text = "".join(str(cell).split())
    if any(c in wanted for c in "*?["):
        return fnmatch.fnmatchcase(text, wanted)
    return text == wanted


def _alternatives(value: str) -> list[str]:
    """``a,b`` split at the commas outside brackets (a spec's own commas stay).

    >>> _alternatives("clean,cosine(1e-3, warmup=0.05)")
    ['clean', 'cosine(1e-3, warmup=0.05)']
    """
    parts, depth, start = [], 0, 0
    for i, char in enumerate(value):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            parts.append(value[start:i])
            start = i + 1
    return [*parts, value[start:]]


def _term(text: str, columns: Sequence[str], numeric: frozenset[str]) -> Test:
    match = _TERM.match(text)
    if match is None:
        raise SpecError(f"--where: {text!r} is not COLUMN OP VALUE (OP one of "
                        f"{' '.join(OPERATORS)}), e.g. env=CartPole-v1 eval_auc>400")
    column, op, value = match.group(1), match.group(2).replace("==", "="), match.group(3).strip()
    _check_column(column, columns)
    if op in ("=", "!="):
        options = ["".join(v.split()) for v in _alternatives(value)] if value else [""]

        def equal(row: Row) -> bool:
            return any(_equals(row.get(column), o) for o in options)

        return equal if op == "=" else (lambda row: not equal(row))
    if op == "~":
        needle = value.lower()
        return lambda row: row.get(column) is not None and needle in str(row[column]).lower()
    bound = _number(value)
    if column not in numeric:
        raise SpecError(f"--where: {column} is not numeric: {op} takes a numeric column "
                        f"({', '.join(c for c in columns if c in numeric)})")
    if bound is None:
        raise SpecError(f"--where: {text!r}: {op} needs a number, got {value!r}")
    compare: dict[str, Callable[[float], bool]] = {
        "<": lambda x: x < bound, "<=": lambda x: x <= bound,
        ">": lambda x: x > bound, ">=": lambda x: x >= bound}
    check = compare[op]
    return lambda row: isinstance(row.get(column), (int, float)) and check(float(row[column]))


def _terms(tokens: Sequence[str]) -> list[str]:
    """Shell tokens joined into terms where spaces surround an operator: a token that starts
    with one joins the token before it, and a term whose value is empty takes the next token
    unless that is a term itself (``optimizer= env=X``: an empty cell, then the env).

    >>> _terms(["eval_auc", ">", "400", "env=", "CartPole-v1", "optimizer=", "algo=ppo"])
    ['eval_auc>400', 'env=CartPole-v1', 'optimizer=', 'algo=ppo']
    """
    terms: list[str] = []
    for token in tokens:
        last = _TERM.match(terms[-1]) if terms else None
        open_term = last is not None and not last.group(3).strip()
        if terms and (_STARTS_WITH_OPERATOR.match(token)
                      or (open_term and _TERM.match(token) is None)):
            terms[-1] += token
        else:
            terms.append(token)
    return terms


def parse_where(expression: str | Sequence[str], columns: Sequence[str],
                numeric: Iterable[str] = ()) -> Test:
    """The test a ``--where`` expression (or several, all must hold) puts on a row.

    Raises:
        SpecError: a malformed term, an unknown column, an order on a text column.
    """
    parts = [expression] if isinstance(expression, str) else list(expression)
    try:
        terms = _terms([t for part in parts for t in shlex.split(part)])
    except ValueError as err:
        raise SpecError(f"--where: {err} in {' '.join(parts)!r}") from None
    tests = [_term(t, columns, frozenset(numeric)) for t in terms]
    return lambda row: all(test(row) for test in tests)


def where(rows: Iterable[Row], expression: str | Sequence[str], columns: Sequence[str],
          numeric: Iterable[str] = ()) -> list[Row]:
    """The rows for which ``expression`` holds (module docstring), in their order;
    ``numeric``: the columns ``<``, ``<=``, ``>``, ``>=`` apply to."""
    test = parse_where(expression, columns, numeric)
    return [row for row in rows if test(row)]


def sort_rows(rows: list[Row], column: str, columns: Sequence[str], *,
              descending: bool = False) -> list[Row]:
    """``rows`` sorted by ``column`` (numbers as numbers), empty cells last.

    >>> [r["a"] for r in sort_rows([{"a": 2}, {"a": None}, {"a": 3}], "a", ["a"],
    ...                            descending=True)]
    [3, 2, None]
    """
    _check_column(column, columns, "--sort")
    present = [r for r in rows if r.get(column) is not None]
    missing = [r for r in rows if r.get(column) is None]
    numbers = all(isinstance(r[column], (int, float)) for r in present)
    present.sort(key=lambda r: r[column] if numbers else str(r[column]), reverse=descending)
    return present + missing

"""What every command's parser shares: the parser class whose errors are one line (exit 2)
and the argument types.

    >>> positive_int("3")
    3
    >>> closest_option("--learning-rate", ["--lr", "--steps", "--env"])
    '--lr'
"""

from __future__ import annotations

import argparse
import difflib
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rl_lr.errors import UsageError

__all__ = ["Parser", "check_output_path", "closest_option", "positive_int"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (one line, exit code 2)
    and that answers an unknown option with the closest one its command has
    (``--learning-rate``: did you mean ``--lr``?), as unknown spec names are answered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.option_names: list[str] = []  # every --option of this parser, for did-you-mean
        self.commands: dict[str, Parser] = {}  # sub-command parsers by name
        self.command_dest: str | None = None
        super().__init__(*args, **kwargs)  # adds --help through add_argument

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.option_names += [name for name in action.option_strings if name.startswith("--")]
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        action = super().add_subparsers(**kwargs)
        self.commands = action.choices
        self.command_dest = kwargs.get("dest")
        return action

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.commands.get(getattr(parsed, self.command_dest or "", None) or "")
            owner = command if command is not None else self
            owner.error(owner.unrecognized(extras, self.option_names))
        return parsed

    def unrecognized(self, extras: list[str], inherited: Iterable[str] = ()) -> str:
        """The message for arguments nobody took, naming the closest option of each."""
        options = [*self.option_names, *inherited]
        unknown = [extra.split("=", 1)[0] for extra in extras if extra.startswith("--")]
        close = {flag: closest_option(flag, options) for flag in unknown}
        hints = [f"{flag}: did you mean {option}?" for flag, option in close.items() if option]
        if len(unknown) == 1 and hints:
            hints = [hints[0].split(": ", 1)[1]]
        hint = f" ({'; '.join(hints)})" if hints else ""
        return f"unrecognized arguments: {' '.join(extras)}{hint}"

    def error(self, message: str) -> NoReturn:
        choice = _INVALID_CHOICE.search(message)
        if choice is not None:  # argparse's own: a command or a choice misspelt
            close = difflib.get_close_matches(choice["given"],
                                              re.findall(r"'([^']*)'", choice["allowed"]), n=1)
            message += f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<allowed>.*)\)")


def closest_option(given: str, options: Iterable[str]) -> str | None:
    """The option ``given`` most likely meant: one whose name is the initials of its words
    (``--learning-rate`` -> ``--lr``), else the closest spelling (``--step`` -> ``--steps``),
    else one whose name is a word of it (``--env-id`` -> ``--env``); None if nothing is close."""
    options = list(dict.fromkeys(options))
    name = given.split("=", 1)[0].lstrip("-").lower()
    words = [w for w in name.replace("_", "-").split("-") if w]
    initials = "".join(w[0] for w in words)
    for option in options:
        if len(words) > 1 and option.lstrip("-") == initials:
            return option
    close = difflib.get_close_matches(f"--{name}", options, n=1, cutoff=0.7)
    if close:
        return close[0]
    for option in options:
        if option.lstrip("-") in words:
            return option
    return None


def check_output_path(option: str, path: Path | None, *, directory: bool) -> None:
    """Refuse ``path`` (a command's ``--out``, ``--plot``, ...) if a file stands where a
    directory must be (one of its parents, or the path itself when it names a directory), a
    directory where a file must be, or the nearest existing directory cannot be written in, so
    the command writes nothing instead of failing halfway with an ``OSError``.

    Raises:
        UsageError: naming the path in the way.
    """
    if path is None:
        return
    blocking = [p for p in (path, *path.parents) if p.exists() and not p.is_dir()]
    if blocking and (directory or blocking[0] != path):
        raise UsageError(f"{option} {path}: {blocking[0]} is a file, not a directory; "
                         "give a directory path")
    if not directory and path.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file path")
    nearest = next(p for p in (path, *path.parents, Path(".")) if p.is_dir())
    try:
        tempfile.TemporaryFile(dir=nearest).close()  # created and gone: nothing is left
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write in {nearest} ({err.strerror}); "
                         "give a writable path") from None


def _int_from(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer > 0."""
    return _int_from(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An ``argparse`` type: an integer >= 0."""
    return _int_from(text, 0, "an integer >= 0")

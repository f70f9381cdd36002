"""The README's Python examples run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_its_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_each_readme_python_block_runs_on_its_own(number: int, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block is self-contained: a reader can paste any one of them alone."""
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"readme_block_{number}")  # a module of its own, as if pasted
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(BLOCKS[number], f"{README}:block{number}", "exec"), module.__dict__)


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_says_to_activate_the_venv_right_under_the_two_commands() -> None:
    """After `make demo`, `rl-lr` is only on the PATH inside .venv: the paragraph right under
    the two commands says so, before any `rl-lr` command appears."""
    text = README.read_text()
    first_block_end = text.index("```", text.index("```bash") + 3) + 3
    next_paragraph = text[first_block_end:].strip().split("\n\n")[0]
    assert "source .venv/bin/activate" in next_paragraph
    assert ".venv/bin/rl-lr" in next_paragraph
    assert "command not found" in next_paragraph
    assert text.index("rl-lr ", first_block_end) > first_block_end + len(next_paragraph)

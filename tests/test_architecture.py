"""The package's structure holds: no import cycles, no private name taken from another module,
every import inside a function says why, no long module without a reason, and the map in
docs/architecture.md names every package and module there is.

The layer order itself is checked by import-linter (``make lint``: the contracts in
pyproject.toml); these checks read the source with :mod:`ast`, so they also see imports hidden
inside functions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"rl_lr": ROOT / "rl_lr", "rl_lr.envs": ROOT / "envs", "rl_lr.agents": ROOT / "agents"}
MAX_LINES = 400
SIZE_REASON = "# Over 400 lines:"


@dataclass(frozen=True)
class Import:
    """One import statement of a project module."""

    module: str  # the importing module
    target: str  # the imported project module
    names: tuple[str, ...]  # names taken with ``from target import ...``
    line: int


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for prefix, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([prefix, *parts])
            if prefix == "rl_lr" and name.startswith(("rl_lr.envs", "rl_lr.agents")):
                continue
            found[name] = path
    return found


MODULES = _modules()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            if target not in MODULES:
                continue
            submodules = [a.name for a in node.names if f"{target}.{a.name}" in MODULES]
            names = tuple(a.name for a in node.names if a.name not in submodules)
            for sub in submodules:
                yield Import(module, f"{target}.{sub}", (), node.lineno)
            if names:
                yield Import(module, target, names, node.lineno)


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports(name, path)]


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_the_checks_see_the_whole_package() -> None:
    assert {"rl_lr.cli.main", "rl_lr.envs.perturbations", "rl_lr.agents.factory",
            "rl_lr.metrics.bootstrap"} <= set(MODULES)
    assert len(IMPORTS) > 150


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_no_private_name_is_imported_from_another_module() -> None:
    private = [f"{imp.module}:{imp.line} takes {name} from {imp.target}"
               for imp in IMPORTS for name in imp.names
               if name.startswith("_") and not name.startswith("__")]
    assert private == []


def _module_aliases(tree: ast.AST) -> dict[str, str]:
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES and alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def test_no_private_attribute_of_another_module_is_used() -> None:
    found = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        aliases = _module_aliases(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert found == []


def _import_blocks(function: ast.AST) -> Iterator[list[ast.stmt]]:
    """Runs of consecutive import statements inside ``function`` (any nesting)."""
    for node in ast.walk(function):
        for field in ("body", "orelse", "finalbody", "handlers"):
            statements = getattr(node, field, None)
            if not isinstance(statements, list):
                continue
            block: list[ast.stmt] = []
            for statement in [*statements, None]:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    block.append(statement)
                    continue
                if block:
                    yield block
                block = []


def _says_why(lines: list[str], block: list[ast.stmt]) -> bool:
    """A comment line just above the block, or a comment on one of its lines."""
    first, last = block[0].lineno, block[-1].end_lineno or block[-1].lineno
    above = lines[first - 2].strip() if first >= 2 else ""
    return above.startswith("#") or any("#" in lines[i - 1] for i in range(first, last + 1))


def test_every_import_inside_a_function_says_why() -> None:
    """Only where it keeps `rl-lr --help` fast or guards an optional dependency; the comment
    says which."""
    missing = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                missing += [f"{name}:{block[0].lineno}" for block in _import_blocks(function)
                            if not _says_why(lines, block)]
    assert sorted(set(missing)) == []


def test_long_modules_say_why_at_their_top() -> None:
    long = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES and not any(line.startswith(SIZE_REASON) for line in lines[:3]):
            long.append(f"{name} ({len(lines)} lines)")
    assert long == []


def test_the_architecture_map_names_every_package_and_module() -> None:
    """docs/architecture.md names each package folder (`rl_lr/run/`) and each module file
    (`train.py`), and names nothing that does not exist."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    folders = set(re.findall(r"`([\w/]+/)`", text))
    files = set(re.findall(r"`([\w]+\.py)`", text))
    expected_folders = {p.parent.relative_to(ROOT).as_posix() + "/"
                        for p in MODULES.values() if p.name == "__init__.py"}
    expected_files = {p.name for p in MODULES.values() if p.name != "__init__.py"}
    assert sorted(expected_folders - folders) == []
    assert sorted(expected_files - files) == []
    tree_files = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    code_folders = {f for f in folders if f.startswith(("rl_lr/", "envs/", "agents/"))}
    assert sorted(f for f in code_folders if not (ROOT / f).is_dir()) == []
    assert sorted(files - tree_files) == []


def test_the_readme_layout_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    folders = {p.parent.relative_to(ROOT).as_posix() + "/" for p in MODULES.values()
               if p.name == "__init__.py" and p.parent.parent.name == "rl_lr"}
    assert sorted(f for f in folders if f"`{f}`" not in layout) == []
    named = set(re.findall(r"`(rl_lr/[\w/]+/)`", layout))
    assert sorted(f for f in named if not (ROOT / f).is_dir()) == []


CLEAN_FIELDS = ("clean_new_episode_returns", "clean_recent_returns")
CLEAN_FIELD_USERS = {"rl_lr.signals", "rl_lr.sb3", "rl_lr.oracles"}  # defines, fills, reads


def test_only_oracles_read_the_clean_returns() -> None:
    """Honesty rule: a controller sees the observed reward. The clean returns ride along in
    TrainingSignals for the oracle arms only (labelled as such); no other module touches them."""
    users = {module for module, path in _modules().items()
             if any(field in path.read_text() for field in CLEAN_FIELDS)}
    assert users == CLEAN_FIELD_USERS

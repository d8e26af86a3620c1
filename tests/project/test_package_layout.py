"""The package's shape, kept by a test: folders that say what they hold, imports that only go down.

Read from the source with `ast` (nothing is imported), every import counted — module level,
inside functions and under `TYPE_CHECKING` alike — because a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "durable_tasks"
SUBPACKAGES = ("sync", "pocketbase", "dev", "testing", "cli")

# What each part may import (besides itself and the flat core). The flat core may import a
# subpackage only where it assembles one: the plugin and the worker wire the sync, the worker
# builds the PocketBase store from settings, and the root re-exports public names.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "sync": set(),
    "pocketbase": set(),
    "dev": {"pocketbase", "sync"},
    "testing": {"dev", "pocketbase", "sync"},
    "cli": {"dev", "pocketbase", "sync", "testing"},
}
CORE_ASSEMBLERS: dict[str, set[str]] = {
    "durable_tasks": {"pocketbase", "sync"},
    "durable_tasks.plugin": {"sync"},
    "durable_tasks.worker": {"pocketbase", "sync"},
}
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {name for name in _imports(module, path) if name in modules}
        targets.discard(module)
        # importing `a.b.c` runs `a.b` too, but a package's face is not a dependency of its
        # own modules: only count what is named
        graph[module] = targets
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "core"


def test_no_import_circles() -> None:
    graph = _graph()
    # A package's __init__ only hands names on from its own modules: leave those arrows out,
    # else every module importing a sibling through the face would look circular.
    faces = {m for m, p in _modules().items() if p.name == "__init__.py"}
    edges = {
        m: {t for t in ts if t not in faces or _part(t) != _part(m)} for m, ts in graph.items()
    }
    for face in faces:
        edges[face] = set()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_imports_only_go_down_and_never_into_another_package_s_internals() -> None:
    wrong = []
    for module, targets in _graph().items():
        mine = _part(module)
        for target in targets:
            theirs = _part(target)
            if theirs == mine:
                continue
            allowed = ALLOWED[mine] | CORE_ASSEMBLERS.get(module, set())
            if theirs != "core" and theirs not in allowed:
                wrong.append(f"{module} -> {target} ({mine} may not import {theirs})")
            private = any(p.startswith("_") for p in target.split(".")[2:])
            if theirs != "core" and private:
                wrong.append(f"{module} -> {target} (another package's internals)")
    assert wrong == []


def test_the_core_never_imports_the_sync_except_to_wire_it() -> None:
    """Processors, steps and flows report through typed protocols; the sync listens."""
    graph = _graph()
    users = sorted(
        m for m, ts in graph.items() if _part(m) == "core" and any(_part(t) == "sync" for t in ts)
    )
    assert users == ["durable_tasks", "durable_tasks.plugin", "durable_tasks.worker"]


def test_no_module_needs_a_table_of_contents() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_above_can_fail() -> None:
    """The graph reader sees the arrows it must see (else every check above passes vacuously)."""
    graph = _graph()
    assert "durable_tasks.sync._writer" in graph["durable_tasks.sync._interceptor"]
    assert "durable_tasks._flow_engine" in graph["durable_tasks.flow"]
    assert "durable_tasks.pocketbase" in graph["durable_tasks.worker"]  # a lazy import
    assert _part("durable_tasks.dev._stack") == "dev"

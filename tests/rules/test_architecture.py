"""The shape of the code: packages of ``app/`` import each other one way only.

- no import cycle between packages of ``app/`` (``app.agreements`` ↔ ``app.points`` …);
- no domain imports ``app.admin`` (it only assembles the app) or another package's router;
- no service imports a router;
- the gatekeeper (hot path) imports nothing of the admin side.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import app

ROOT = Path(app.__file__).parent
# The admin side: what the gatekeeper must never import: every package with a router (the
# admin domains), and the admin's own plumbing. (The record's models, the outbox reader
# and the registry are shared: a gatekeeper without Redis follows the outbox.)
ADMIN_SIDE = tuple(
    sorted(
        {f"app.{p.parent.name}" for p in ROOT.glob("*/router.py")}
        | {"app.admin", "app.auth", "app.uow", "app.ledger", "app.points"}
    )
)


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        if "migrations" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> set[str]:
    """Every ``app.*`` module ``module`` imports (at the top or inside a function)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in out if m == "app" or m.startswith("app.")}


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


GRAPH = {m: _imports(m, p) for m, p in _modules()}


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, deps in GRAPH.items():
        edges = graph.setdefault(_package(module), set())
        edges.update(_package(d) for d in deps if _package(d) != _package(module))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_walker_sees_a_known_edge_and_a_planted_cycle() -> None:
    """The check itself works: it sees a real import, and it finds a cycle when one exists."""
    assert "app.uow" in _package_graph()["app.agreements"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_packages_of_app() -> None:
    cycle = _cycle(_package_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_domain_imports_the_admin_assembly_or_a_router() -> None:
    for module, deps in GRAPH.items():
        if _package(module) == "app.admin" or module == "app.main":
            continue
        for dep in deps:
            assert not dep.startswith("app.admin"), f"{module} imports {dep}"
            if dep.endswith(".router") and _package(dep) != _package(module):
                raise AssertionError(f"{module} imports another package's router {dep}")


def test_services_never_import_routers() -> None:
    for module, deps in GRAPH.items():
        if module.endswith((".service", ".repository")):
            routers = [d for d in deps if d.endswith(".router")]
            assert not routers, f"{module} imports {routers}"


def test_gatekeeper_imports_nothing_of_the_admin_side() -> None:
    for module, deps in GRAPH.items():
        if _package(module) in ("app.gatekeeper", "app.registry", "app.sync"):
            bad = sorted(d for d in deps if d.startswith(ADMIN_SIDE))
            assert not bad, f"{module} imports {bad}"


def test_settings_are_read_only_by_the_settings_class() -> None:
    """No ``os.environ`` / ``os.getenv`` outside ``app/core/settings.py``."""
    for module, path in _modules():
        if module == "app.core.settings":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                raise AssertionError(f"{module} reads the environment ({node.attr})")

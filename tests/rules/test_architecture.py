"""The shape of the code: packages and modules of ``app/`` import each other one way only.

- no import cycle between packages of ``app/`` (``app.agreements`` ↔ ``app.points`` …);
- no import cycle between modules of ``app/``. The rule: every import of an ``app.*``
  module counts, wherever it stands: at the top of the module, under
  ``if TYPE_CHECKING:``, or inside a function. A deferred or type-only import does not
  break a cycle at run time by design, it hides one: the two modules still depend on
  each other. Two modules that need each other's names share a lower module (or a
  ``Protocol``) instead;
- the gatekeeper's rooms (``GATEKEEPER_ROOMS``): a room imports only the rooms below it,
  and nothing imports ``app.gatekeeper.server`` but the CLI;
- the admin side's layers (``LAYERS``): a package imports only packages of lower layers;
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
    for path in sorted([*ROOT.rglob("*.py"), *ROOT.rglob("*.pyi")]):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        if "migrations" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


MODULES = {m for m, _ in _modules()}


def _resolve(name: str) -> str:
    """The module ``name`` lives in: itself, or the longest enclosing module (a class or
    function imported from a module resolves to that module)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path, source: str | None = None) -> set[str]:
    """Every ``app.*`` module ``module`` imports, wherever the import stands: at the top,
    under ``if TYPE_CHECKING:``, or inside a function (see ``test_no_module_cycle``)."""
    is_package = path.name in ("__init__.py", "__init__.pyi")
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.update(_resolve(f"{base}.{a.name}") for a in node.names)
    return {m for m in out if (m == "app" or m.startswith("app.")) and m != module}


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
    assert "app.gatekeeper.national._feefast" in GRAPH["app.gatekeeper.national.fast"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_walker_counts_type_only_and_deferred_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.registry.compact import Registry\n"
        "def f() -> None:\n"
        "    from app.sync.relay import run_relay\n"
        "from .judge import Entry\n"
    )
    found = _imports("app.registry.memo", ROOT / "registry" / "memo.py", source)
    assert found == {"app.registry.compact", "app.sync.relay", "app.registry.judge"}


def test_no_module_cycle_in_app() -> None:
    cycle = _cycle(GRAPH)
    assert cycle is None, "module import cycle: " + " -> ".join(cycle or [])


# The gatekeeper's rooms, lowest first, and the rooms each may import (besides itself and
# the shared packages: app.core, app.models, app.registry, app.rules, app.sync).
# TOP is the assembly: the modules directly in app/gatekeeper/.
TOP = "(top)"
GATEKEEPER_ROOMS: dict[str, set[str]] = {
    "edge": set(),
    "decisions": {"edge"},
    "upstream": {"edge"},
    "host": {"edge", "decisions", "upstream"},
    "plain": {"edge", "decisions", "host"},
    "national": {"edge", "decisions", "host", "plain", "upstream"},
    "readside": {"edge", "decisions", "host", "plain"},
    TOP: {"edge", "decisions", "host", "plain", "national", "readside", "upstream"},
    "server": {"edge", "decisions", "host", "plain", "national", "readside", "upstream", TOP},
}
GK = "app.gatekeeper"


def _room(module: str) -> str | None:
    """The room of a gatekeeper module (None outside the gatekeeper)."""
    if module != GK and not module.startswith(GK + "."):
        return None
    parts = module.split(".")
    if len(parts) > 3 and parts[2] in GATEKEEPER_ROOMS:
        return parts[2]
    if len(parts) == 3 and (ROOT / "gatekeeper" / parts[2]).is_dir():
        return parts[2]  # a room's own package (__init__)
    return TOP


def _room_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for module, deps in sorted(graph.items()):
        room = _room(module)
        for dep in sorted(deps):
            target = _room(dep)
            if target is None:
                continue
            if room is None:
                if target == "server" and module != "app.cli":
                    breaches.append(f"{module} imports {dep}: only the CLI names the server")
            elif target != room and target not in GATEKEEPER_ROOMS[room]:
                breaches.append(f"{module} ({room}) imports {dep} ({target})")
    return breaches


def test_every_gatekeeper_room_is_in_the_table_with_its_docstring() -> None:
    """A new room is placed in the order (and says what it owns and may import)."""
    for init in sorted((ROOT / "gatekeeper").glob("*/__init__.py")):
        room = init.parent.name
        assert room in GATEKEEPER_ROOMS, f"app/gatekeeper/{room}/ is not in GATEKEEPER_ROOMS"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc or "nothing in ``app/`` imports it" in doc, (
            f"app/gatekeeper/{room}/__init__.py: say what the room owns and may import"
        )


def test_gatekeeper_rooms_import_only_the_rooms_below() -> None:
    assert _room_breaches(GRAPH) == []


def test_the_room_check_sees_a_planted_breach() -> None:
    planted = {
        "app.gatekeeper.edge.asgi": {"app.gatekeeper.plain.schemas"},
        "app.gatekeeper.plain.decide": {"app.gatekeeper.app"},
        "app.main": {"app.gatekeeper.server.inline"},
        "app.gatekeeper.national.hsa": {"app.gatekeeper.plain.decide", "app.core.errors"},
    }
    assert _room_breaches(planted) == [
        "app.gatekeeper.edge.asgi (edge) imports app.gatekeeper.plain.schemas (plain)",
        "app.gatekeeper.plain.decide (plain) imports app.gatekeeper.app ((top))",
        "app.main imports app.gatekeeper.server.inline: only the CLI names the server",
    ]


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


# The admin side's layers, lowest first: a package imports (and so calls) only packages of
# lower layers, never one of its own layer or above. The write journey test
# (tests/admin/test_write_journey.py) holds a write's calls at run time to the same order.
# GROUND: what every layer stands on (its own order is the no-cycle rule's).
GROUND = {"app.core", "app.models", "app.rules", "app.registry", "app.sync", "app.gatekeeper"}
LAYERS: list[set[str]] = [
    GROUND,
    {"app.uow"},
    {"app.auth"},
    {
        "app.ledger",
        "app.regions",
        "app.tokens",
        "app.calendar",
        "app.audit",
        "app.decisions",
        "app.public",
    },
    {"app.agreements"},
    {"app.institutions", "app.credentials"},
    {"app.points"},
    {"app.physicians"},
    {"app.violations", "app.actions", "app.visits", "app.imports"},
    {"app.console", "app.docs", "app.seed_week", "app.schemas_out", "app.standin"},
    {"app.admin", "app.seed"},  # assembles the routers; the demo data (its week below)
    {"app.main", "app.cli"},  # the embedded app, the command line
]
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for m in GRAPH} - {"app"}
    assert packages - set(LAYER_OF) == set(), "place these packages in LAYERS"


def _layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for module, deps in sorted(graph.items()):
        src = _package(module)
        if src == "app" or LAYER_OF[src] == 0:
            continue
        for dep in sorted(deps):
            dst = _package(dep)
            if dst != src and dst != "app" and LAYER_OF[dst] >= LAYER_OF[src]:
                breaches.append(f"{module} -> {dep}")
    return breaches


def test_packages_import_only_lower_layers() -> None:
    """Down only: no import of a package of the same layer or above (ground floor aside)."""
    assert _layer_breaches(GRAPH) == []


def test_the_layer_check_sees_a_planted_breach() -> None:
    planted = {
        "app.violations.service": {"app.physicians.scope", "app.points.service"},
        "app.uow.change": {"app.auth.principal", "app.models"},
        "app.auth.scope": {"app.core.errors"},
    }
    assert _layer_breaches(planted) == ["app.uow.change -> app.auth.principal"]

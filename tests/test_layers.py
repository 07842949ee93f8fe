"""The package's layers hold: every import (lazy ones included) points down or within
its own package, no module imports another's private names, and no module cycle.

The order, bottom to top (docs/architecture.md says why):

    errors, metrics   plain definitions (numpy only)
    io, data          readers of every input format; the embedded datasets' paths
    grid, economics.bitcoin, economics.ai
                      methods on numbers and series that take no Scenario: demand
                      shapes, profiles, headroom; the Bitcoin protocol and fleets; GPUs
    scenario          the validated scenario and its hourly series
    economics         what takes a Scenario: each applicant's bid, contract terms
    optimize          the LP: inputs, solve, one schedule, diagnosis
    accounts          every reported figure of a solved plan, and the results schema
    planning          the main job: plan, case re-solves, the multi-year view
    risk              the Monte Carlo over plans
    report            exports, HTML, the console tables, provenance
    site              the site agent: VEN client, planner, fleet adapters (HTTP to ops only)
    ops               the operations service: database, registry, ledger, audit, API, VTN,
                      schedule, metering, compliance, invoices
    cli               parses, calls, prints; tools (calibration, profile builder)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: list[tuple[str, ...]] = [
    ("megawatt", "megawatt.errors", "megawatt.metrics"),
    ("megawatt.io", "megawatt.data"),
    ("megawatt.grid", "megawatt.economics.bitcoin", "megawatt.economics.ai"),
    ("megawatt.scenario",),
    ("megawatt.economics",),
    ("megawatt.optimize",),
    ("megawatt.accounts",),
    ("megawatt.planning",),
    ("megawatt.risk",),
    ("megawatt.report", "megawatt.data.provenance"),
    ("megawatt.site",),
    ("megawatt.ops",),
    (
        "megawatt.cli",
        "megawatt.__main__",
        "megawatt.data.calibration",
        "megawatt.data.build_profiles",
    ),
]


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, the prefix that placed it): the longest matching prefix wins."""
    best = (-1, "")
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[1]):
                best = (i, prefix)
    assert best[0] >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "megawatt").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [a.name for a in node.names], node.lineno))
    return [f for f in found if f[0] == "megawatt" or f[0].startswith("megawatt.")]


def _target(module: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """The modules an import really loads: ``from megawatt.x import y`` is module
    ``megawatt.x.y`` when that is a module, else ``megawatt.x``."""
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
    return subs or [module]


def test_imports_point_down() -> None:
    known = modules()
    upward = []
    for name, path in known.items():
        mine = layer_of(name)[0]
        for module, names, line in imports(name, path):
            for target in _target(module, names, known):
                if layer_of(target)[0] > mine:
                    upward.append(f"{path.relative_to(SRC)}:{line} imports {target} (upward)")
    assert not upward, "\n".join(upward)


def test_no_private_names_across_modules() -> None:
    known = modules()
    crossing = []
    for name, path in known.items():
        for module, names, line in imports(name, path):
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private and module != name:
                crossing.append(f"{path.relative_to(SRC)}:{line} imports {private} from {module}")
    assert not crossing, "\n".join(crossing)


def test_no_import_cycles() -> None:
    known = modules()
    graph = {
        name: {
            t
            for module, names, _ in imports(name, path)
            for t in _target(module, names, known)
            if t in known and t != name
        }
        for name, path in known.items()
    }
    # A package's __init__ re-exporting its own modules is not a cycle of logic.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("module", ["megawatt.optimize.solve", "megawatt.scenario.model"])
def test_known_modules_are_placed(module: str) -> None:
    assert layer_of(module)[0] >= 0

"""The package's import graph follows docs/architecture.md: no cycles between packages, no arrow upwards."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: docs/architecture.md's table: node -> layer (lower layers never import higher ones).
LAYERS = {
    "config": 0, "core.clock": 1, "db": 2, "core": 3,
    "hours": 4, "menus": 4, "progress": 4, "logging_filters": 4, "resources": 4,
    "shops": 5, "data": 5, "retrieval": 6, "llm": 6, "nlu": 7, "nlg": 8, "recommend": 9,
    "learning": 10, "monitor": 10, "service": 11, "api": 12, "cli": 13,
}
ROOT = "naviyam"  # the package's own __init__ (the version): anyone may read it


def _node(module: str, root: str) -> str | None:
    parts = module.split(".")
    if parts[0] != root:
        return None
    if len(parts) == 1:
        return ROOT
    if parts[1] == "core" and len(parts) > 2 and parts[2] == "clock":
        return "core.clock"
    return parts[1]


def _is_module(src: Path, dotted: str) -> bool:
    path = src.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def import_graph(src: Path, root: str = "naviyam") -> dict[tuple[str, str], list[str]]:
    """(from node, to node) -> where, for every import of the package's own modules (function bodies too)."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted((src / root).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if "migrations" in parts:
            continue
        is_pkg = parts[-1] == "__init__"
        mod_parts = list(parts[:-1]) if is_pkg else list(parts)
        here = _node(".".join(mod_parts), root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod_parts if is_pkg else mod_parts[:-1]
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                # "from naviyam.core import clock" imports the module naviyam.core.clock
                targets = [f"{mod}.{a.name}" if _is_module(src, f"{mod}.{a.name}") else mod for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for there in {_node(t, root) for t in targets} - {None, here}:
                edges[(here, there)].append(f"{path.relative_to(src)}:{node.lineno}")
    return dict(edges)


def cycles(edges) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    found, state, stack = [], {}, []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found


def upward(edges) -> list[str]:
    bad = []
    for (a, b), where in sorted(edges.items()):
        if b == ROOT:  # the version in naviyam/__init__.py
            continue
        if a not in LAYERS or b not in LAYERS:
            bad.append(f"{a} -> {b}: not in docs/architecture.md ({where[0]})")
        elif LAYERS[b] >= LAYERS[a]:
            bad.append(f"{a} (layer {LAYERS[a]}) -> {b} (layer {LAYERS[b]}) at {', '.join(where[:3])}")
    return bad


def test_every_package_is_in_the_layer_table():
    packages = {p.name for p in (SRC / "naviyam").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in (SRC / "naviyam").glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= set(LAYERS), sorted((packages | modules) - set(LAYERS))


def test_no_cycle_between_packages():
    assert cycles(import_graph(SRC)) == []


def test_no_import_goes_up_the_layers():
    assert upward(import_graph(SRC)) == []


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def planted(tmp_path):
    """A tiny package laid out like ours: db, core, nlu; the test adds the wrong arrow."""
    for pkg in ("db", "core", "nlu"):
        _write(tmp_path, f"naviyam/{pkg}/__init__.py", "")
    _write(tmp_path, "naviyam/__init__.py", "__version__ = '0'\n")
    _write(tmp_path, "naviyam/core/registry.py", "from naviyam.db.models import X\n")
    _write(tmp_path, "naviyam/nlu/parser.py", "from naviyam.core.registry import Y\nfrom naviyam import __version__\n")
    return tmp_path


def test_the_checks_pass_a_clean_tree(planted):
    edges = import_graph(planted)
    assert set(edges) == {("core", "db"), ("nlu", "core"), ("nlu", ROOT)}
    assert cycles(edges) == [] and upward(edges) == []


def test_the_checks_catch_a_planted_cycle_even_inside_a_function(planted):
    _write(planted, "naviyam/db/models.py", "def load():\n    from naviyam.nlu.parser import parse\n")
    edges = import_graph(planted)
    found = cycles(edges)
    assert found and {"db", "core", "nlu"} <= set(found[0])
    assert any(line.startswith("db (layer 2) -> nlu (layer 7)") for line in upward(edges))


def test_the_checks_catch_relative_imports_and_the_clock(planted):
    _write(planted, "naviyam/core/clock.py", "from ..db import models\n")
    edges = import_graph(planted)
    assert ("core.clock", "db") in edges
    assert any(line.startswith("core.clock (layer 1) -> db (layer 2)") for line in upward(edges))


# ---- size: no module over 500 lines, no function over 60, unless the reason is written here ----

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

#: "path under src/naviyam::qualified name" (or just the path, for a module) -> why it stays long.
LONG_ALLOWED = {
    "db/migrations/versions/0001_initial_schema.py::upgrade": "the declarative schema of every table, one statement each",
    "nlu/features.py::crf_features": "a flat CRF feature template, one feature per line",
}


def _function_lengths(node: ast.AST, prefix: str = ""):
    """(qualified name, lines) of every function under ``node``, methods and nested functions included."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                yield name, (child.end_lineno or child.lineno) - child.lineno + 1
            yield from _function_lengths(child, f"{name}.")
        else:
            yield from _function_lengths(child, prefix)


def long_code(src: Path, root: str = "naviyam") -> dict[str, int]:
    """``path::qualname`` (or ``path`` for a module) -> lines, for everything over the limits."""
    found: dict[str, int] = {}
    for path in sorted((src / root).rglob("*.py")):
        rel = path.relative_to(src / root).as_posix()
        text = path.read_text(encoding="utf-8")
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            found[rel] = n
        for name, lines in _function_lengths(ast.parse(text)):
            if lines > MAX_FUNCTION_LINES:
                found[f"{rel}::{name}"] = lines
    return found


def size_problems(src: Path, allowed: dict[str, str]) -> list[str]:
    found = long_code(src)
    bad = [f"{k}: {n} lines (split it, or say why in LONG_ALLOWED)" for k, n in sorted(found.items()) if k not in allowed]
    bad += [f"{k}: allowed to be long but is not any more (remove it from LONG_ALLOWED)" for k in sorted(allowed)
            if k not in found]
    return bad


def test_no_long_module_or_function_without_a_reason():
    assert size_problems(SRC, LONG_ALLOWED) == []


def test_the_size_check_catches_a_long_function_and_a_stale_reason(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    _write(tmp_path, "naviyam/nlu/parser.py", f"class P:\n    def parse(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n")
    _write(tmp_path, "naviyam/nlu/short.py", "def f():\n    return 1\n")
    assert long_code(tmp_path) == {"nlu/parser.py::P.parse": MAX_FUNCTION_LINES + 1}
    assert size_problems(tmp_path, {"nlu/parser.py::P.parse": "a reason"}) == []
    assert len(size_problems(tmp_path, {})) == 1
    assert size_problems(tmp_path, {"nlu/parser.py::P.parse": "r", "nlu/short.py::f": "r"}) == [
        "nlu/short.py::f: allowed to be long but is not any more (remove it from LONG_ALLOWED)"]
    _write(tmp_path, "naviyam/big.py", "x = 1\n" * (MAX_MODULE_LINES + 1))
    assert long_code(tmp_path)["big.py"] == MAX_MODULE_LINES + 1

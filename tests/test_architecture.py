"""The direction of imports (DESIGN.md section 1), read from the source.

``compiler`` never imports ``staticgrad``; ``compiler/ir.py`` imports nothing
from ``compiler.ops``; only ``compiler/codegen`` imports numba; and the
modules import each other without cycles. Imports are read from every file's
syntax tree, those inside functions included, so a lazy import counts too.
"""
import ast
import importlib
import logging
import os
import pathlib
import subprocess
import sys
import textwrap

import networkx as nx
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("compiler", "staticgrad")

# Imports inside a function that close a cycle, each with the reason it is lazy.
LAZY_CYCLE_IMPORTS = {
    # Tracer's NumPy protocols dispatch to the op table, which is written with Tracers.
    ("staticgrad.tracing", "staticgrad.numpy_api"),
}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {module_name(p): p
           for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports(module: str):
    """(imported module, line, inside a function?) for every import of ``module``."""
    tree = ast.parse(SOURCES[module].read_text(), filename=str(SOURCES[module]))
    functions = [n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    inside_functions = {id(inner) for f in functions for inner in ast.walk(f)}
    package = module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # ``from compiler import ops`` imports the module compiler.ops.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in SOURCES else base
                     for a in node.names]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in inside_functions


def import_graph(include_lazy: bool) -> nx.DiGraph:
    """Modules of the two packages; an edge per import of one by another. A
    package's ``__init__`` gathering its own submodules is no dependency of
    theirs (``from compiler.ops.shape import *``), so those edges are left out."""
    graph = nx.DiGraph()
    graph.add_nodes_from(SOURCES)
    for module in SOURCES:
        for name, _, lazy in imports(module):
            if name in SOURCES and name != module and not name.startswith(module + "."):
                if include_lazy or not lazy:
                    graph.add_edge(module, name)
    return graph


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_every_module_imports(module):
    importlib.import_module(module)


def test_compiler_never_imports_staticgrad():
    offending = [f"{m}:{line} imports {name}" for m in SOURCES if m.split(".")[0] == "compiler"
                 for name, line, _ in imports(m) if name.split(".")[0] == "staticgrad"]
    assert not offending


def test_ir_imports_nothing_from_ops():
    offending = [f"compiler.ir:{line} imports {name}" for name, line, _ in imports("compiler.ir")
                 if name == "compiler.ops" or name.startswith("compiler.ops.")]
    assert not offending


def test_only_codegen_imports_numba():
    offending = [f"{m}:{line}" for m in SOURCES for name, line, _ in imports(m)
                 if name.split(".")[0] == "numba" and not m.startswith("compiler.codegen")]
    assert not offending


def test_modules_import_each_other_without_cycles():
    graph = import_graph(include_lazy=True)
    graph.remove_edges_from(LAZY_CYCLE_IMPORTS)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"


def test_the_allowed_cycles_stay_lazy():
    module_level = import_graph(include_lazy=False)
    assert not [edge for edge in LAZY_CYCLE_IMPORTS if module_level.has_edge(*edge)]


IMPORTED_ALONE = textwrap.dedent("""
    import sys
    import {module}
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("staticgrad", "numba")
                 or m.startswith("compiler.ops")))
""")


def modules_loaded_by(module: str) -> list:
    proc = subprocess.run([sys.executable, "-c", IMPORTED_ALONE.format(module=module)],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout)


def test_importing_the_ir_loads_no_ops():
    assert modules_loaded_by("compiler.ir") == []


def test_importing_the_compiler_short_of_codegen_loads_neither_staticgrad_nor_numba():
    loaded = modules_loaded_by("compiler.ops, compiler.evaluate, compiler.autodiff, "
                               "compiler.passes, compiler.interpreter")
    assert not [m for m in loaded if not m.startswith("compiler.ops")]


def test_the_ir_without_the_op_registry_says_what_is_missing():
    proc = subprocess.run([sys.executable, "-c", "from compiler.ir import Graph\n"
                           "g = Graph(); x = g.param((2,), 'float64'); g.add('exp', [x.node])"],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "import compiler.ops" in proc.stderr


def test_a_graph_builds_with_the_ir_and_the_op_registry_alone():
    import compiler.ops  # noqa: F401  installs the op lookup and Value's operators
    from compiler.ir import Graph
    g = Graph()
    x = g.param((3,), "float64")
    y = (x * x + 1.0)[0]
    assert (g.op(y.node), y.shape) == ("index", ())
    assert g.check() is g


def test_compiler_logs_under_its_own_logger_name():
    names = set()
    for module in SOURCES:
        for node in ast.walk(ast.parse(SOURCES[module].read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                names.add((module.split(".")[0], node.args[0].value))
    assert ("compiler", "staticgrad.compiler") in names
    assert {name for package, name in names if package == "compiler"} == {"staticgrad.compiler"}
    # A child of "staticgrad": STATICGRAD_LOG's handler sees the compiler's records.
    assert logging.getLogger("staticgrad.compiler").parent is logging.getLogger("staticgrad")

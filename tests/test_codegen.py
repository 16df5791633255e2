"""The Numba backend against the reference interpreter.

Numba compilations take seconds here, so the op table is compiled as ONE
graph: every row's value and, for differentiable rows, its gradient (each
row's output weighted by random cotangents, summed into one loss). The same
graph runs fused, unfused and on the interpreter. Kernels go to a per-user
disk cache, so a second run of the suite loads them instead of compiling.
"""
import functools
import math
import os
import re
import tempfile

import numpy as np
import pytest

os.environ.setdefault("STATICGRAD_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"staticgrad-tests-{os.getuid()}"))

import numba  # noqa: E402

import compiler.ops as O  # noqa: E402
import staticgrad as sg  # noqa: E402
from compiler.codegen import compile_graph, generate_source  # noqa: E402
from compiler.codegen.compile import Compiled  # noqa: E402
from compiler.errors import GuardFailure  # noqa: E402
from compiler.interpreter import Interpreter  # noqa: E402
from benchmarks.lorenz import rk4_loss  # noqa: E402  (the loss of benchmarks/compile_time.py)
from op_table import COMPILED_ROWS as ROWS, INTERPRETER_ONLY_OPS  # noqa: E402


pytestmark = pytest.mark.usefixtures("numba_backend")


def _table_function(rows):
    """(fun, args): the rows' values and the gradient of a weighted sum of them."""
    rng = np.random.default_rng(7)
    args, slices, weights = [], [], []
    for row in rows:
        a = row.inputs()
        slices.append((len(args), len(args) + len(a)))
        args += a
        weights.append(rng.normal(size=np.shape(row.reference(*a))))
    wrt = tuple(k for k, a in enumerate(args) if a.dtype.kind == "f")

    def values(*xs):
        return [row.fun(*xs[s:e]) for row, (s, e) in zip(rows, slices)]

    def loss(*xs):
        total = 0.0
        for row, (s, e), w in zip(rows, slices, weights):
            if row.differentiable:
                total = total + np.sum(row.fun(*xs[s:e]) * w)
        return total

    def everything(*xs):
        return values(*xs), sg.grad(loss, argnums=wrt)(*xs)

    return sg.jit(everything), args


# A few rows per kernel: Numba's compile time grows faster than linearly
# with the size of one function.
CHUNK = 12
CHUNKS = [ROWS[k:k + CHUNK] for k in range(0, len(ROWS), CHUNK)]


@functools.lru_cache(maxsize=None)
def table_graph(k):
    fun, args = _table_function(CHUNKS[k])
    return fun.lower(*args).graph, args


def _assert_same(got, want):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), k
        assert np.asarray(g).dtype == np.asarray(w).dtype, k
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=f"output {k}")


@pytest.mark.parametrize("k", range(len(CHUNKS)),
                         ids=[f"{c[0].name}..{c[-1].name}" for c in CHUNKS])
def test_op_table_compiled_matches_the_interpreter(k):
    graph, args = table_graph(k)
    compiled = compile_graph(graph, name=f"op table {k}")
    _assert_same(compiled(*args), Interpreter(graph)(*args))


def test_op_table_compiles_every_op():
    ops = set()
    for k in range(len(CHUNKS)):
        graph, _ = table_graph(k)
        ops |= {graph.op(n) for n in graph.nodes()}
    # Passes remove identity and stop_gradient from traced graphs (tested below).
    # Loop and cond nodes have no Numba emitter yet: they run on the interpreter.
    assert not (set(O.REGISTRY) - ops - {"identity", "stop_gradient"} - set(O.CONTROL_OPS)
                - INTERPRETER_ONLY_OPS)


@pytest.mark.parametrize("k", [0, len(CHUNKS) - 1])
def test_unfused_kernel_matches_the_fused_one(k):
    graph, args = table_graph(k)
    fused = compile_graph(graph, name=f"op table {k}")
    unfused = compile_graph(graph, name=f"op table {k}, unfused", fuse=False)
    assert len(unfused.plan.units) > len(fused.plan.units)
    _assert_same(unfused(*args), fused(*args))


def test_loops_split_at_scatter_and_concatenate_bounds_match_the_interpreter():
    # Long pieces (resolved conditions, no clamps) and leftover indices.
    def h(x):
        return (np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2)
                + np.sum(np.cos(x[2:-3:3]) * x[5::3]) + np.sum(x[-1] * x[:50]))

    def f(x, y):
        return sg.grad(h)(x), np.concatenate([x[:40] * 2, np.sin(y), x[-3:]]), x[::-2] * y[0]

    x, y = np.linspace(-1, 1, 101), np.linspace(0, 2, 30)
    graph = sg.jit(f).lower(x, y).graph
    compiled = compile_graph(graph, name="split loops")
    assert "for i0 in range(40, 70):" in compiled.source          # a concatenated part
    assert "for i0 in (0, 1, 2, 3, 4, 96, 97, 98, 99, 100):" in compiled.source  # leftovers
    _assert_same(compiled(x, y), Interpreter(graph)(x, y))


def test_identity_and_stop_gradient_compile():
    # Passes remove them from traced graphs; a hand-built graph keeps them.
    from compiler.ir import Graph
    g = Graph()
    x = g.param((3,), np.float64)
    g.outputs = [O.identity(O.exp(x)).node, O.stop_gradient(x * 2).node]
    x0 = np.arange(3.0)
    _assert_same(compile_graph(g)(x0), Interpreter(g)(x0))


def test_transformed_functions_run_the_compiled_kernel():
    f = sg.value_and_grad(lambda x, w: np.sum(np.tanh(x @ w) ** 2), argnums=(0, 1))
    x, w = np.linspace(-1, 1, 12).reshape(3, 4), np.linspace(0, 1, 8).reshape(4, 2)
    first = f(x, w)                      # from the trace's concrete values
    second = f(x, w)                     # the compiled kernel
    (spec,) = f._cache.table[next(iter(f._cache.table))]
    assert isinstance(spec.run, Compiled)
    np.testing.assert_allclose(second[0], first[0], rtol=1e-12)
    for a, b in zip(second[1], first[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert isinstance(second[0], np.float64)
    assert f.cache_info().hits == 1


def test_guard_failure_in_compiled_code_retraces_with_correct_results():
    def f(x):
        return np.sum(np.sin(x)) if np.sum(x) > 0 else np.sum(np.cos(x) ** 2)

    g = sg.grad(f)
    pos, neg = np.array([0.5, 1.0, 2.0]), np.array([-0.5, -1.0, -2.0])
    assert np.allclose(g(pos), np.cos(pos))
    assert np.allclose(g(pos), np.cos(pos))         # compiled; its guard holds
    assert np.allclose(g(neg), -2 * np.cos(neg) * np.sin(neg))  # guard fails: retrace
    assert np.allclose(g(neg), -2 * np.cos(neg) * np.sin(neg))
    assert np.allclose(g(pos), np.cos(pos))         # the first path is still there
    info = g.cache_info()
    assert info.specializations == 2 and len(info.retraces) == 1
    kernels = [spec.run for spec in g._cache.table[next(iter(g._cache.table))]]
    assert all(isinstance(k, Compiled) for k in kernels)
    failures = 0
    for k in kernels:   # each compiled path refuses the other path's input
        try:
            k(pos)
        except GuardFailure as failure:
            failures += 1
            assert "test_codegen.py" in failure.site
    assert failures == 1


def test_lower_shows_readable_source_with_fused_loops():
    f = sg.value_and_grad(lambda x: np.sum(np.sin(x) * np.exp(-x ** 2)))
    source = f.lower(np.ones(1000)).source
    assert "vm_exp(" in source and "# exp" in source and "# sum" in source
    # value and gradient of an elementwise chain: one loop over the input (and,
    # nested under an if, its libm rerun for sin inputs beyond vecmath's range)
    assert source.count("\n    for i0 in range(1000)") == 1
    assert source.count("\n    if outside_") == 1


def test_compiled_call_checks_shapes():
    f = sg.jit(lambda x: np.exp(x))
    compiled = f.compile(np.ones(3))
    with pytest.raises(sg.ShapeError, match=r"\(4,\)"):
        compiled(np.ones(4))


def test_hot_path_handles_layouts_scalars_and_zero_d_arrays():
    f = sg.grad(lambda x, a: np.sum(a * x ** 3))
    x = np.linspace(0.5, 2.0, 12).reshape(3, 4)
    f(x, 2.0)
    np.testing.assert_allclose(f(x, 2.0), 6 * x ** 2)                    # fast path
    np.testing.assert_allclose(f(np.asfortranarray(x), 2.0), 6 * x ** 2)   # same key, F layout
    assert f.cache_info().hits == 2
    np.testing.assert_allclose(f(x, np.array(2.0)), 6 * x ** 2)          # 0-d array: a scalar
    np.testing.assert_allclose(f(x, np.array(2.0)), 6 * x ** 2)
    np.testing.assert_allclose(f(x[:, ::2], 2.0), 6 * x[:, ::2] ** 2)     # strided view
    np.testing.assert_allclose(f(x[:, ::2], 2.0), 6 * x[:, ::2] ** 2)
    assert f.cache_info().hits == 4


def test_large_tanh_and_exp_run_numpys_loops_and_match_the_interpreter():
    f = sg.value_and_grad(lambda w, x: np.sum(np.tanh(x @ w) ** 2) + np.sum(np.exp(x)), argnums=(0, 1))
    w, x = np.linspace(-1, 1, 64 * 16).reshape(64, 16), np.linspace(-2, 2, 2048 * 64).reshape(2048, 64)
    graph = f.lower(w, x).graph
    compiled = compile_graph(graph, name="numpy ufuncs", vector_math=False)
    assert compiled.source.count("numba.objmode") == 2     # tanh of a product, exp of an argument
    _assert_same(compiled(w, x), Interpreter(graph)(w, x))


# -- generated code: what is known while generating is resolved then -----------------
P, U0 = np.array([10.0, 28.0, 8.0 / 3.0]), np.array([1.0, 1.0, 1.0])


@functools.lru_cache(maxsize=None)
def _rk4_graph(n_steps):
    return sg.grad(rk4_loss(n_steps)).lower(P, U0).graph


def test_small_shapes_become_straight_line_code_without_literal_conditions():
    source = generate_source(_rk4_graph(1))
    body = source.split("def kernel", 1)[1]
    # no loop, no branch: every component of the length-3 states is a scalar
    assert "for " not in body and " if " not in body and "else" not in body
    assert not re.search(r"-?\d+ <= -?\d+ <= -?\d+", source)      # a condition on literals
    assert "True" not in body and "False" not in body
    assert not re.search(r"\b0\.0 \+|\+ 0\.0\b|\* 1\.0\b|\b1\.0 \*", source)
    assert not re.search(r"\(\d+\.\d+ [-+*/] \d+\.\d+\)", source)   # unfolded constant arithmetic
    # each state component is computed once: no temporary of a node is assigned twice
    targets = re.findall(r"^\s+(\w+) = ", body, flags=re.M)
    assert len(targets) == len(set(targets))


def test_constant_arithmetic_and_identities_fold_while_generating():
    from compiler.ir import Graph
    g = Graph()
    x = g.param((2,), np.float64)
    scale = O.mul(g.const(1.0), g.const(100.0))               # (1.0 * 100.0)
    zero = O.broadcast_to(g.const(0.0), (2,))
    y = O.add(O.mul(x, scale), zero)                            # x * 100 + 0
    z = O.where(g.const(True), O.mul(y, g.const(1.0)), x)       # (y * 1) if True else x
    g.outputs = [z.node]
    source = generate_source(g).split("def kernel", 1)[1]
    assert "100.0" in source and "1.0 * 100.0" not in source and "+ 0.0" not in source
    assert "True" not in source and "* 1.0" not in source
    x0 = np.array([0.5, -2.0])
    _assert_same(compile_graph(g, name="folded constants")(x0), Interpreter(g)(x0))


def test_rk4_gradient_compiled_matches_the_interpreter():
    graph = _rk4_graph(2)
    compiled = compile_graph(graph, name="rk4 x2")
    _assert_same(compiled(P, U0), Interpreter(graph)(P, U0))


def test_split_kernels_agree_with_the_interpreter_and_stay_one_dispatcher():
    # A small part size forces the cut: several functions and a driver.
    graph = _rk4_graph(2)
    compiled = compile_graph(graph, name="rk4 x2, split", part_size=60)
    assert compiled.source.count("def part") >= 5          # kernel -> part1 -> ... -> part5
    _assert_same(compiled(P, U0), Interpreter(graph)(P, U0))

    gradient = compiled.numba_function

    @numba.njit
    def user_code(p, u0):             # the compiled gradient inside user Numba code
        return gradient(p, u0)

    np.testing.assert_allclose(user_code(P, U0), Interpreter(graph)(P, U0)[0], rtol=1e-12)


@pytest.mark.parametrize("k", [0, len(CHUNKS) // 2])
def test_split_op_table_kernels_match_the_interpreter(k):
    graph, args = table_graph(k)
    # (parts of 100 statements: each part Numba compiles links the ones it calls,
    # so 40 parts of 25 took 50-80 s to compile cold, 9 parts take 9 s)
    compiled = compile_graph(graph, name=f"op table {k}, split", part_size=100)
    assert compiled.source.count("def part") >= 2
    _assert_same(compiled(*args), Interpreter(graph)(*args))


def test_split_kernel_with_guards_reports_the_failed_guard():
    def f(x):
        y = np.sin(x) * np.cos(x)
        if np.sum(y) > 0:
            return np.sum(np.exp(y) * x)
        return np.sum(y)

    x0 = np.array([0.3, 0.5, 0.9])
    graph = sg.grad(f).lower(x0).graph
    compiled = compile_graph(graph, name="guarded, split", part_size=4)
    assert compiled.source.count("def part") >= 2
    _assert_same(compiled(x0), Interpreter(graph)(x0))
    with pytest.raises(GuardFailure):
        compiled(-x0)


def test_a_large_graph_is_cut_into_several_functions():
    from compiler.codegen.source import Generator, generate
    kernel = generate(_rk4_graph(24))
    functions = re.findall(r"def (\w+)\(.*?\):\n(.*?)(?=\n\n|\Z)", kernel.source, re.S)
    assert [name for name, _ in functions] == ["kernel"] + [f"part{k}" for k in
                                                          range(1, kernel.parts + 1)]
    assert kernel.parts >= 1
    for _, body in functions:   # the bound, and one more statement: the chained call
        assert body.count("\n") <= Generator.PART_SIZE + 1


def test_broadcast_operands_are_stored_or_recomputed_by_their_cost():
    # exp(x) broadcast over 60 rows: stored once (a minimum cut of memory
    # traffic against evaluations) rather than evaluated 60 times per element;
    # 2 * y, one cheap op, is recomputed in the larger loop instead of stored.
    def f(x, y, w):
        return np.sum(np.exp(x)[None, :] * w) + np.sum((2.0 * y)[None, :] * w)

    args = (np.linspace(0, 1, 40), np.linspace(1, 2, 40), np.linspace(-1, 1, 2400).reshape(60, 40))
    graph = sg.jit(f).lower(*args).graph
    compiled = compile_graph(graph, name="broadcast operands")
    source = compiled.source
    # the loop over the 60 rows (in blocks of rows, for the sums' accuracy:
    # the row index is the block's first row plus the row in the block)
    big_loop = re.search(r"in range\((0, )?60\)|in range\(min\(\d+, 60 - ", source).start()
    exps = [m.start() for m in re.finditer(r"(np\.|vm_)exp\(", source)]   # libm or vecmath
    assert len(exps) == 1 and exps[0] < big_loop
    assert source.index("(2.0 * ") > big_loop
    assert all(math.prod(graph.shape(n)) <= 40 or graph.op(n) == "sum"
               for n in compiled.plan.stored)
    _assert_same(compiled(*args), Interpreter(graph)(*args))

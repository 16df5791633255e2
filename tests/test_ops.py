"""The op table's tests: every primitive and the NumPy composites users reach
for, on broadcasting shapes.

(a) evaluation through ``sg.jit`` equals NumPy itself (values, dtype, shape;
float32 stays float32); (b) VJP and JVP against central finite differences,
first and second order, with ``sg.check_grads``, and float32 derivatives
stay float32; (c) the traced, adjoint and second-order graphs pass
``Graph.check()`` after every pass; (d) every registered op has a row; (e)
PyTorch's conventions at non-differentiable points. They run on the
reference interpreter; the compiled path has its own tests.
"""
import numpy as np
import pytest

import compiler.ops as O
import staticgrad as sg
from compiler.passes import optimize
from op_table import ROWS, SKIPPED

pytestmark = pytest.mark.usefixtures("interpreter_backend")

DIFFERENTIABLE = [row for row in ROWS if row.differentiable]
row_params = pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
differentiable_params = pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda row: row.name)


def _over_floats(fun, args):
    """fun as a function of its floating arguments only (the others held fixed)."""
    floats = [k for k, a in enumerate(args) if a.dtype.kind == "f"]

    def of_floats(*xs):
        full = list(args)
        for k, x in zip(floats, xs):
            full[k] = x
        return fun(*full)
    return of_floats, [args[k] for k in floats]


# -- (a) evaluation --------------------------------------------------------
@row_params
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_evaluation_matches_numpy(row, dtype):
    args = row.inputs(dtype)
    expected = np.asarray(row.reference(*args))
    got = np.asarray(sg.jit(row.fun)(*args))
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


# -- (b) derivatives against finite differences ---------------------------
@differentiable_params
def test_derivatives_match_finite_differences(row):
    sg.check_grads(row.fun, row.inputs(), order=row.order)


@differentiable_params
def test_float32_derivatives_stay_float32(row):
    # Gradients have their input's dtype, output tangents their output's; in
    # float32 they equal the float64 ones at float32 precision.
    derivatives = {}
    for dtype in (np.float32, np.float64):
        fun, xs = _over_floats(row.fun, row.inputs(dtype))
        out = np.asarray(fun(*xs))
        cotangent = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        grads = sg.vjp(fun, *xs)[1](cotangent)
        tangent = np.asarray(sg.jvp(fun, xs, [np.ones_like(x) for x in xs])[1])
        assert [np.asarray(g).dtype for g in grads] == [x.dtype for x in xs]
        assert tangent.dtype == out.dtype
        derivatives[dtype] = [*grads, tangent]
    for g32, g64 in zip(derivatives[np.float32], derivatives[np.float64]):
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-3)


# -- (c) graph lint after every pass --------------------------------------
@row_params
def test_graphs_pass_lint_after_every_pass(row):
    args = row.inputs()
    graphs = [sg.jit(row.fun).trace(*args).raw]
    if row.differentiable:
        fun, xs = _over_floats(row.fun, args)
        rng = np.random.default_rng(1)
        weights = rng.standard_normal(np.shape(row.reference(*args)))
        first = sg.grad(lambda *a: np.sum(fun(*a) * weights), argnums=tuple(range(len(xs))))
        tangents = [rng.standard_normal(x.shape) for x in xs]
        second = sg.jit(lambda *a: sg.jvp(first, a, tangents)[1])
        graphs += [first.trace(*xs).raw, second.trace(*xs).raw]
    for graph in graphs:
        graph.check()
        optimize(graph, check=True)


# -- (d) coverage ----------------------------------------------------------
def test_every_registered_op_has_a_row():
    covered = {row.op for row in ROWS if row.op}
    missing = sorted(set(O.REGISTRY) - covered - set(SKIPPED))
    assert not missing, f"ops without a row in tests/op_table.py: {missing}"
    assert not set(SKIPPED) - set(O.REGISTRY), "SKIPPED names ops that no longer exist"
    assert not covered & set(SKIPPED), "an op is both skipped and covered"


@pytest.mark.parametrize("row", [row for row in ROWS if row.op], ids=lambda row: row.name)
def test_row_exercises_its_op(row):
    graph = sg.jit(row.fun).trace(*row.inputs()).raw
    assert row.op in {graph.op(n) for n in graph.nodes()}


# -- (e) conventions at non-differentiable points --------------------------
def _gradients(f, x):
    """The gradient of a scalar f at x by reverse mode, and by forward mode
    (one jvp per basis vector): both must follow the convention."""
    (rev,) = sg.vjp(f, x)[1](np.ones(()))
    fwd = np.array([sg.jvp(f, (x,), (e.reshape(x.shape),))[1]
                    for e in np.eye(x.size)]).reshape(x.shape)
    return rev, fwd


def _assert_gradient(f, x, expected):
    for got in _gradients(f, x):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_abs_gradient_is_sign_so_zero_at_zero():
    x = np.array([-1.5, 0.0, 2.0, 0.0])
    _assert_gradient(lambda x: np.sum(np.abs(x)), x, np.sign(x))


def test_sign_gradient_is_zero_everywhere():
    x = np.array([-1.5, 0.0, 2.0])
    _assert_gradient(lambda x: np.sum(np.sign(x) * 3.0), x, np.zeros_like(x))


@pytest.mark.parametrize("extremum", [np.maximum, np.minimum], ids=lambda f: f.__name__)
def test_maximum_minimum_split_ties_evenly(extremum):
    x = np.array([1.0, 2.0, 3.0, -1.0])
    y = np.array([1.0, 0.5, 4.0, -1.0])
    wins = (x > y) if extremum is np.maximum else (x < y)
    expected = np.where(x == y, 0.5, wins.astype(float))
    _assert_gradient(lambda x: np.sum(extremum(x, y)), x, expected)
    _assert_gradient(lambda y: np.sum(extremum(x, y)), y, np.where(x == y, 0.5, 1 - expected))


@pytest.mark.parametrize("reduce", [np.max, np.min], ids=lambda f: f.__name__)
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_min_reductions_share_ties_evenly(reduce, keepdims):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, -1.0, 5.0]])
    hit = x == reduce(x, axis=1, keepdims=True)
    expected = hit / hit.sum(axis=1, keepdims=True)
    _assert_gradient(lambda x: np.sum(reduce(x, axis=1, keepdims=keepdims)), x, expected)
    whole = x == reduce(x)
    _assert_gradient(lambda x: reduce(x), x, whole / whole.sum())


def test_sqrt_gradient_at_zero_is_inf():
    x = np.array([0.0, 4.0])
    f = lambda x: np.sum(np.sqrt(x))  # noqa: E731
    with np.errstate(divide="ignore"):
        expected = 0.5 / np.sqrt(x)
    assert np.isposinf(expected[0])
    np.testing.assert_array_equal(sg.vjp(f, x)[1](np.ones(()))[0], expected)
    # Forward mode along the zero's own direction. (A zero tangent there
    # gives 0 * inf = nan, as in JAX and PyTorch.)
    np.testing.assert_array_equal(sg.jvp(f, (x,), (np.array([1.0, 0.0]),))[1], np.inf)


def test_pow_at_a_zero_base_or_exponent():
    # As torch.pow: x ** 0 has x-gradient 0 (even at x = 0), and the exponent's
    # gradient is 0 where the base is 0 (no 0 * log 0).
    x = np.zeros(4)
    y = np.array([0.0, 2.0, 1.0, 3.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        d_base = np.where(y == 0, 0.0, y * x ** (y - 1))
    _assert_gradient(lambda x: np.sum(x ** y), x, d_base)
    _assert_gradient(lambda y: np.sum(x ** y), y, np.zeros_like(y))


def test_clip_passes_the_gradient_at_its_bounds():
    lo, hi = -1.0, 1.0
    x = np.array([-2.0, lo, 0.3, hi, 2.0])
    _assert_gradient(lambda x: np.sum(np.clip(x, lo, hi)), x, ((x >= lo) & (x <= hi)) * 1.0)


def test_norm_gradient_at_zero_is_zero():
    # As torch.linalg.norm: the zero vector gets gradient 0, never nan.
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 1.0]])
    n = np.linalg.norm(x, axis=1, keepdims=True)
    expected = np.divide(x, n, out=np.zeros_like(x), where=n > 0)
    _assert_gradient(lambda x: np.sum(np.linalg.norm(x, axis=1)), x, expected)


def _product_of_the_others(x):
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 1.0],
                               [0.0]], ids=["one_zero", "two_zeros", "three_zeros", "only_zero"])
def test_prod_gradient_is_exact_at_zeros(x):
    x = np.array(x)
    _assert_gradient(lambda x: np.prod(x), x, _product_of_the_others(x))


def test_prod_gradient_at_zeros_along_an_axis():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    expected = np.array([_product_of_the_others(r) for r in x])
    _assert_gradient(lambda x: np.sum(np.prod(x, axis=1) * np.array([1.0, 2.0, 3.0])), x,
                     expected * np.array([[1.0], [2.0], [3.0]]))

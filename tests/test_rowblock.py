"""Row-blocked loops (compiler/codegen/plan.py, ``row_blocks``): ``X @ w``, the
elementwise work on its rows and ``X.T @ r`` in one loop over blocks of rows.

The compiled kernel against the reference interpreter and central finite
differences. Blocking changes the order of the sums (each block's BLAS
product, then the sum of the blocks), so results agree to rounding: compared
with a tolerance, not bit for bit. The small cases lower the size threshold
and the block size (``Generator.ROW_BLOCK_MIN_BYTES``, ``ROW_BLOCK_BYTES``) so
that blocks of 16 rows leave remainders of 5 and 1 rows.
"""
import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("STATICGRAD_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"staticgrad-tests-{os.getuid()}"))

import staticgrad as sg  # noqa: E402
from compiler.codegen import compile_graph, generate_source  # noqa: E402
from compiler.codegen.source import Generator  # noqa: E402
from compiler.interpreter import Interpreter  # noqa: E402

BLOCKED = "# rows in blocks of"


pytestmark = pytest.mark.usefixtures("numba_backend")


@pytest.fixture
def small_blocks(monkeypatch):
    """Row blocks of 16 rows for any matrix size."""
    monkeypatch.setattr(Generator, "ROW_BLOCK_MIN_BYTES", 0)
    monkeypatch.setattr(Generator, "ROW_BLOCK_BYTES", 1)


def logistic(w, X, y):
    return np.sum(np.log1p(np.exp(-y * (X @ w))))


def _data(n, d, dtype=np.float64, k=None, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d,) if k is None else (d, k)) * 0.3
    X = rng.normal(size=(n, d))
    y = np.where(rng.random(n if k is None else (n, k)) < 0.5, -1.0, 1.0)
    return w.astype(dtype), X.astype(dtype), y.astype(dtype)


def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x, dtype=np.float64)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def _check(transformed, args, name, rtol=1e-10, blocked=True):
    """Compile the graph of ``transformed(*args)``; compare with the interpreter."""
    graph = transformed.lower(*args).graph
    assert (BLOCKED in generate_source(graph)) == blocked
    compiled = compile_graph(graph, name=name)
    assert (BLOCKED in compiled.source) == blocked
    got, want = compiled(*args), Interpreter(graph)(*args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)
    return got


@pytest.mark.parametrize("n", [37, 33, 16])   # remainders of 5 and 1 rows; one block
def test_logistic_gradient_in_row_blocks_matches_interpreter_and_differences(small_blocks, n):
    w, X, y = _data(n, 5)
    (g,) = _check(sg.grad(logistic), (w, X, y), f"rowblock logistic {n}", blocked=n > 16)
    np.testing.assert_allclose(g, _numeric_grad(lambda v: logistic(v, X, y), w), rtol=1e-6)


def test_value_and_gradient_wrt_w_and_X_in_row_blocks(small_blocks):
    # the value sums over blocks (pairwise); the gradient of X is a row
    # product of the rows' adjoint, written a block at a time
    w, X, y = _data(41, 6, seed=1)
    f = sg.value_and_grad(logistic, argnums=(0, 1))
    value, gw, gX = _check(f, (w, X, y), "rowblock value and grad")
    np.testing.assert_allclose(value, logistic(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(gw, _numeric_grad(lambda v: logistic(v, X, y), w), rtol=1e-6)
    np.testing.assert_allclose(gX, _numeric_grad(lambda v: logistic(w, v, y), X), rtol=1e-6,
                               atol=1e-9)


def test_float32_rows(small_blocks):
    w, X, y = _data(50, 7, dtype=np.float32)
    (g,) = _check(sg.grad(logistic), (w, X, y), "rowblock float32", rtol=1e-5)
    assert g.dtype == np.float32
    want = _numeric_grad(lambda v: logistic(v, X.astype(np.float64), y.astype(np.float64)),
                         w.astype(np.float64))
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-5)


def test_closed_over_matrix(small_blocks):
    w, X, y = _data(45, 4, seed=2)
    (g,) = _check(sg.grad(lambda v: logistic(v, X, y)), (w,), "rowblock constant X")
    np.testing.assert_allclose(g, _numeric_grad(lambda v: logistic(v, X, y), w), rtol=1e-6)


def test_matrix_of_weights(small_blocks):
    # w of k columns: X @ W is (n, k), the elementwise work on (rows, k)
    w, X, y = _data(39, 5, k=3, seed=3)
    (g,) = _check(sg.grad(logistic), (w, X, y), "rowblock k columns")
    np.testing.assert_allclose(g, _numeric_grad(lambda v: logistic(v, X, y), w), rtol=1e-6)


def test_transposed_and_strided_matrix(small_blocks):
    w, X, y = _data(35, 6, seed=4)
    f = sg.grad(lambda v, Xt, t: logistic(v, Xt.T, t))
    Xt = np.ascontiguousarray(X.T)
    # a transposed matrix keeps its two BLAS passes (its rows are strided)
    (g,) = _check(f, (w, Xt, y), "rowblock transposed X", blocked=False)
    want = _numeric_grad(lambda v: logistic(v, X, y), w)
    np.testing.assert_allclose(g, want, rtol=1e-6)
    # arguments in another layout: the kernel's Numba dispatcher takes them
    h = sg.grad(logistic)
    wide = np.repeat(X, 2, axis=0)[::2]                 # every other row of a larger array
    for args in [(w, X, y), (w, wide, y), (w, np.asfortranarray(X), y)]:
        h(*args)
        np.testing.assert_allclose(h(*args), want, rtol=1e-6)
    assert BLOCKED in h.lower(w, X, y).source


def test_softmax_rows_are_not_blocked_into_a_wrong_order(small_blocks):
    # a reduction over the rows (the column sums) read by the rows' loop: the
    # row loop cannot start before the loop over all rows is done
    def f(w, X):
        z = X @ w
        p = np.exp(z) / np.sum(np.exp(z), axis=0)
        return np.sum(p * z)

    w, X, _ = _data(40, 5, k=3, seed=5)
    (g,) = _check(sg.grad(f), (w, X), "rowblock column softmax", blocked=False)
    np.testing.assert_allclose(g, _numeric_grad(lambda v: f(v, X), w), rtol=1e-6)


def test_row_softmax_in_row_blocks(small_blocks):
    # softmax over each row: per-row max and sum are row values, blocked
    def f(w, X, Y):
        z = X @ w
        z = z - np.max(z, axis=1, keepdims=True)
        return -np.sum(Y * (z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))))

    w, X, _ = _data(37, 5, k=4, seed=6)
    Y = np.eye(4)[np.random.default_rng(6).integers(0, 4, 37)]
    (g,) = _check(sg.grad(f), (w, X, Y), "rowblock row softmax")
    np.testing.assert_allclose(g, _numeric_grad(lambda v: f(v, X, Y), w), rtol=1e-6)


def test_the_logistic_benchmark_chooses_row_blocks_and_small_problems_do_not():
    from benchmarks.workloads import _logistic_args, logistic_nll
    f = sg.grad(logistic_nll)
    source = f.lower(*_logistic_args(100_000, 100)()).source
    assert BLOCKED in source and "blas_dot_into(" in source
    assert "blas_dot(" not in source            # X is not read by a second BLAS pass
    assert BLOCKED not in f.lower(*_logistic_args(100, 10)()).source


def test_network_layers_in_one_row_block(small_blocks):
    # the MLP of benchmarks/workloads.py: the hidden layer's product is a row
    # product of the block's rows, the weight gradients are sums over blocks
    from benchmarks.workloads import mlp_loss
    rng = np.random.default_rng(8)
    args = (rng.normal(size=(6, 8)) * 0.3, rng.normal(size=8) * 0.1, rng.normal(size=(8, 3)) * 0.3,
            rng.normal(size=3) * 0.1, rng.normal(size=(45, 6)), rng.normal(size=(45, 3)))
    f = sg.grad(mlp_loss, argnums=(0, 1, 2, 3))
    source = f.lower(*args).source
    assert source.count(BLOCKED) == 1 and source.count("blas_dot(") == 0
    grads = _check(f, args, "rowblock mlp")
    for k, g in enumerate(grads):
        def loss(v, k=k):
            return mlp_loss(*args[:k], v, *args[k + 1:])
        np.testing.assert_allclose(g, _numeric_grad(loss, args[k]), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("scale", [1.0, 1e7])   # 1e7: sin beyond vecmath's range, libm rerun
def test_vector_math_in_row_blocks_and_its_libm_rerun(small_blocks, scale):
    def f(W, X):
        return np.sum(np.sin(X @ W) * np.exp(-(X @ W) ** 2 / 100))

    rng = np.random.default_rng(9)
    W, X = rng.normal(size=(4, 16)), rng.normal(size=(37, 4)) * scale
    graph = sg.grad(f).lower(W, X).graph
    source = generate_source(graph)
    assert BLOCKED in source and "vm_sin(" in source and "if outside_" in source
    (g,) = _check(sg.grad(f), (W, X), f"rowblock vector math {scale}")
    if scale == 1.0:
        np.testing.assert_allclose(g, _numeric_grad(lambda v: f(v, X), W), rtol=1e-6, atol=1e-9)

"""Sparse Jacobians and Hessians (sg.sparse_jacobian, sg.sparse_hessian).

The references are the dense sg.jacobian / sg.hessian on the NumPy interpreter.
A pattern is *exact* when it equals the nonzeros of the dense derivative at a
random point (where no entry vanishes by accident): no structural nonzero that
is zero for every input, and none missing. Patterns and colourings need no
compilation; a few functions are called twice on the compiled path.
"""
import contextlib

import numpy as np
import pytest
import scipy.sparse as sp

import compiler.ops as O
import staticgrad as sg
from compiler.ir import Graph
from compiler.passes.sparsity import color_hessian, color_jacobian, jacobian_pattern

RNG = np.random.default_rng(0)


@contextlib.contextmanager
def interpreter():
    saved = sg.config.backend
    sg.config.backend = "interpreter"
    try:
        yield
    finally:
        sg.config.backend = saved


def dense_jacobian(f, args, argnums=0):
    with interpreter():
        J = np.asarray(sg.jacobian(f, argnums)(*args))
    out_size = J.size // np.asarray(args[argnums]).size
    return J.reshape(out_size, -1)


def dense_hessian(f, args, argnums=0):
    with interpreter():
        H = np.asarray(sg.hessian(f, argnums)(*args))
    n = np.asarray(args[argnums]).size
    return H.reshape(n, n)


def laplacian_energy(side):
    def energy(u):
        u = u.reshape(side, side)
        return (0.5 * np.sum((u[1:, :] - u[:-1, :]) ** 2)
                + 0.5 * np.sum((u[:, 1:] - u[:, :-1]) ** 2) + np.sum(np.exp(u)))
    return energy


def tridiagonal(x):
    right = np.concatenate([x[1:], np.zeros(1)])
    left = np.concatenate([np.zeros(1), x[:-1]])
    return x ** 3 - right - left


# -- pattern exactness, per op family (interpreter, no compilation) ----------------
A_BANDED = np.diag(np.arange(1.0, 7.0)) + np.diag(np.ones(5), 1)
W_DENSE = RNG.normal(size=(3, 4))
W_BATCH = RNG.normal(size=(2, 3, 4))
W_BATCH[0, 1] = 0.0          # a zero row: outputs do not depend on what it multiplies

JACOBIAN_CASES = {
    "elementwise and broadcasting": (lambda x: np.sin(x[:, None] * x[None, :]) + 2.0 * x, (5,)),
    "scalar broadcast of a reduction": (lambda x: x * np.sum(x[:2]), (4,)),
    "basic slicing 1-d": (lambda x: x[1:] * x[:-1] + x[::2][:-1].sum(), (7,)),
    "basic slicing 2-d": (lambda x: x.reshape(3, 4)[1:, ::2] * x.reshape(3, 4)[:-1, 1::2], (12,)),
    "int index and newaxis": (lambda x: x.reshape(3, 4)[1, None, :] * x[0], (12,)),
    "fancy indexing": (lambda x: x[[0, 2, 2, 4]] * x[np.array([1, 1, 3, 0])], (5,)),
    "fancy indexing 2-d": (lambda x: np.exp(x.reshape(3, 4)[[0, 2], 1:]), (12,)),
    "boolean mask constant": (lambda x: x[np.array([True, False, True, False, True])] ** 2, (5,)),
    "setitem": (lambda x: _setitem(x), (6,)),
    "concatenate": (lambda x: np.concatenate([x[:2] ** 2, x[3:], x[:1] * x[4:5]]), (6,)),
    "stack": (lambda x: np.stack([x[:3], x[3:] ** 2], axis=1), (6,)),
    "reshape transpose": (lambda x: np.tanh(x.reshape(2, 3).T * x.reshape(3, 2)), (6,)),
    "broadcast_to": (lambda x: np.broadcast_to(x[:3, None], (3, 4)) * x[None, 2:6], (6,)),
    "sum with axis": (lambda x: np.sum(x.reshape(3, 4) ** 2, axis=0), (12,)),
    "prod and mean with axis": (lambda x: np.prod(x.reshape(2, 3), axis=1)
                                + np.mean(x.reshape(2, 3), axis=1), (6,)),
    "matmul, constant banded": (lambda x: A_BANDED @ x, (6,)),
    "matmul, dense rows": (lambda x: x.reshape(4, 3) @ W_DENSE, (12,)),
    "matmul of traced operands": (lambda x: x.reshape(2, 2) @ x.reshape(2, 2).T, (4,)),
    "matmul batched, constant with a zero row": (lambda x: x.reshape(2, 2, 3) @ W_BATCH, (12,)),
    "matmul 1-d and batched": (lambda x: np.concatenate([(x[:3] @ W_BATCH).ravel(),
                                                         (W_BATCH @ x[4:8]).ravel()]), (8,)),
    "matmul batched traced": (lambda x: x.reshape(2, 1, 6)[:, :, :3] @ x.reshape(2, 6, 1)[:, 2:5],
                              (12,)),
    "full reduction": (lambda x: np.sum(x ** 2) * x, (4,)),
    "where": (lambda x: np.where(x > 0, x ** 2, np.sin(x[::-1])), (5,)),
}


def _setitem(x):
    y = x * 1.0
    y[1:3] = x[:2] ** 2
    y[np.array([5, 0])] = x[3]
    return y


@pytest.mark.parametrize("name", sorted(JACOBIAN_CASES))
def test_jacobian_pattern_is_exact(name):
    f, shape = JACOBIAN_CASES[name]
    x = RNG.uniform(0.5, 1.5, size=shape) * RNG.choice([-1.0, 1.0], size=shape)
    pattern = sg.sparse_jacobian(f).sparsity(x).pattern
    # x and -x: both branches of np.where are taken everywhere
    nonzero = (dense_jacobian(f, (x,)) != 0) | (dense_jacobian(f, (-x,)) != 0)
    assert isinstance(pattern, sp.csr_array) and pattern.dtype == bool
    np.testing.assert_array_equal(pattern.toarray(), nonzero)


def test_max_with_axis_pattern_is_the_union_over_inputs():
    # d max / d x is nonzero at the argmax only; every element is the argmax of some input
    def f(x):
        return np.max(x.reshape(3, 4), axis=1, keepdims=True) * x[:3, None]
    pattern = sg.sparse_jacobian(f).sparsity(np.ones(12)).pattern.toarray()
    union = np.zeros_like(pattern)
    for k in range(12):
        x = RNG.uniform(0.5, 1.0, size=12)
        x[k] = 2.0
        union |= dense_jacobian(f, (x,)) != 0
    np.testing.assert_array_equal(pattern, union)


HESSIAN_CASES = {
    "5-point energy": (laplacian_energy(4), (16,)),
    "chain": (lambda x: np.sum(x[1:] * x[:-1]) + np.sum(np.cos(x)), (6,)),
    "fancy indexing": (lambda x: np.sum(x[[0, 3, 3]] * x[[2, 1, 4]]) + np.sum(x ** 3), (5,)),
    "separable": (lambda x: np.sum(np.exp(x.reshape(3, 2)[:, 0] * x.reshape(3, 2)[:, 1])), (6,)),
    "row sums": (lambda x: np.sum(np.sum(x.reshape(2, 3), axis=1) ** 2), (6,)),
    "linear terms vanish": (lambda x: np.sum(3.0 * x) + np.sum(x[1:] ** 2), (4,)),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_CASES))
def test_hessian_pattern_is_exact_and_symmetric(name):
    f, shape = HESSIAN_CASES[name]
    x = RNG.uniform(0.5, 1.5, size=shape)
    pattern = sg.sparse_hessian(f).sparsity(x).pattern
    dense = dense_hessian(f, (x,))
    np.testing.assert_array_equal(pattern.toarray(), dense != 0)
    assert (pattern != pattern.T).nnz == 0


def test_scatter_add_pattern_exact():
    # scatter_add appears in adjoints; here it is built by hand, with a repeated index
    g = Graph()
    x = g.param((4,), np.float64)
    base = O.exp(x[:3])
    out = O.scatter_add(base, x * x, [g.const(np.array([0, 2, 2, 1]))], (("array", 0),))
    pattern = jacobian_pattern(g, out.node, x.node).toarray()
    # out = exp(x[:3]), then out[0] += x0², out[2] += x1², out[2] += x2², out[1] += x3²
    expected = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 1, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(pattern, expected)


def test_traced_index_array_is_conservative_not_wrong():
    def f(x, i):
        return x[i] * 2.0
    x = np.arange(1.0, 5.0)
    i = np.array([2, 0])
    J = sg.sparse_jacobian(f)
    with interpreter():
        result = J(x, i)
    dense = dense_jacobian(f, (x, i))
    np.testing.assert_allclose(result.toarray(), dense)
    assert set(zip(*np.nonzero(dense))) <= set(zip(*J.sparsity(x, i).pattern.nonzero()))


# -- colourings -------------------------------------------------------------------
def test_tridiagonal_jacobian_needs_three_colours():
    for n in (10, 200):
        info = sg.sparse_jacobian(tridiagonal).sparsity(np.ones(n))
        assert info.n_colors == 3 and info.max_degree == 3
        assert info.colors.shape == (n,)


def test_five_point_jacobian_needs_five_colours():
    side = 20

    def residual(u):
        U = u.reshape(side, side)
        P = np.concatenate([np.zeros((1, side)), U, np.zeros((1, side))], axis=0)
        P = np.concatenate([np.zeros((side + 2, 1)), P, np.zeros((side + 2, 1))], axis=1)
        return (4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]
                - np.exp(U)).ravel()
    info = sg.sparse_jacobian(residual).sparsity(np.zeros(side * side))
    assert info.max_degree == 5 and info.n_colors == 5


@pytest.mark.parametrize("side", [10, 40])
def test_five_point_hessian_needs_at_most_six_colours(side):
    info = sg.sparse_hessian(laplacian_energy(side)).sparsity(np.zeros(side * side))
    assert info.max_degree == 5
    assert 5 <= info.n_colors <= 6


def test_a_dense_row_is_coloured_by_rows():
    # the column-intersection graph would be complete (2000 colours); rows need 2
    def f(x):
        return np.concatenate([x ** 2, np.sum(x, keepdims=True)])
    x = RNG.normal(size=2000)
    J = sg.sparse_jacobian(f)
    info = J.sparsity(x)
    assert (info.mode, info.n_colors) == ("row", 2)
    with interpreter():
        result = J(x).toarray()
    np.testing.assert_array_equal(result, np.vstack([np.diag(2 * x), np.ones((1, 2000))]))


def test_arrowhead_hessian_takes_two_colours_and_is_right():
    def f(x):
        return x[0] * np.sum(x ** 2) + np.sum(np.cos(x))
    x = RNG.normal(size=9)
    H = sg.sparse_hessian(f)
    assert H.sparsity(x).n_colors == 2          # a distance-2 colouring would need 9
    with interpreter():
        np.testing.assert_allclose(H(x).toarray(), dense_hessian(f, (x,)), atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_colourings_are_valid(seed):
    pattern = sp.csr_array(sp.random(40, 30, density=0.1, random_state=seed) != 0)
    col = color_jacobian(pattern)
    dense = pattern.toarray()
    if col.mode == "column":  # no row holds two columns of one colour
        for k in range(col.n_colors):
            assert (dense[:, col.colors == k].sum(axis=1) <= 1).all()
    else:
        for k in range(col.n_colors):
            assert (dense[col.colors == k, :].sum(axis=0) <= 1).all()
    sym = sp.csr_array((pattern @ pattern.T) != 0)
    star = color_hessian(sym)
    adj = sym.toarray() & ~np.eye(40, dtype=bool)
    c = star.colors
    assert not (adj & (c[:, None] == c[None, :])).any()  # distance-1
    # no path on four vertices with two colours
    for a, b in zip(*np.nonzero(adj)):
        for d in np.nonzero(adj[b])[0]:
            if d != a and c[d] == c[a]:
                for e in np.nonzero(adj[d])[0]:
                    assert e == b or c[e] != c[b] or e == a


def check_column_colouring(info, n):
    """``colors`` has one entry per column, ``n_colors`` is ``colors.max() + 1``;
    columns of one colour share no row (a Jacobian) or are not adjacent (a
    star colouring of a Hessian)."""
    dense = info.joint_pattern.toarray()
    colors = info.colors if not isinstance(info.colors, tuple) else np.concatenate(info.colors)
    assert info.mode in ("column", "star") and info.column_colors is info.colors
    assert info.row_colors is None
    assert colors.shape == (n,) and info.n_colors == colors.max() + 1
    if info.mode == "column":
        for k in range(info.n_colors):
            assert (dense[:, colors == k].sum(axis=1) <= 1).all()
    else:
        off_diagonal = dense & ~np.eye(n, dtype=bool)
        assert not (off_diagonal & (colors[:, None] == colors[None, :])).any()


def test_colors_are_column_colours_in_column_and_star_mode():
    check_column_colouring(sg.sparse_jacobian(tridiagonal).sparsity(np.ones(30)), 30)
    # a tall Jacobian: 31 rows, 30 columns coloured
    tall = sg.sparse_jacobian(lambda x: np.concatenate([tridiagonal(x), x[:1] ** 2]))
    check_column_colouring(tall.sparsity(np.ones(30)), 30)
    check_column_colouring(sg.sparse_hessian(laplacian_energy(6)).sparsity(np.ones(36)), 36)


def test_colors_are_row_colours_in_row_mode():
    def f(x):
        return np.concatenate([x ** 2, np.sum(x, keepdims=True)])
    info = sg.sparse_jacobian(f).sparsity(np.ones(50))
    assert info.mode == "row" and info.column_colors is None
    assert info.row_colors is info.colors and info.colors.shape == (51,)
    assert info.n_colors == info.colors.max() + 1 == 2
    dense = info.pattern.toarray()
    for k in range(info.n_colors):        # rows of one colour share no column
        assert (dense[info.colors == k, :].sum(axis=0) <= 1).all()


# -- tuple argnums ------------------------------------------------------------------
def two_argument_residual(a, b):
    return np.concatenate([a[1:] * a[:-1] + b[:3] ** 2, np.sin(b[3:]) * a[0]])


def test_jacobian_tuple_argnums_is_a_tuple_of_blocks():
    a, b = RNG.normal(size=4), RNG.normal(size=5)
    J = sg.sparse_jacobian(two_argument_residual, argnums=(0, 1))
    with interpreter():
        dense = sg.jacobian(two_argument_residual, argnums=(0, 1))(a, b)
        result = J(a, b)
    assert isinstance(result, tuple) and len(result) == 2
    info = J.sparsity(a, b)
    assert isinstance(info.pattern, tuple) and len(info.pattern) == 2
    for block, pattern, reference in zip(result, info.pattern, dense):
        assert isinstance(block, sp.csr_array)
        reference = np.asarray(reference).reshape(5, -1)
        np.testing.assert_allclose(block.toarray(), reference, atol=1e-12)
        np.testing.assert_array_equal(pattern.toarray(), reference != 0)
    assert [c.shape for c in info.colors] == [(4,), (5,)]
    assert info.joint_pattern.shape == (5, 9)
    check_column_colouring(info, 9)
    # a tuple of one argument is a tuple of one block, as sg.jacobian
    (alone,) = sg.sparse_jacobian(two_argument_residual, argnums=(1,)).sparsity(a, b).pattern
    np.testing.assert_array_equal(alone.toarray(), info.pattern[1].toarray())


def test_jacobian_tuple_argnums_compiled_row_mode():
    def f(w, x):
        return w * x[:3] * x[3:] + np.sin(x[:3])
    w, x = RNG.normal(size=3), RNG.normal(size=6)
    J = sg.sparse_jacobian(f, argnums=(1, 0))
    assert J.sparsity(w, x).mode == "row"
    with interpreter():
        reference = sg.jacobian(f, argnums=(1, 0))(w, x)
    for _ in range(2):
        result = J(w, x)
        for block, ref in zip(result, reference):
            np.testing.assert_allclose(block.toarray(), np.asarray(ref), rtol=1e-12, atol=1e-12)


def test_hessian_tuple_argnums_is_nested_blocks():
    def f(w, x):
        return np.sum(w * x[[0, 2, 4]] * x[[1, 3, 0]]) + np.sum(x ** 4) + np.sum(np.exp(w[1:] * w[:-1]))
    w, x = RNG.normal(size=3), RNG.normal(size=5)
    H = sg.sparse_hessian(f, argnums=(0, 1))
    with interpreter():
        reference = sg.hessian(f, argnums=(0, 1))(w, x)
    info = H.sparsity(w, x)
    assert info.mode == "star" and [c.shape for c in info.colors] == [(3,), (5,)]
    for _ in range(2):
        result = H(w, x)
        assert len(result) == 2 and all(len(row) == 2 for row in result)
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(result[i][j].toarray(), np.asarray(reference[i][j]),
                                           rtol=1e-12, atol=1e-12)
                np.testing.assert_array_equal(info.pattern[i][j].toarray(),
                                              np.asarray(reference[i][j]) != 0)


@pytest.mark.parametrize("seed", range(3))
def test_colouring_in_rounds_is_networkx_greedy(seed):
    # the NumPy colouring used beyond 20,000 vertices computes networkx's
    # sequential greedy colouring for the same vertex order, vertex by vertex
    import networkx as nx
    from compiler.passes.sparsity import _greedy_in_rounds
    random = sp.random(300, 300, density=0.02, random_state=seed) != 0
    adjacency = sp.csr_array(random + random.T)
    adjacency.setdiag(False)
    adjacency.eliminate_zeros()
    graph = nx.from_scipy_sparse_array(adjacency)
    degree = np.diff(adjacency.indptr)
    for strategy, order in (("largest_first", np.argsort(-degree, kind="stable")),
                            (lambda g, c: list(g), np.arange(300))):
        expected = nx.greedy_color(graph, strategy)
        colors = _greedy_in_rounds(adjacency, order)
        np.testing.assert_array_equal(colors, [expected[v] for v in range(300)])


# -- values: sparse equals dense, compiled (called twice) ---------------------------
def check_twice(derivative, args, reference):
    for _ in range(2):
        result = derivative(*args)
        assert isinstance(result, sp.csr_array)
        np.testing.assert_allclose(result.toarray(), reference, rtol=1e-12, atol=1e-12)


def test_tridiagonal_jacobian_values():
    x = RNG.normal(size=12)
    check_twice(sg.sparse_jacobian(tridiagonal), (x,), dense_jacobian(tridiagonal, (x,)))


def test_stencil_hessian_values():
    f = laplacian_energy(5)
    u = RNG.normal(size=25)
    H = sg.sparse_hessian(f)
    check_twice(H, (u,), dense_hessian(f, (u,)))
    assert H.sparsity(u).mode == "star"


def test_rectangular_jacobian_by_rows_with_argnums():
    def f(a, x):
        return a * x[:3] * x[3:] + np.sin(x[:3])
    a, x = 2.0, RNG.normal(size=6)
    J = sg.sparse_jacobian(f, argnums=1)
    info = J.sparsity(a, x)
    assert info.pattern.shape == (3, 6) and info.mode == "row" and info.n_colors == 1
    check_twice(J, (a, x), dense_jacobian(f, (a, x), argnums=1))


def test_tall_jacobian_with_fancy_indexing():
    def f(x):
        return np.concatenate([x[[0, 1, 1, 3]] ** 2, np.exp(x[::-1]), x[1:] - x[:-1]])
    x = RNG.normal(size=4)
    J = sg.sparse_jacobian(f)
    assert J.sparsity(x).pattern.shape == (11, 4)
    check_twice(J, (x,), dense_jacobian(f, (x,)))


def test_hessian_argnums_and_fancy_indexing_interpreter():
    def f(w, x):
        return np.sum(w * x[[0, 2, 4]] * x[[1, 3, 0]]) + np.sum(x ** 4)
    w, x = RNG.normal(size=3), RNG.normal(size=5)
    with interpreter():
        result = sg.sparse_hessian(f, argnums=1)(w, x)
    np.testing.assert_allclose(result.toarray(), dense_hessian(f, (w, x), argnums=1), atol=1e-12)


def test_each_guard_path_has_its_pattern():
    def f(x):
        if x[0] > 0:
            return x * x[0]
        return x ** 2
    J = sg.sparse_jacobian(f)
    with interpreter():
        for x0 in (1.0, -1.0, 2.0):
            x = np.array([x0, 2.0, 3.0])
            np.testing.assert_allclose(J(x).toarray(), dense_jacobian(f, (x,)))
    assert J.sparsity(np.array([1.0, 2.0, 3.0])).pattern.nnz == 5
    assert J.sparsity(np.array([-1.0, 2.0, 3.0])).pattern.nnz == 3


def test_function_independent_of_x_gives_zero_matrix():
    J = sg.sparse_jacobian(lambda x, y: y * 2.0)
    result = J(np.ones(3), np.ones(2))
    assert result.shape == (2, 3) and result.nnz == 0


def test_bad_input_is_refused_clearly():
    with pytest.raises(sg.NonScalarOutputError, match="sparse_hessian"):
        sg.sparse_hessian(lambda x: x ** 2).sparsity(np.ones(3))
    with pytest.raises(TypeError, match="argnums must be an int or a non-empty tuple"):
        sg.sparse_jacobian(lambda x: x, argnums="0")
    with pytest.raises(TypeError, match="repeats an argument"):
        sg.sparse_jacobian(lambda x, y: x * y, argnums=(1, 1))
    with pytest.raises(sg.IntegerInputError):
        sg.sparse_jacobian(lambda x: x * 2).sparsity(np.arange(3))


# -- structured control flow: the pass composes loop bodies and unites cond branches ---
def heat_stepper(steps):
    """An explicit time stepper of a 1-D reaction-diffusion stencil: each step
    widens the band by one on each side."""
    def f(x):
        def body(i, v):
            left = np.concatenate([np.zeros(1), v[:-1]])
            right = np.concatenate([v[1:], np.zeros(1)])
            return v + 0.1 * (left - 2 * v + right) + 0.01 * v ** 3
        return sg.fori_loop(0, steps, body, x)
    return f


@pytest.mark.parametrize("steps", [1, 3])
def test_fori_loop_stepper_pattern_is_banded_and_exact(steps):
    f = heat_stepper(steps)
    x = RNG.uniform(0.5, 1.5, size=20)
    J = sg.sparse_jacobian(f)
    info = J.sparsity(x)
    dense = dense_jacobian(f, (x,))
    np.testing.assert_array_equal(info.pattern.toarray(), dense != 0)
    offsets = np.subtract(*np.nonzero(info.pattern.toarray()))
    assert offsets.min() == -steps and offsets.max() == steps     # the band's half width
    assert info.n_colors == 2 * steps + 1
    check_twice(J, (x,), dense)          # the compressed JVPs through the loop, compiled


def test_loop_pattern_is_the_last_step_not_a_union():
    # a rotation by one per step: after 3 steps each output depends on one input
    def f(x):
        return sg.fori_loop(0, 3, lambda i, v: np.concatenate([v[-1:], v[:-1]]) * 2.0, x)
    x = RNG.uniform(0.5, 1.5, size=5)
    pattern = sg.sparse_jacobian(f).sparsity(x).pattern.toarray()
    np.testing.assert_array_equal(pattern, dense_jacobian(f, (x,)) != 0)
    assert pattern.sum() == 5


def test_long_loop_reaches_its_fixed_point():
    # 400 steps of a stencil on 12 unknowns: the band fills after 11, then stays
    f = heat_stepper(400)
    x = RNG.uniform(0.1, 0.2, size=12)
    info = sg.sparse_jacobian(f).sparsity(x)
    np.testing.assert_array_equal(info.pattern.toarray(), dense_jacobian(f, (x,)) != 0)


def test_scan_with_xs_and_ys_pattern_is_exact():
    def f(x):
        def body(c, xt):
            c = c * xt[0] + np.concatenate([c[:1], c[:-1] * xt[1]])
            return c, np.sum(c[:2])
        c, ys = sg.scan(body, x[:5], x[5:].reshape(3, 2))
        return np.concatenate([c, ys])
    x = RNG.uniform(0.5, 1.5, size=11)
    J = sg.sparse_jacobian(f)
    dense = dense_jacobian(f, (x,))
    np.testing.assert_array_equal(J.sparsity(x).pattern.toarray(), dense != 0)
    assert J.sparsity(x).pattern.nnz < dense.size       # not the dense fallback
    with interpreter():
        np.testing.assert_allclose(J(x).toarray(), dense, atol=1e-12)


def test_cond_pattern_is_the_union_of_both_branches():
    def f(x):
        return 2.0 * sg.cond(x[0] > 0, lambda v: v[1:] * v[:-1],
                             lambda v: np.sin(v[1:]) + v[0], x)
    x = RNG.uniform(0.5, 1.5, size=6)
    J = sg.sparse_jacobian(f)
    pattern = J.sparsity(x).pattern.toarray()
    np.testing.assert_array_equal(pattern, (dense_jacobian(f, (x,)) != 0)
                                  | (dense_jacobian(f, (-x,)) != 0))
    with interpreter():
        for point in (x, -x):
            np.testing.assert_allclose(J(point).toarray(), dense_jacobian(f, (point,)),
                                       atol=1e-12)


def test_while_loop_pattern_is_the_sound_fixed_point():
    # the trip count is known at run time only: the pattern covers any count
    def f(x):
        def body(state):
            k, v = state
            return k + 1, v + 0.1 * np.concatenate([v[1:], np.zeros(1)]) * v
        return sg.while_loop(lambda state: state[0] < 2, body, (0, x))[1]
    x = RNG.uniform(0.5, 1.5, size=8)
    J = sg.sparse_jacobian(f)
    pattern = J.sparsity(x).pattern.toarray()
    np.testing.assert_array_equal(pattern, np.triu(np.ones((8, 8), dtype=bool)))
    dense = dense_jacobian(f, (x,))
    assert not (dense != 0)[~pattern].any()
    with interpreter():
        np.testing.assert_allclose(J(x).toarray(), dense, atol=1e-12)


def check_exact_hessian(f, x):
    """The pattern of ``sparse_hessian(f)`` at ``x`` is the dense one's, and so are its values."""
    H = sg.sparse_hessian(f)
    dense = dense_hessian(f, (x,))
    np.testing.assert_array_equal(H.sparsity(x).pattern.toarray(), dense != 0)
    with interpreter():
        np.testing.assert_allclose(H(x).toarray(), dense, atol=1e-12)


def test_hessian_through_a_loop_is_exact():
    def energy(x):
        def body(i, v):
            return v + 0.1 * np.concatenate([v[1:], np.zeros(1)]) * np.cos(v)
        return np.sum(sg.fori_loop(0, 2, body, x) ** 2)
    x = RNG.uniform(0.5, 1.5, size=8)
    check_exact_hessian(energy, x)


def test_hessian_through_scan_exact_and_while_loop_sound():
    # the adjoint of a scan reads the carries' tapes; the adjoint of a while
    # loop runs over tapes of run-time length
    def scanned(x):
        def body(c, xt):
            return c * np.sin(xt), c[:2].sum() * xt[0]
        c, ys = sg.scan(body, x[:3], x[3:].reshape(2, 3))
        return np.sum(c ** 2) + np.sum(ys ** 3)

    def looped(x):
        def body(state):
            k, v = state
            return k + 1, v + 0.1 * np.concatenate([v[1:], np.zeros(1)]) * np.cos(v)
        return np.sum(sg.while_loop(lambda s: s[0] < 2, body, (0, x))[1] ** 2)
    x = RNG.uniform(0.5, 1.5, size=9)
    check_exact_hessian(scanned, x)
    H = sg.sparse_hessian(looped)
    dense = dense_hessian(looped, (x,))
    assert not (dense != 0)[~H.sparsity(x).pattern.toarray()].any()
    with interpreter():
        np.testing.assert_allclose(H(x).toarray(), dense, atol=1e-12)

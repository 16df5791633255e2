"""Structured loops (sg.fori_loop, scan, while_loop, cond): each against the
same computation unrolled in Python and against finite differences, in
reverse and forward mode and at second order; checkpointed against stored;
plain NumPy execution outside transforms; the error cases.

Most tests run on the reference interpreter; the "compiled" section checks
the Numba kernels of loop nodes against it and against finite differences."""
import functools
import logging
import re

import numpy as np
import pytest

import staticgrad as sg
from compiler.ops.control import Revolve, revolve_cost

pytestmark = pytest.mark.usefixtures("interpreter_backend")

RNG = np.random.default_rng(7)
THETA = RNG.normal(size=3) * 0.5
X0 = RNG.normal(size=3)
XS = RNG.normal(size=(6, 3))


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# -- fori_loop -------------------------------------------------------------
def fori_model(theta, x0, n=5):
    def body(i, x):
        return np.tanh(x * theta + 0.1 * i) + 0.2 * x
    return np.sum(sg.fori_loop(0, n, body, x0) ** 2)


def fori_unrolled(theta, x0, n=5):
    x = x0
    for i in range(n):
        x = np.tanh(x * theta + 0.1 * np.int64(i)) + 0.2 * x
    return np.sum(x ** 2)


def test_fori_loop_value_matches_unrolled_in_plain_numpy_and_under_jit():
    expected = fori_unrolled(THETA, X0)
    close(fori_model(THETA, X0), expected)
    f = sg.jit(fori_model)
    close(f(THETA, X0), expected)
    close(f(THETA, X0), expected)  # second call: the interpreter runs the graph


@pytest.mark.parametrize("argnum", [0, 1])
def test_fori_loop_grad_matches_unrolled(argnum):
    g = sg.grad(fori_model, argnum)
    expected = sg.grad(fori_unrolled, argnum)(THETA, X0)
    close(g(THETA, X0), expected)
    close(g(THETA, X0), expected)


def test_fori_loop_against_finite_differences_to_second_order():
    sg.check_grads(fori_model, (THETA, X0), order=2)


def test_fori_loop_jvp_hvp_and_hessian_match_unrolled():
    t = RNG.normal(size=3)
    out, tan = sg.jvp(fori_model, (THETA, X0), (t, t))
    out_u, tan_u = sg.jvp(fori_unrolled, (THETA, X0), (t, t))
    close(out, out_u)
    close(tan, tan_u)
    close(sg.hvp(fori_model)(THETA, X0, t), sg.hvp(fori_unrolled)(THETA, X0, t))
    close(sg.hessian(fori_model)(THETA, X0), sg.hessian(fori_unrolled)(THETA, X0))
    close(sg.hessian(fori_model, 1)(THETA, X0), sg.hessian(fori_unrolled, 1)(THETA, X0))


def test_fori_loop_graph_size_does_not_grow_with_the_trip_count():
    sizes = {n: len(sg.grad(fori_model).trace(THETA, X0, n).raw) for n in (3, 300)}
    assert sizes[3] == sizes[300]
    traced = sg.grad(fori_model).trace(THETA, X0, 300).ir
    assert [traced.op(n) for n in traced.nodes()].count("loop") == 2  # forward, adjoint


def test_fori_loop_with_traced_bounds_runs_the_trip_count_of_each_call():
    def f(x, n):
        return np.sum(sg.fori_loop(0, n, lambda i, c: np.sin(c) * x, x))

    def unrolled(x, n):
        c = x
        for _ in range(n):
            c = np.sin(c) * x
        return np.sum(c)

    g = sg.grad(f)
    for n in (3, 5, 0, 4):
        close(g(X0, n), sg.grad(unrolled)(X0, n))
    assert g.cache_info().specializations == 1  # one graph for every trip count


def test_integer_counter_in_the_carry():
    def f(x):
        def body(i, carry):
            k, acc = carry
            return k + 2, acc * x + k
        k, acc = sg.fori_loop(0, 4, body, (1, x))
        return np.sum(acc) * k

    def unrolled(x):
        k, acc = 1, x
        for _ in range(4):
            k, acc = k + 2, acc * x + k
        return np.sum(acc) * k

    close(sg.jit(f)(X0), unrolled(X0))
    close(sg.grad(f)(X0), sg.grad(unrolled)(X0))
    sg.check_grads(f, (X0,), order=2)
    k, _ = sg.jit(lambda x: sg.fori_loop(0, 4, lambda i, c: (c[0] + 2, c[1] * x), (1, x)))(X0)
    assert k == 9 and np.asarray(k).dtype.kind == "i"


# -- scan --------------------------------------------------------------------
def scan_model(theta, x0, xs, reverse=False):
    def step(c, x):
        c = np.tanh(c * theta + x)
        return c, {"energy": np.sum(c ** 2), "state": c * 2.0}
    c, ys = sg.scan(step, x0, xs, reverse=reverse)
    weights = np.arange(1.0, 1 + xs.shape[0])
    return np.sum(c) + np.sum(ys["energy"] * weights) + np.sum(ys["state"][1] ** 3)


def scan_unrolled(theta, x0, xs, reverse=False):
    c, energy, state = x0, [None] * xs.shape[0], [None] * xs.shape[0]
    for t in (reversed(range(xs.shape[0])) if reverse else range(xs.shape[0])):
        c = np.tanh(c * theta + xs[t])
        energy[t], state[t] = np.sum(c ** 2), c * 2.0
    weights = np.arange(1.0, 1 + xs.shape[0])
    return np.sum(c) + np.sum(np.stack(energy) * weights) + np.sum(np.stack(state)[1] ** 3)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_value_and_grads_match_unrolled(reverse):
    args = (THETA, X0, XS)
    close(scan_model(*args, reverse), scan_unrolled(*args, reverse))
    close(sg.jit(scan_model, static_argnums=3)(*args, reverse), scan_unrolled(*args, reverse))
    got = sg.grad(scan_model, (0, 1, 2))(*args, reverse)
    expected = sg.grad(scan_unrolled, (0, 1, 2))(*args, reverse)
    for a, b in zip(got, expected):  # theta (closed over), the initial carry, xs
        close(a, b)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_against_finite_differences_to_second_order(reverse):
    sg.check_grads(lambda t, c, x: scan_model(t, c, x, reverse), (THETA, X0, XS[:4]), order=2)


def test_scan_ys_and_final_carry_as_outputs():
    def f(x0, xs):
        return sg.scan(lambda c, x: (c * 0.9 + x, np.sin(c)), x0, xs)

    c, ys = sg.jit(f)(X0, XS)
    c_plain, ys_plain = f(X0, XS)
    close(c, c_plain)
    close(ys, ys_plain)
    assert ys.shape == XS.shape
    sg.check_grads(lambda a, b: f(a, b)[1], (X0, XS), order=1)


def test_scan_with_length_and_no_xs():
    def f(x):
        c, ys = sg.scan(lambda c, _: (c * x, c), np.ones(3), length=4)
        return np.sum(ys) + np.sum(c)

    expected = sum(np.sum(X0 ** k) for k in range(5))
    close(f(X0), expected)
    close(sg.jit(f)(X0), expected)
    sg.check_grads(f, (X0,), order=2)


def test_scan_hessian_and_hvp_match_unrolled():
    v = RNG.normal(size=XS.shape)
    close(sg.hvp(scan_model, 2)(THETA, X0, XS, v), sg.hvp(scan_unrolled, 2)(THETA, X0, XS, v))
    close(sg.hessian(scan_model)(THETA, X0, XS), sg.hessian(scan_unrolled)(THETA, X0, XS))


def test_nested_loops():
    f = nested_model

    def unrolled(theta, xs):
        c, total = np.zeros(3), 0.0
        for x in xs:
            for _ in range(3):
                c = np.sin(c * theta) + x
            total = total + np.sum(c)
        return total + np.sum(c ** 2)

    close(sg.jit(f)(THETA, XS), unrolled(THETA, XS))
    for a, b in zip(sg.grad(f, (0, 1))(THETA, XS), sg.grad(unrolled, (0, 1))(THETA, XS)):
        close(a, b)
    sg.check_grads(f, (THETA, XS[:3]), order=2)


# -- while_loop --------------------------------------------------------------
def while_model(a, x0):
    def body(state):
        k, x = state
        return k + 1, x * a + 0.25 * np.sin(x)
    k, x = sg.while_loop(lambda s: np.sum(s[1] ** 2) < 50.0, body, (0, x0))
    return np.sum(x) * k


def while_unrolled(a, x0):
    k, x = 0, x0
    while np.sum(x ** 2) < 50.0:  # a Python loop on traced values: guards
        k, x = k + 1, x * a + 0.25 * np.sin(x)
    return np.sum(x) * k


A = np.array([1.3, 1.2, 1.25])
W0 = np.array([0.5, -0.3, 0.8])


def test_while_loop_value_and_grads_match_unrolled():
    close(while_model(A, W0), while_unrolled(A, W0))
    close(sg.jit(while_model)(A, W0), while_unrolled(A, W0))
    for argnum in (0, 1):
        g = sg.grad(while_model, argnum)
        close(g(A, W0), sg.grad(while_unrolled, argnum)(A, W0))
        close(g(A, W0), sg.grad(while_unrolled, argnum)(A, W0))


def test_while_loop_trip_count_found_at_run_time():
    g = sg.grad(while_model)
    for x0 in (W0, W0 * 0.01, W0 * 10.0, W0 * 0.5):  # many, more, none, some iterations
        close(g(A, x0), sg.grad(while_unrolled)(A, x0))
    assert g.cache_info().specializations == 1


def test_while_loop_against_finite_differences_to_second_order():
    sg.check_grads(while_model, (A, W0), order=2)


def test_while_loop_hessian_and_hvp_match_unrolled():
    v = RNG.normal(size=3)
    close(sg.hvp(while_model)(A, W0, v), sg.hvp(while_unrolled)(A, W0, v))
    close(sg.hessian(while_model)(A, W0), sg.hessian(while_unrolled)(A, W0))


# -- checkpointing -----------------------------------------------------------
@functools.lru_cache(maxsize=None)
def fewest_recomputations(n, snapshots):
    """Brute force over every binomial schedule: the optimum revolve reaches."""
    if n <= 1:
        return 0
    if snapshots == 0:
        return n * (n - 1) // 2
    return min(m + fewest_recomputations(n - m, snapshots - 1)
               + fewest_recomputations(m, snapshots) for m in range(1, n))


@pytest.mark.parametrize("snapshots", [0, 1, 2, 3, 5])
def test_revolve_walks_back_with_the_fewest_recomputations(snapshots):
    for n in range(1, 45):
        source = Revolve([0], n, snapshots, lambda k, c: [c[0] + 1])
        assert [c[0] for c in source.walk(True)] == list(range(n - 1, -1, -1))
        assert source.recomputed == fewest_recomputations(n, snapshots) \
            == revolve_cost(n, snapshots), n
        assert source.peak <= snapshots
        order = np.random.default_rng(n).permutation(n)  # out of order, as a 2nd derivative reads
        assert [source.carry_at(k)[0] for k in order] == list(order)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_checkpointed_gradients_equal_stored_ones(k):
    xs = RNG.normal(size=(30, 3))

    def scan_loss(theta, x0, checkpoints):
        c, ys = sg.scan(lambda c, x: (np.tanh(c * theta + x), np.sum(c ** 2)), x0, xs,
                        checkpoints=checkpoints)
        return np.sum(c) + np.sum(ys)

    def fori_loss(theta, x0, checkpoints):
        return np.sum(sg.fori_loop(0, 25, lambda i, c: np.sin(c * theta) + 0.5, x0,
                                   checkpoints=checkpoints))

    def while_loss(a, x0, checkpoints):
        _, x = sg.while_loop(lambda s: s[0] < 20, lambda s: (s[0] + 1, np.sin(s[1] * a) + 0.5),
                             (0, x0), checkpoints=checkpoints)
        return np.sum(x ** 2)

    for loss in (scan_loss, fori_loss, while_loss):
        stored = functools.partial(loss, checkpoints=None)
        checkpointed = functools.partial(loss, checkpoints=k)
        for a, b in zip(sg.grad(stored, (0, 1))(THETA, X0),
                        sg.grad(checkpointed, (0, 1))(THETA, X0)):
            np.testing.assert_array_equal(a, b)
        v = RNG.normal(size=3)
        close(sg.hvp(checkpointed)(THETA, X0, v), sg.hvp(stored)(THETA, X0, v))


# -- cond --------------------------------------------------------------------
def cond_model(x):
    return np.sum(sg.cond(np.sum(x) > 0, lambda y: np.sqrt(y) * THETA, lambda y: np.sqrt(-y),
                          x))


def test_cond_runs_and_differentiates_only_the_taken_branch():
    pos, neg = np.array([4.0, 1.0, 2.0]), np.array([-4.0, -1.0, -2.0])
    f, g = sg.jit(cond_model), sg.grad(cond_model)
    for x in (pos, neg, pos):
        expected = np.sum(np.sqrt(x) * THETA) if x.sum() > 0 else np.sum(np.sqrt(-x))
        close(f(x), expected)
        close(cond_model(x), expected)
        # the other branch's sqrt of negatives would make a where-select's gradient NaN
        grad = g(x)
        assert np.all(np.isfinite(grad))
        close(grad, THETA * 0.5 / np.sqrt(x) if x.sum() > 0 else 0.5 / np.sqrt(-x) * -1)
    assert g.cache_info().specializations == 1
    for x in (pos, neg):
        sg.check_grads(cond_model, (x,), order=2)
        close(sg.jvp(cond_model, (x,), (np.ones(3),))[1], np.sum(g(x)))


def test_cond_with_several_operands_and_pytree_outputs():
    def f(x, y):
        out = sg.cond(x[0] > y[0], lambda a, b: {"s": a * b, "t": (a, b)},
                      lambda a, b: {"s": a - b, "t": (b, a)}, x, y)
        return np.sum(out["s"]) + np.sum(out["t"][0] ** 2)

    for x in (X0 + 5.0, X0 - 5.0):
        close(sg.jit(f)(x, X0), f(x, X0))
        sg.check_grads(f, (x, X0), order=2)


# -- plain NumPy outside transforms -------------------------------------------
def test_loops_outside_transforms_are_plain_numpy_loops():
    calls = []

    def body(i, x):
        calls.append(type(x))
        return x * 2.0

    out = sg.fori_loop(0, 3, body, np.ones(2))
    assert isinstance(out, np.ndarray) and calls == [np.ndarray] * 3
    close(out, np.full(2, 8.0))
    c, ys = sg.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0), reverse=True)
    close(c, 6.0)
    close(ys, [5.0, 6.0, 0.0])
    assert sg.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * 3), (0, 1)) == (5, 243)
    assert sg.cond(False, lambda a: a + 1, lambda a: a - 1, 10) == 9
    c, ys = sg.scan(lambda c, x: (c, {"y": np.zeros(2)}), 1.0, np.zeros((0, 3)))
    assert ys["y"].shape == (0, 2)


# -- errors ------------------------------------------------------------------
def test_a_body_changing_the_carry_shape_or_dtype_is_an_error_naming_both():
    def grows(i, x):
        return np.concatenate([x, x])

    for run in (lambda: sg.fori_loop(0, 2, grows, np.ones(3)),
                lambda: sg.jit(lambda x: sg.fori_loop(0, 2, grows, x))(np.ones(3))):
        with pytest.raises(sg.LoopTypeError, match=r"fori_loop\(body_fun=.*grows.*\(3,\).*\(6,\)"):
            run()
    with pytest.raises(sg.ShapeError, match=r"while_loop.*int64.*float64"):
        sg.jit(lambda x: sg.while_loop(lambda c: c < 3, lambda c: c + x, 0))(np.float64(0.5))
    with pytest.raises(sg.ShapeError, match=r"scan.*structure"):
        sg.jit(lambda x: sg.scan(lambda c, t: ((c, c), t), x, x))(np.ones(3))


def test_loop_type_errors_are_shape_errors_and_type_errors():
    assert issubclass(sg.LoopTypeError, sg.ShapeError) and issubclass(sg.LoopTypeError, TypeError)


def test_cond_branches_of_different_structure_is_an_error_naming_them():
    def small(x):
        return x

    def large(x):
        return np.concatenate([x, x])

    with pytest.raises(sg.LoopTypeError, match=r"true_fun=.*small.*false_fun=.*large"):
        sg.jit(lambda x: sg.cond(x[0] > 0, small, large, x))(np.ones(2))
    with pytest.raises(sg.ShapeError, match=r"different structures"):
        sg.jit(lambda x: sg.cond(x[0] > 0, lambda y: (y, y), lambda y: y, x))(np.ones(2))


def test_max_loop_iterations():
    saved = sg.config.max_loop_iterations
    sg.config.max_loop_iterations = 10
    try:
        forever = (lambda x: x > 0, lambda x: x + 1.0)
        with pytest.raises(sg.LoopLimitError, match="while_loop.*10"):
            sg.while_loop(*forever, 1.0)
        with pytest.raises(sg.LoopLimitError, match="while_loop.*10"):
            sg.jit(lambda x: sg.while_loop(*forever, x))(np.float64(1.0))
        assert sg.while_loop(lambda x: x < 10.0, lambda x: x + 1.0, 0.0) == 10.0
    finally:
        sg.config.max_loop_iterations = saved


def test_python_branch_on_the_carry_inside_a_body_is_an_error():
    def body(i, x):
        return x * 2.0 if x > 1.0 else x + 1.0

    with pytest.raises(sg.TracerConversionError, match="sg.cond or np.where"):
        sg.jit(lambda x: sg.fori_loop(0, 3, body, x))(np.float64(0.5))


def test_bad_checkpoints_argument():
    with pytest.raises(ValueError, match="checkpoints"):
        sg.fori_loop(0, 2, lambda i, x: x, 1.0, checkpoints=0)


def test_loop_body_is_part_of_the_structural_key():
    keys = {sg.jit(lambda x, k=k: sg.fori_loop(0, 3, lambda i, c: c * k, x)).trace(X0)
            .ir.structural_key() for k in (2.0, 3.0)}
    assert len(keys) == 2


# -- compiled: loop nodes as Numba loops ---------------------------------------
# Each function is compiled once (f.compile waits for the kernel and raises if
# there is none) and then called; the answers must be the interpreter's, and
# the gradients those of central differences of the plain NumPy loops.
@pytest.fixture
def numba_backend():
    saved = sg.config.backend
    sg.config.backend = "numba"
    yield
    sg.config.backend = saved


def while_model_counted(a, x0):
    return while_model(a, x0)


def scan_reverse_model(theta, x0, xs):
    return scan_model(theta, x0, xs, True)


def nested_model(theta, xs):
    def outer(c, x):
        inner = sg.fori_loop(0, 3, lambda i, d: np.sin(d * theta) + x, c)
        return inner, np.sum(inner)
    c, ys = sg.scan(outer, np.zeros(3), xs)
    return np.sum(ys) + np.sum(c ** 2)


def cond_loop_model(theta, x0):
    """A cond inside a fori_loop body: the branch taken changes from step to step."""
    def body(i, x):
        return sg.cond(np.sum(x) > 0, lambda y: np.sin(y * theta), lambda y: np.cos(y) + theta,
                       x)
    return np.sum(sg.fori_loop(0, 6, body, x0) ** 2)


COMPILED_CASES = {
    "fori_loop": (fori_model, (THETA, X0)),
    "scan": (scan_model, (THETA, X0, XS)),
    "scan reverse": (scan_reverse_model, (THETA, X0, XS)),
    "while_loop": (while_model, (A, W0)),
    "cond": (cond_model, (np.array([4.0, 1.0, 2.0]),)),
    "cond in a loop": (cond_loop_model, (THETA, X0)),
    "nested": (nested_model, (THETA, XS)),
}


def central_differences(f, args, h=1e-6):
    """The gradient of scalar f with respect to every argument (plain NumPy calls)."""
    grads = []
    for k, a in enumerate(args):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[i] += h
            down[i] -= h
            g[i] = (f(*args[:k], up, *args[k + 1:]) - f(*args[:k], down, *args[k + 1:])) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("case", list(COMPILED_CASES))
def test_compiled_loops_agree_with_the_interpreter_and_finite_differences(case, numba_backend):
    fun, args = COMPILED_CASES[case]
    argnums = tuple(range(len(args)))
    value, grad = sg.jit(fun), sg.grad(fun, argnums)
    for transformed in (value, grad):
        source = transformed.lower(*args).source
        assert "for " in source or "while " in source or "if " in source
        transformed.compile(*args)     # raises when there is no kernel
    sg.config.backend = "interpreter"
    expected_value, expected_grad = sg.jit(fun)(*args), sg.grad(fun, argnums)(*args)
    sg.config.backend = "numba"
    close(value(*args), expected_value)
    close(value(*args), fun(*args))
    for got, want, fd in zip(grad(*args), expected_grad, central_differences(fun, args)):
        close(got, want)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7)


# Carries and ys of more than Generator.UNROLL elements are whole arrays: the
# compiled body writes them into arrays the loop passes (two per carry,
# swapped every step; a y straight into its row). A stencil reads neighbours
# of the carry, so a body writing into the array it reads would be caught.
BIG = 40
BIG_A = np.array(0.2)
BIG_U0 = np.sin(np.linspace(0.0, 3.0, BIG))
BIG_XS = 1.0 + 0.1 * RNG.normal(size=(5, BIG))


def stencil(u):
    return np.concatenate([u[1:2] - u[:1], u[2:] - 2.0 * u[1:-1] + u[:-2], u[-2:-1] - u[-1:]])


def big_fori_model(a, u0):
    return np.sum(sg.fori_loop(0, 6, lambda i, u: u + a * stencil(u) + 0.1 * np.sin(u), u0) ** 2)


def big_scan_model(a, u0, xs, reverse=False):
    def step(carry, x):
        u, same, twice = carry
        new = u + a * stencil(u) * x
        # the second carry comes back unchanged; `new` is returned three times
        return (new, same, new), (new, u * x)
    (u, same, twice), (ys, zs) = sg.scan(step, (u0, 0.5 * u0, u0), xs, reverse=reverse)
    return np.sum(u ** 2) + np.sum(same * twice) + np.sum(ys * zs)


def big_scan_reverse_model(a, u0, xs):
    return big_scan_model(a, u0, xs, True)


def big_while_model(a, u0):
    def body(c):
        u, k = c
        return u + a * stencil(u) - 0.01 * u * u, k + 1
    u, _ = sg.while_loop(lambda c: c[1] < 5, body, (u0, 0))
    return np.sum(u ** 2)


BIG_CASES = {
    "fori_loop": (big_fori_model, (BIG_A, BIG_U0)),
    "scan": (big_scan_model, (BIG_A, BIG_U0, BIG_XS)),
    "scan reverse": (big_scan_reverse_model, (BIG_A, BIG_U0, BIG_XS)),
    "while_loop": (big_while_model, (BIG_A, BIG_U0)),
}


@pytest.mark.parametrize("case", list(BIG_CASES))
def test_compiled_loops_with_large_carries(case, numba_backend):
    fun, args = BIG_CASES[case]
    argnums = tuple(range(len(args)))
    value, grad = sg.jit(fun), sg.grad(fun, argnums)
    source = grad.lower(*args).source
    assert "spare" in source     # the carry's second array: the buffer path
    for transformed in (value, grad):
        transformed.compile(*args)
    sg.config.backend = "interpreter"
    expected_value, expected_grad = sg.jit(fun)(*args), sg.grad(fun, argnums)(*args)
    sg.config.backend = "numba"
    for _ in range(2):   # a second call reuses nothing of the first's arrays
        close(value(*args), expected_value)
        close(value(*args), fun(*args))
        for got, want, fd in zip(grad(*args), expected_grad, central_differences(fun, args)):
            close(got, want)
            np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", ["scan", "while_loop"])
def test_compiled_loop_bodies_kept_as_functions(case, numba_backend, monkeypatch):
    # A body longer than Generator.INLINE_SIZE stays a function of the module,
    # called once a step, writing its whole-array results into the loop's arrays.
    from compiler.codegen.source import Generator

    monkeypatch.setattr(Generator, "INLINE_SIZE", 0)
    model, args = BIG_CASES[case]

    def fun(*a):   # another graph than the inlined cases' (the kernel caches)
        return 1.5 * model(*a)

    grad = sg.grad(fun, tuple(range(len(args))))
    assert re.search(r"= body\d+\(", grad.lower(*args).source)
    sg.config.backend = "interpreter"
    expected = sg.grad(fun, tuple(range(len(args))))(*args)
    sg.config.backend = "numba"
    for _ in range(2):
        for got, want in zip(grad(*args), expected):
            close(got, want)


def test_compiled_scan_with_large_ys_as_outputs(numba_backend):
    def f(a, u0, xs):
        def step(carry, x):
            u, same = carry
            new = u + a * stencil(u) * x
            return (new, same), (new, new, same, u)
        return sg.scan(step, (u0, u0), xs)

    expected = f(BIG_A, BIG_U0, BIG_XS)          # plain NumPy
    jitted = sg.jit(f)
    jitted.compile(BIG_A, BIG_U0, BIG_XS)
    for _ in range(2):
        got = jitted(BIG_A, BIG_U0, BIG_XS)
        for g_leaf, e_leaf in zip(_leaves(got), _leaves(expected)):
            close(g_leaf, e_leaf)
    (u, same), (ys, ys2, sames, us) = jitted(BIG_A, BIG_U0, BIG_XS)
    assert not np.shares_memory(ys, ys2) and not np.shares_memory(u, ys)


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [tree]


def test_compiled_hvp_and_jvp_through_a_loop_with_a_large_carry(numba_backend):
    v = np.cos(np.linspace(0.0, 2.0, BIG))
    hvp = sg.jit(lambda a, u0, v: sg.hvp(big_fori_model, 1)(a, u0, v))
    hvp.compile(BIG_A, BIG_U0, v)
    got = hvp(BIG_A, BIG_U0, v)
    sg.config.backend = "interpreter"
    expected = sg.hvp(big_fori_model, 1)(BIG_A, BIG_U0, v)
    sg.config.backend = "numba"
    close(hvp(BIG_A, BIG_U0, v), expected)
    close(got, expected)
    h = 1e-5   # the directional derivative of the gradient by central differences
    grad = sg.grad(big_fori_model, 1)
    fd = (grad(BIG_A, BIG_U0 + h * v) - grad(BIG_A, BIG_U0 - h * v)) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7)


def test_compiled_loop_with_traced_bounds_serves_every_trip_count(numba_backend):
    def f(theta, x0, n):
        return np.sum(sg.fori_loop(0, n, lambda i, x: np.sin(x * theta) + 0.1, x0) ** 2)

    g = sg.grad(f)
    g.compile(THETA, X0, np.int64(4))
    for n in (0, 1, 4, 9):
        close(g(THETA, X0, np.int64(n)), sg.grad(functools.partial(f, n=n))(THETA, X0))
    assert g.cache_info().specializations == 1


def test_compiled_jvp_through_a_loop(numba_backend):
    t = RNG.normal(size=3)
    f = sg.jit(lambda theta, x0: sg.jvp(fori_model, (theta, x0), (t, t)))
    f.compile(THETA, X0)
    out, tan = f(THETA, X0)
    out_u, tan_u = sg.jvp(fori_unrolled, (THETA, X0), (t, t))
    close(out, out_u)
    close(tan, tan_u)


def test_compiled_gradient_through_a_while_loop_is_one_numba_function(numba_backend):
    import numba

    grad = sg.grad(while_model).compile(A, W0).numba_function

    @numba.njit
    def descend(a, x0, steps, rate):
        for _ in range(steps):
            a = a - rate * grad(a, x0)
        return a

    a, b = descend(A.copy(), W0, 3, 1e-3), A.copy()
    for _ in range(3):   # the same steps in Python, on the interpreter
        sg.config.backend = "interpreter"
        b = b - 1e-3 * sg.grad(while_model)(b, W0)
    close(a, b)


# -- compiled checkpointed tapes -------------------------------------------------
def test_compiled_revolve_schedule_is_the_interpreters():
    """compiler/codegen/revolve.py's run-time schedule walks back in the order,
    with the snapshots and the recomputations, of the interpreter's Revolve."""
    from compiler.codegen import revolve

    for snapshots in (1, 2, 3, 5, 8):
        for n in range(0, 60):
            source = Revolve([0], n, snapshots, lambda k, c: [c[0] + 1])
            expected = [c[0] for c in source.walk(True)]
            state, held, walked, recomputed = revolve.revolve_start(n, snapshots), {0: 0}, [], 0
            while revolve.revolve_next(state):
                slot, first, last, keep = (int(v) for v in state[:4])
                assert held[slot] == first     # the snapshot holds the carry entering `first`
                recomputed += last - first
                if keep >= 0:
                    assert 0 < keep <= snapshots
                    held[keep] = last
                else:
                    walked.append(last)
            assert walked == expected == list(range(n - 1, -1, -1))
            assert recomputed == source.recomputed == revolve_cost(n, snapshots) \
                == revolve.recomputations(n, snapshots), (n, snapshots)
    assert revolve.recomputations(200_000, 50) == revolve_cost(200_000, 50)


def ckpt_fori(theta, x0, n, k):
    """A closed-over parameter (theta) and an integer in the carry (the counter)."""
    return np.sum(sg.fori_loop(0, n, lambda i, x: np.tanh(x * theta + 0.1 * i) + 0.2 * x, x0,
                               checkpoints=k) ** 2)


def ckpt_scan(theta, x0, xs, k, reverse=False):
    def step(c, x):
        c = np.tanh(c * theta + x)
        return c, np.sum(c ** 2)
    c, ys = sg.scan(step, x0, xs, reverse=reverse, checkpoints=k)
    return np.sum(c ** 2) + np.sum(ys * np.arange(1.0, 1 + xs.shape[0]))


def ckpt_while(a, x0, k):
    def body(state):
        j, x = state
        return j + 1, x * a + 0.25 * np.sin(x)
    j, x = sg.while_loop(lambda s: np.sum(s[1] ** 2) < 50.0, body, (0, x0), checkpoints=k)
    return np.sum(x) * j


def ckpt_wide(theta, u0, k):
    """A 40-element carry: whole arrays in the snapshots, not scalars."""
    return np.sum(sg.fori_loop(0, 9, lambda i, u: np.sin(u * theta) + 0.5 * np.roll(u, 1), u0,
                               checkpoints=k) ** 2)


U0 = RNG.normal(size=40)
XS9 = RNG.normal(size=(9, 3))

CHECKPOINTED_CASES = {
    # k smaller and larger than n, k = 1, n = 0 and n = 1
    "fori_loop k=2": (ckpt_fori, (THETA, X0), dict(n=7, k=2)),
    "fori_loop k=1": (ckpt_fori, (THETA, X0), dict(n=7, k=1)),
    "fori_loop k>n": (ckpt_fori, (THETA, X0), dict(n=4, k=6)),
    "fori_loop n=1": (ckpt_fori, (THETA, X0), dict(n=1, k=2)),
    "fori_loop n=0": (ckpt_fori, (THETA, X0), dict(n=0, k=2)),
    "scan xs": (ckpt_scan, (THETA, X0, XS9), dict(k=3)),
    "scan xs reverse": (ckpt_scan, (THETA, X0, XS9), dict(k=2, reverse=True)),
    "while_loop": (ckpt_while, (A, W0), dict(k=2)),
    "while_loop k=1": (ckpt_while, (A, W0), dict(k=1)),
    "wide carry": (ckpt_wide, (np.array(0.7), U0), dict(k=3)),
}


@pytest.mark.parametrize("case", list(CHECKPOINTED_CASES))
def test_compiled_checkpointed_gradients(case, numba_backend):
    """Compiled with checkpoints=k: equal to the compiled stored tape (the same
    body recomputes the same carries), to the interpreter's checkpointed and
    stored gradients to rounding, and to finite differences."""
    fun, args, options = CHECKPOINTED_CASES[case]
    argnums = tuple(range(len(args)))
    checkpointed = sg.grad(functools.partial(fun, **options), argnums)
    stored = sg.grad(functools.partial(fun, **dict(options, k=None)), argnums)
    source = checkpointed.lower(*args).source
    assert "revolve_next(" in source and "tape" not in source   # no stored carries
    checkpointed.compile(*args)       # raises when there is no kernel
    stored.compile(*args)
    got, want = checkpointed(*args), stored(*args)
    sg.config.backend = "interpreter"
    interpreted = sg.grad(functools.partial(fun, **options), argnums)(*args)
    interpreted_stored = sg.grad(functools.partial(fun, **dict(options, k=None)), argnums)(*args)
    sg.config.backend = "numba"
    fd = central_differences(functools.partial(fun, **options), args)
    for g, w, i, s, d in zip(got, want, interpreted, interpreted_stored, fd):
        np.testing.assert_array_equal(g, w)
        close(g, i)
        close(g, s)
        np.testing.assert_allclose(g, d, rtol=1e-6, atol=1e-7)


def test_compiled_checkpointed_loop_with_traced_bounds_serves_every_trip_count(numba_backend):
    """The schedule is made at run time: one kernel for every trip count."""
    def f(theta, x0, n):
        return ckpt_fori(theta, x0, n, 3)

    g = sg.grad(f)
    g.compile(THETA, X0, np.int64(4))
    for n in (0, 1, 2, 4, 11, 30):
        sg.config.backend = "interpreter"
        expected = sg.grad(functools.partial(ckpt_fori, n=n, k=None))(THETA, X0)
        sg.config.backend = "numba"
        close(g(THETA, X0, np.int64(n)), expected)
    assert g.cache_info().specializations == 1


def test_compiled_checkpointed_vjp_value_and_grad_and_hvp(numba_backend):
    fun = functools.partial(ckpt_scan, xs=XS9, k=2)
    stored = functools.partial(ckpt_scan, xs=XS9, k=None)
    v = RNG.normal(size=3)
    value, grad = sg.value_and_grad(fun)(THETA, X0)
    close(value, stored(THETA, X0))
    close(grad, sg.grad(stored)(THETA, X0))
    vjp = sg.jit(lambda theta, x0: sg.vjp(fun, theta, x0)[1](1.0))
    vjp.compile(THETA, X0)
    for a, b in zip(vjp(THETA, X0), sg.grad(stored, (0, 1))(THETA, X0)):
        close(a, b)
    hvp = sg.hvp(fun)
    hvp.compile(THETA, X0, v)         # forward over reverse compiles too
    close(hvp(THETA, X0, v), sg.hvp(stored)(THETA, X0, v))


def test_compiled_checkpointed_second_reverse_derivative_falls_back(caplog, numba_backend):
    """sg.hessian (reverse over reverse) reads a checkpointed tape recomputed
    from another one: the interpreter runs it, with a warning naming why."""
    fun = functools.partial(ckpt_fori, n=5, k=2)
    expected = sg.hessian(fori_unrolled)(THETA, X0)
    with caplog.at_level(logging.WARNING, logger="staticgrad"):
        close(sg.hessian(fun)(THETA, X0), expected)
    assert "checkpointed tape recomputed from another checkpointed tape" in caplog.text


def test_loops_compute_only_the_outputs_that_are_used():
    def f(theta, x0):
        c, ys = sg.scan(lambda c, x: (np.tanh(c * theta + x), np.sum(c ** 2)), x0, XS)
        return np.sum(c)  # ys unused; and only theta differentiated below

    graph = sg.grad(f).trace(THETA, X0).ir
    loops = {graph.attrs(n)["name"].split("(")[0]: graph.attrs(n)
             for n in graph.nodes() if graph.op(n) == "loop"}
    forward, adjoint = loops["scan"], loops["adjoint of scan"]
    assert len(forward["body"].outputs) == forward["n_carry"] == 1      # no ys
    # carries: the cotangents of the carry and of theta; no cotangent of xs stacked
    assert adjoint["n_carry"] == 2 and len(adjoint["body"].outputs) == 2
    close(sg.grad(f)(THETA, X0), sg.grad(scan_unrolled_carry)(THETA, X0))


def scan_unrolled_carry(theta, x0):
    c = x0
    for x in XS:
        c = np.tanh(c * theta + x)
    return np.sum(c)


def test_a_transform_inside_a_loop_body():
    """Leapfrog steps calling sg.grad of a potential: grad inside the body,
    and derivatives of the whole integrator to second order."""
    grad_potential = sg.grad(lambda q: np.sum(q ** 4) / 4)
    p0 = np.array([0.3, 0.2, -0.1])

    def integrate(q, steps=8, eps=0.1):
        def body(i, state):
            q, p = state
            p = p - eps * grad_potential(q)
            return q + eps * p, p
        return sg.fori_loop(0, steps, body, (q, p0))

    def unrolled(q, steps=8, eps=0.1):
        p = p0
        for _ in range(steps):
            p = p - eps * grad_potential(q)
            q = q + eps * p
        return q, p

    for a, b in zip(sg.jit(integrate)(X0), unrolled(X0)):
        close(a, b)

    def loss(q):
        return np.sum(integrate(q)[0] ** 2)

    def loss_unrolled(q):
        return np.sum(unrolled(q)[0] ** 2)

    close(sg.grad(loss)(X0), sg.grad(loss_unrolled)(X0))
    close(sg.hessian(loss)(X0), sg.hessian(loss_unrolled)(X0))


def test_cond_branches_closing_over_values_run_only_when_taken():
    """Work a branch does on captured values stays in the branch: the other
    branch's sqrt of a negative number must not reach the gradient."""
    def f(x):
        return sg.cond(x > 0, lambda: np.sqrt(x) * 2.0, lambda: np.sqrt(-x))

    for x in (4.0, -9.0):
        g = sg.grad(f)(np.float64(x))
        assert np.isfinite(g)
        close(g, 1.0 / np.sqrt(x) if x > 0 else -0.5 / np.sqrt(-x))
        close(sg.jit(f)(np.float64(x)), f(x))


def test_a_value_leaked_out_of_a_body_is_an_error():
    leaked = []

    def body(i, x):
        leaked.append(x * 1.0)
        return x * 2.0

    def f(x):
        return sg.fori_loop(0, 3, body, x) + leaked[-1]

    with pytest.raises(sg.UnsupportedOperationError, match=r"inside the body of fori_loop"):
        sg.jit(f)(X0)

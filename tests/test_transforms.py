"""The functional API: transforms, their composition, control flow and errors.

Reference gradients come from hand-derived formulas and central finite
differences, never from staticgrad itself. The suite waits for kernels
(``sg.config.compile_in_background`` off, tests/conftest.py), so on the numba
backend even a function's first call answers from its kernel.
"""
import numpy as np
import pytest

import staticgrad as sg


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of a scalar function of one array."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = eps
        g[k] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosen_hess(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


def logistic_nll(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0, z) - y * z)


def mlp_loss(params, X, Y):
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - Y) ** 2)


def mlp_grads_by_hand(params, X, Y):
    W1, b1, W2, b2 = params
    a = X @ W1 + b1
    h = np.tanh(a)
    out = h @ W2 + b2
    d_out = 2 * (out - Y) / out.size
    dW2 = h.T @ d_out
    db2 = d_out.sum(0)
    d_a = (d_out @ W2.T) * (1 - h ** 2)
    return X.T @ d_a, d_a.sum(0), dW2, db2


@pytest.fixture(params=["interpreter", "numba"])
def backend(request):
    old = sg.config.backend
    sg.config.backend = request.param
    yield request.param
    sg.config.backend = old


rng = np.random.default_rng(0)
X_LR = rng.normal(size=(50, 4))
Y_LR = (rng.uniform(size=50) < 0.5).astype(float)
MLP = [rng.normal(size=s) * 0.5 for s in [(6, 8), (8,), (8, 3), (3,)]]
X_MLP, Y_MLP = rng.normal(size=(20, 6)), rng.normal(size=(20, 3))


# -- reference workloads, on both backends ---------------------------------
def test_rosenbrock_gradient(backend):
    x = rng.normal(size=7)
    np.testing.assert_allclose(sg.grad(rosen)(x), rosen_grad(x), rtol=1e-12)


def test_logistic_regression_value_and_grad(backend):
    w, b = rng.normal(size=4), 0.3
    value, (gw, gb) = sg.value_and_grad(logistic_nll, argnums=(0, 1))(w, b, X_LR, Y_LR)
    p = 1 / (1 + np.exp(-(X_LR @ w + b)))
    np.testing.assert_allclose(value, logistic_nll(w, b, X_LR, Y_LR), rtol=1e-12)
    np.testing.assert_allclose(gw, X_LR.T @ (p - Y_LR) / len(Y_LR), rtol=1e-10)
    np.testing.assert_allclose(gb, np.mean(p - Y_LR), rtol=1e-10)


def test_mlp_gradients_match_hand_derivation(backend):
    grads = sg.grad(mlp_loss)(tuple(MLP), X_MLP, Y_MLP)
    assert isinstance(grads, tuple) and len(grads) == 4
    for got, want in zip(grads, mlp_grads_by_hand(MLP, X_MLP, Y_MLP)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def d2l(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def test_control_flow_gradient_every_path(backend):
    g = sg.grad(d2l)
    seen = set()
    for k in range(20):  # inputs taking 0 .. 19 loop iterations, both signs
        for sign in (1.0, -1.0):
            a = np.float64(sign * 1000.0 / 2 ** (k + 1) * 1.3)
            d = d2l(a)
            np.testing.assert_allclose(g(a), d / a, rtol=1e-12)
            seen.add((k, sign))
    traces = g.cache_info().traces
    assert 2 <= traces <= len(seen)
    for k, sign in sorted(seen):  # every path again: no retrace
        a = np.float64(sign * 1000.0 / 2 ** (k + 1) * 1.3)
        np.testing.assert_allclose(g(a), d2l(a) / a, rtol=1e-12)
    assert g.cache_info().traces == traces


# -- composition ---------------------------------------------------------
def test_grad_of_grad_is_a_graph():
    assert sg.grad(sg.grad(lambda t: t ** 3))(2.0) == pytest.approx(12.0)
    assert sg.grad(sg.grad(sg.grad(lambda t: np.sin(t))))(0.3) == pytest.approx(-np.cos(0.3))


def test_jacobian_of_grad_is_hessian():
    x = rng.normal(size=5)
    H = sg.hessian(rosen)(x)
    np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-12)
    np.testing.assert_allclose(sg.jacobian(sg.grad(rosen))(x), H, rtol=1e-12)


def test_hvp_equals_hessian_times_v():
    x, v = rng.normal(size=6), rng.normal(size=6)
    np.testing.assert_allclose(sg.hvp(rosen)(x, v), rosen_hess(x) @ v, rtol=1e-12)


def test_jit_of_grad_and_grad_of_jit():
    x = rng.normal(size=5)
    np.testing.assert_allclose(sg.jit(sg.grad(rosen))(x), rosen_grad(x), rtol=1e-12)
    np.testing.assert_allclose(sg.grad(sg.jit(rosen))(x), rosen_grad(x), rtol=1e-12)


def test_jit_decorator_forms():
    @sg.jit
    def f(x):
        return np.sin(x) * 2

    @sg.jit(static_argnums=1)
    def g(x, n):
        for _ in range(n):
            x = x * 2
        return x

    x = rng.normal(size=3)
    np.testing.assert_allclose(f(x), np.sin(x) * 2)
    np.testing.assert_allclose(g(x, 3), x * 8)
    np.testing.assert_allclose(g(x, 1), x * 2)
    assert g.cache_info().specializations == 2


def test_vjp_weights_outputs_like_grad_tensors():
    x = rng.normal(size=4)
    weights = np.array([0.1, 1.0, 0.0001, 3.0])
    out, vjp_fn = sg.vjp(lambda x: x ** 2, x)
    np.testing.assert_allclose(out, x ** 2)
    (g,) = vjp_fn(weights)
    np.testing.assert_allclose(g, 2 * x * weights)


def test_vjp_several_primals():
    x, y = rng.normal(size=3), rng.normal(size=(2, 3))
    out, vjp_fn = sg.vjp(lambda x, y: np.sin(x) * y, x, y)
    ct = rng.normal(size=(2, 3))
    gx, gy = vjp_fn(ct)
    np.testing.assert_allclose(gx, np.sum(ct * y * np.cos(x), axis=0))
    np.testing.assert_allclose(gy, ct * np.sin(x))


def test_jvp_matches_finite_differences():
    x, v = rng.normal(size=5), rng.normal(size=5)
    f = lambda x: np.tanh(x) * np.sum(x ** 2)  # noqa: E731
    out, t = sg.jvp(f, (x,), (v,))
    eps = 1e-6
    np.testing.assert_allclose(out, f(x))
    np.testing.assert_allclose(t, (f(x + eps * v) - f(x - eps * v)) / (2 * eps), rtol=1e-6)


def test_jacobian_forward_and_reverse_agree_with_fd():
    wide = lambda x: np.concatenate([np.sin(x), x[:2] * x[1:3]])  # noqa: E731 (out > in)
    narrow = lambda x: np.stack([np.sum(x ** 2), np.prod(x)])  # noqa: E731 (out < in)
    x = rng.normal(size=4)
    for f in (wide, narrow):
        J = sg.jacobian(f)(x)
        fd = np.stack([fd_grad(lambda z, i=i: f(z)[i], x) for i in range(len(f(x)))])
        np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)


def test_argnums_and_has_aux():
    f = lambda x, y: (np.sum(x * y), {"norm": np.sum(x ** 2)})  # noqa: E731
    x, y = rng.normal(size=3), rng.normal(size=3)
    (gx, gy), aux = sg.grad(f, argnums=(0, 1), has_aux=True)(x, y)
    np.testing.assert_allclose(gx, y)
    np.testing.assert_allclose(gy, x)
    np.testing.assert_allclose(aux["norm"], np.sum(x ** 2))
    (value, aux), g = sg.value_and_grad(f, has_aux=True)(x, y)
    np.testing.assert_allclose(value, np.sum(x * y))
    np.testing.assert_allclose(g, y)


def test_same_argument_twice_gets_separate_gradients():
    x = rng.normal(size=3)
    gx, gy = sg.grad(lambda a, b: np.sum(a * b ** 2), argnums=(0, 1))(x, x)
    np.testing.assert_allclose(gx, x ** 2)
    np.testing.assert_allclose(gy, 2 * x * x)


def test_gradient_of_a_constant_function_is_zero():
    np.testing.assert_array_equal(sg.grad(lambda x: 3.0)(np.ones(3)), np.zeros(3))


def test_float32_stays_float32():
    x = rng.normal(size=4).astype(np.float32)
    g = sg.grad(lambda x: np.sum(x ** 2 * 0.5))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, x, rtol=1e-6)


def test_numpy_surface_inside_traced_functions():
    def f(x, w):
        h = np.maximum(x @ w, 0.1 * (x @ w))
        h = np.clip(h, -2, 2)
        z = np.concatenate([h, h[:, ::-1]], axis=1)
        z = np.stack([z, z ** 2]).sum(axis=0, keepdims=True)
        z = np.where(z > 0, z, np.exp(z) - 1)
        return np.mean(z.T[[0, 2, 2]]) + x.reshape(-1).max() + np.linalg.norm(w)

    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(sg.jit(f)(x, w), f(x, w))
    gw = sg.grad(f, argnums=1)(x, w)
    np.testing.assert_allclose(gw, fd_grad(lambda w: f(x, w), w), rtol=1e-5, atol=1e-7)


def test_guard_retraces_instead_of_wrong_result():
    def f(x):
        return np.sum(x ** 2) if np.sum(x) > 0 else np.sum(np.sin(x))

    g = sg.grad(f)
    pos, neg = np.ones(3), -np.ones(3)
    np.testing.assert_allclose(g(pos), 2 * pos)
    np.testing.assert_allclose(g(neg), np.cos(neg))
    np.testing.assert_allclose(g(pos), 2 * pos)
    info = g.cache_info()
    assert info.traces == 2 and len(info.retraces) == 1 and "test_transforms.py" in info.retraces[0]
    assert info.hits == 1


def test_value_guard_limit_names_the_source_line():
    @sg.jit
    def f(x, n):
        return x * float(n)  # a value guard: one specialisation per value of n

    x = np.ones(2)
    with pytest.raises(sg.RetraceLimitError, match=r"test_transforms.py:\d+"):
        for k in range(sg.config.max_specializations + 2):
            np.testing.assert_allclose(f(x, np.float64(k)), x * k)


# -- bad input: clear errors of documented types ---------------------------
def test_integer_input_to_grad():
    with pytest.raises(TypeError, match="dtype int"):
        sg.grad(lambda x: np.sum(x * 1.0))(np.arange(3))
    with pytest.raises(sg.IntegerInputError):
        sg.grad(lambda x: x * 1.0)(3)


def test_non_scalar_output_to_grad():
    with pytest.raises(TypeError, match=r"scalar output.*\(3,\)"):
        sg.grad(lambda x: x ** 2)(np.ones(3))


def test_unsupported_numpy_function_is_named():
    with pytest.raises(sg.UnsupportedOperationError, match="np.fft.rfft"):
        sg.grad(lambda x: np.sum(np.fft.rfft(x).real))(np.ones(3))
    with pytest.raises(sg.UnsupportedOperationError, match="np.linalg.eig"):
        sg.jit(lambda x: np.linalg.eig(x))(np.eye(2))


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(sg.ShapeError, match=r"add.*\(3,\).*\(4,\)"):
        sg.jit(lambda x, y: x + y)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(2, 3\)"):
        sg.grad(lambda a, b: np.sum(a @ b))(np.ones((2, 3)), np.ones((2, 3)))


def test_inplace_mutation_of_input_is_an_error():
    def f(x):
        x[0] = 0.0
        return np.sum(x)

    x = np.ones(3)
    with pytest.raises(sg.InPlaceMutationError, match="input"):
        sg.grad(f)(x)
    with pytest.raises(sg.InPlaceMutationError):
        sg.jit(lambda x: x.__iadd__(1.0))(x)
    np.testing.assert_array_equal(x, np.ones(3))


def test_update_of_a_copy_is_functional_and_differentiable():
    def f(x):
        y = x.copy()
        y[1:] = y[1:] * 3
        y[0] = x[2] ** 2
        return np.sum(y * x)

    x = rng.normal(size=4)
    exact = np.array([x[2] ** 2, 6 * x[1], 2 * x[0] * x[2] + 6 * x[2], 6 * x[3]])
    np.testing.assert_allclose(sg.grad(f)(x), exact, rtol=1e-12)


def test_update_of_an_index_view_writes_through_as_in_numpy():
    def f(x):
        y = x * 1.0
        v = y[1:]
        v[0] = 5.0
        return np.sum(y)

    assert sg.jit(f)(np.ones(3)) == f(np.ones(3)) == 7.0


def test_update_of_a_reshaped_view_is_an_error():
    def f(x):
        y = x * 1.0
        v = y.reshape(3, 1)
        v[0] = 5.0
        return np.sum(y)

    with pytest.raises(sg.InPlaceMutationError, match="view"):
        sg.jit(f)(np.ones(3))


def test_storing_a_traced_value_into_a_numpy_array_is_an_error():
    def f(x):
        out = np.zeros(2)
        out[0] = x[0] ** 2
        return np.sum(out)

    # NumPy re-raises errors of element conversion as its own ValueError; the
    # transform turns it back into ours, which says what happened.
    with pytest.raises(sg.TracerConversionError, match="stored into a NumPy array") as info:
        sg.grad(f)(np.ones(2))
    assert "float()" in str(info.value.__cause__.__cause__)


_ASARRAY = np.asarray  # bound before any trace: the C function, not staticgrad's stand-in


def test_conversion_to_array_is_an_error():
    with pytest.raises(sg.TracerConversionError, match="np.stack"):
        sg.grad(lambda x: np.sum(_ASARRAY(x)))(np.ones(2))
    # np.asarray looked up while tracing is staticgrad's
    np.testing.assert_allclose(sg.grad(lambda x: np.sum(np.asarray(x) ** 2))(np.ones(2)), [2, 2])


def test_trace_exposes_networkx_graph_and_dot():
    import networkx as nx

    traced = sg.grad(rosen).trace(np.ones(4))
    assert isinstance(traced.graph, nx.DiGraph)
    assert nx.is_directed_acyclic_graph(traced.graph)
    ops = {d["op"] for _, d in traced.graph.nodes(data=True)}
    assert {"param", "mul", "index", "scatter_add"} <= ops
    assert traced.to_dot().startswith("digraph")

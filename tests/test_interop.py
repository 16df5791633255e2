"""Compiled gradients called from the user's own @numba.njit code."""
import os
import tempfile

import numba
import numpy as np
import pytest

os.environ.setdefault("STATICGRAD_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"staticgrad-tests-{os.getuid()}"))

import staticgrad as sg  # noqa: E402


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


X0 = np.array([-1.2, 1.0, -0.5, 0.8])
VALUE_AND_GRAD = sg.value_and_grad(rosenbrock).compile(X0)


def test_gradient_descent_written_in_numba():
    grad = sg.grad(rosenbrock).compile(X0).numba_function

    @numba.njit
    def descend(x, steps, rate):
        for _ in range(steps):
            x = x - rate * grad(x)
        return x

    x = descend(X0.copy(), 200, 1e-4)
    # the same loop in Python with the analytic gradient
    y = X0.copy()
    for _ in range(200):
        y = y - 1e-4 * rosenbrock_grad(y)
    np.testing.assert_allclose(x, y, rtol=1e-10)
    assert rosenbrock(x) < rosenbrock(X0)


def test_several_outputs_come_back_as_a_tuple_with_float_values():
    @numba.njit
    def call(f, x):
        return f(x)

    value, grad = call(VALUE_AND_GRAD.numba_function, X0)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, rosenbrock(X0), rtol=1e-12)
    np.testing.assert_allclose(grad, rosenbrock_grad(X0), rtol=1e-12)
    assert "def entry(a0)" in VALUE_AND_GRAD.source


def test_a_failed_guard_raises_inside_numba():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x ** 2)
        return np.sum(-x)

    compiled = sg.grad(f).compile(np.ones(3))
    np.testing.assert_allclose(compiled.numba_function(np.ones(3)), 2 * np.ones(3))
    with pytest.raises(ValueError, match="test_interop.py"):
        compiled.numba_function(-np.ones(3))


def test_low_level_callables_for_scipy():
    import scipy.integrate
    import scipy.ndimage

    gauss = sg.jit(lambda t, a: np.exp(-a * t * t)).compile(0.5, 2.0)
    value, _ = scipy.integrate.quad(gauss.low_level_callable(), 0.0, 1.0, args=(2.0,))
    np.testing.assert_allclose(value, scipy.integrate.quad(lambda t: np.exp(-2 * t * t), 0, 1)[0],
                               rtol=1e-12)

    stencil = sg.jit(lambda w: np.sum(w * np.array([1.0, -2.0, 1.0]) ** 2)).compile(np.ones(3))
    signal = np.random.default_rng(0).random(50)
    np.testing.assert_allclose(
        scipy.ndimage.generic_filter(signal, stencil.low_level_callable(), size=3),
        scipy.ndimage.generic_filter(signal, lambda w: w[0] + 4 * w[1] + w[2], size=3))

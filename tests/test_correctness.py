"""A correct number or a clear error: the reproducers of issue 14.

Every fix holds on the reference interpreter and on the compiled kernel, on
the first call of a specialisation (answered from the trace) and on later
calls (the kernel): each test calls its function at least twice per backend.
"""
import numpy as np
import pytest

import staticgrad as sg
from staticgrad.errors import UnsupportedOperationError

BACKENDS = ["interpreter", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    saved = sg.config.backend
    sg.config.backend = request.param
    yield request.param
    sg.config.backend = saved


def _twice(f, *args):
    """f(*args) on the first and on a later call: both must agree."""
    first = f(*args)
    later = f(*args)
    np.testing.assert_allclose(later, first)
    return later


# -- 2. out-of-bounds integer indices -----------------------------------------------
def _sum_sq_at(x, i):
    return np.sum(x[i] ** 2)


def test_index_argument_out_of_bounds_raises(backend):
    g = sg.grad(_sum_sq_at)
    x = np.arange(5.0)
    for _ in range(2):  # at trace time, then from the kernel
        with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
            g(x, np.array([7]))
    np.testing.assert_allclose(_twice(g, x, np.array([1])), [0, 2, 0, 0, 0])
    for bad in ([7], [1, -6], [5]):
        for _ in range(2):
            with pytest.raises(IndexError, match=f"index {bad[-1]} is out of bounds"):
                g(x, np.array(bad))


def test_negative_index_arguments_wrap_as_in_numpy(backend):
    g = sg.grad(_sum_sq_at)
    x = np.arange(5.0)
    expected = np.zeros(5)
    np.add.at(expected, np.array([-1, 2, -5]) % 5, 2 * x[np.array([-1, 2, -5])])
    _twice(g, x, np.array([0, 1, 2]))
    np.testing.assert_allclose(_twice(g, x, np.array([-1, 2, -5])), expected)


def test_index_bounds_inside_numba_function():
    f = sg.grad(_sum_sq_at).compile(np.arange(5.0), np.array([1]))
    np.testing.assert_allclose(f.numba_function(np.arange(5.0), np.array([-1])), [0, 0, 0, 0, 8])
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
        f.numba_function(np.arange(5.0), np.array([7]))


def test_index_update_out_of_bounds_raises(backend):
    def f(x, i, v):
        y = x.copy()
        y[1:, i] = v
        return np.sum(y ** 2)

    g = sg.grad(f, argnums=2)
    x, v = np.ones((3, 4)), np.ones((2, 2))
    _twice(g, x, np.array([0, -1]), v)
    for _ in range(2):
        with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
            g(x, np.array([0, 4]), v)


def test_constant_index_arrays_and_ints_are_checked_at_trace_time():
    captured = np.array([0, 9])
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 0 with size 5"):
        sg.jit(lambda x: x[captured])(np.arange(5.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        sg.jit(lambda x: x[:, 3])(np.ones((2, 3)))
    negative = np.array([-1, -5])
    np.testing.assert_allclose(sg.jit(lambda x: x[negative])(np.arange(5.0)), [4, 0])

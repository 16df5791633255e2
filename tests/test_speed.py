"""The steady-state fast paths: the hot path's entry point, reductions, float32 kernels."""
import math

import numpy as np
import pytest

import staticgrad as sg


def _sumsq(x):
    return np.sum(x ** 2)


def test_hot_path_keeps_layout_and_dtype_apart():
    # The hot path calls the kernel's entry point without type checks: an array
    # of another dtype, a non-contiguous view or another shape must not reach it.
    f = sg.value_and_grad(_sumsq)
    x = np.linspace(-1.0, 1.0, 12)
    for _ in range(2):
        value, g = f(x)
        assert isinstance(value, np.float64)
        np.testing.assert_allclose(g, 2 * x)
    strided = x[::2]
    for _ in range(2):
        value, g = f(strided)
        np.testing.assert_allclose(value, np.sum(strided ** 2))
        np.testing.assert_allclose(g, 2 * strided)
    x32 = x.astype(np.float32)
    for _ in range(2):
        value, g = f(x32)
        assert g.dtype == np.float32 and value.dtype == np.float32
        np.testing.assert_allclose(g, 2 * x32, rtol=1e-6)
    value, g = f(x)
    np.testing.assert_allclose(g, 2 * x)

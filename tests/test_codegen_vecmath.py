"""The code generator's use of compiler/codegen/vecmath.py: vm_ calls in loops
long enough to vectorise, libm in straight-line code, short loops and with
``vector_math=False``; compiled results within vecmath's ulp bound of the
reference interpreter; the libm rerun of a loop whose sin/cos met an input
beyond vecmath's exact range."""
from __future__ import annotations

import math

import numpy as np
import pytest

import staticgrad as sg
from compiler.codegen import compile_graph, generate_source, vecmath
from compiler.codegen.source import VECTOR_MATH_OPS, Generator
from compiler.interpreter import Interpreter

MAX_ULP = 4.0   # vecmath's documented bound against NumPy
LONG = Generator.VECTOR_MATH_TRIP_COUNT * 4


def every_op(x):
    return (np.exp(x), np.expm1(x), np.log(x), np.log1p(x), np.tanh(x), sg.sigmoid(x),
            np.sin(x), np.cos(x))


def _ulp(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    return np.max(np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want)))


def _libm(scalar_function, x):
    """What the C library computes element by element (Numba's np.sin of a scalar)."""
    return np.array([scalar_function(float(v)) for v in x])


def test_the_generator_names_vecmaths_ops():
    assert VECTOR_MATH_OPS == set(vecmath.VECTOR_MATH)


def _graph(function, *args):
    return sg.jit(function).lower(*args).graph


def test_long_loops_call_vecmath_and_straight_line_code_keeps_libm():
    x = np.linspace(0.1, 3.0, LONG)
    long = generate_source(_graph(every_op, x))
    for name in ("vm_exp(", "vm_expm1(", "vm_log(", "vm_log1p(", "vm_tanh(", "vm_sin(",
                 "vm_cos("):
        assert name in long, name
    assert "numba.objmode" not in long   # fused, not NumPy's ufunc loops
    short = generate_source(_graph(every_op, x[:8]))           # unrolled: straight-line
    assert "vm_" not in short and "np.exp(" in short and "np.sin(" in short
    narrow = generate_source(_graph(every_op, np.ones((LONG, 3))))   # inner loop of 3
    assert "vm_" not in narrow and "np.tanh(" in narrow
    off = generate_source(_graph(every_op, x), vector_math=False)
    assert "vm_" not in off and "outside" not in off and "np.log1p(" in off


def test_config_turns_vector_math_off():
    x = np.linspace(0.1, 3.0, LONG)
    saved = sg.config.vector_math
    try:
        sg.config.vector_math = False
        f = sg.jit(lambda x: np.exp(np.sin(x)))
        assert "vm_" not in f.lower(x).source
        compiled = f.compile(x)
        assert "vm_" not in compiled.source and "vecmath" not in compiled.source
        np.testing.assert_array_equal(f(x), _libm(lambda v: math.exp(math.sin(v)), x))
        np.testing.assert_array_equal(f(x), compiled(x)[0])
    finally:
        sg.config.vector_math = saved


@pytest.fixture(scope="module")
def every_op_compiled():
    x = np.linspace(0.05, 4.0, LONG)
    graph = _graph(every_op, x)
    return graph, compile_graph(graph, name="every vecmath op")


def test_compiled_vector_math_is_within_the_ulp_bound_of_the_interpreter(every_op_compiled):
    graph, compiled = every_op_compiled
    assert "vm_exp(" in compiled.source
    # the module imports vecmath and names its hash (renaming the cached module)
    assert vecmath.IMPORT_LINE in compiled.source and vecmath.SOURCE_HASH in compiled.source
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.uniform(1e-6, 50.0, LONG - 8), [1e-300, 5e-324, 0.5, 700.0,
                                                            1e5, 8e5, np.inf, 1.0]])
    with np.errstate(all="ignore"):
        want = Interpreter(graph)(x)
    got = compiled(x)
    for k, (g, w) in enumerate(zip(got, want)):
        finite = np.isfinite(w)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=f"output {k}")
        np.testing.assert_array_equal(g[~finite & ~np.isnan(w)], w[~finite & ~np.isnan(w)])
        assert _ulp(g[finite], w[finite]) <= MAX_ULP, k


def test_vector_math_and_libm_kernels_are_cached_apart(every_op_compiled):
    graph, compiled = every_op_compiled
    assert compile_graph(graph, name="every vecmath op") is compiled
    libm = compile_graph(graph, name="every vecmath op", vector_math=False)
    assert libm is not compiled and "vm_" not in libm.source


def test_float32_stays_float32_with_vector_math():
    x = np.linspace(0.05, 4.0, LONG, dtype=np.float32)
    f = sg.jit(lambda x: np.log1p(np.exp(x)) * np.cos(x))
    source = f.lower(x).source
    assert "np.float32(vm_exp(np.float64(" in source and "vm_cos(" in source
    got = f.compile(x)(x)[0]
    want = (np.log1p(np.exp(x)) * np.cos(x))
    assert got.dtype == np.float32
    assert _ulp(got, want) <= 3 * MAX_ULP   # three ops, each within the bound


def test_gradient_of_a_chain_matches_the_interpreter():
    def chain(x):
        return np.sum(np.tanh(np.exp(np.sin(x)) + np.log1p(x * x)))
    x = np.linspace(-3.0, 3.0, LONG)
    f = sg.value_and_grad(chain)
    graph = f.lower(x).graph
    f(x)
    value, grad = f(x)   # the second call answers from the kernel
    want_value, want_grad = Interpreter(graph)(x)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)
    assert "vm_tanh(" in f.lower(x).source


def test_sin_of_a_huge_argument_in_a_long_loop_reruns_with_libm():
    f = sg.jit(lambda x: np.sin(x) + np.cos(2 * x))
    x = np.linspace(-3.0, 3.0, LONG)
    source = f.lower(x).source
    assert "vm_sin(" in source and "sin_cos_in_range(" in source and "if outside_" in source
    compiled = f.compile(x)
    np.testing.assert_allclose(compiled(x)[0], np.sin(x) + np.cos(2 * x), rtol=0, atol=1e-15)
    x[17] = 1e10                       # beyond vecmath's range: vm_sin gives nan there
    assert np.isnan(vecmath.vm_sin(1e10))
    got = compiled(x)[0]
    np.testing.assert_array_equal(got, _libm(lambda v: math.sin(v) + math.cos(2 * v), x))
    assert np.isfinite(got).all()

"""The steady-state fast paths: the hot path's entry point, reductions, float32 kernels."""
import math
import re

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


def _heat(f, *args):
    """Call f often enough (twice HOT_AFTER) that its specialisation for args is hot."""
    from staticgrad.transforms import HOT_AFTER

    for _ in range(2 * HOT_AFTER + 2):
        result = f(*args)
    return result


def test_hot_entry_answers_repeated_calls_and_misses_to_the_full_path():
    # After a run of calls with one signature, the kernel module's hot() is
    # called without any key: Numba's dispatcher checks the types, hot() the
    # shapes. Every other call must still reach its own specialisation.
    f = sg.value_and_grad(_sumsq)
    x = np.linspace(-1.0, 1.0, 12)
    value, g = _heat(f, x)
    assert f._hot is not None
    assert isinstance(value, np.float64)
    np.testing.assert_allclose(value, np.sum(x ** 2))
    np.testing.assert_allclose(g, 2 * x)
    hits = f.cache_info().hits
    f(x)
    assert f.cache_info().hits == hits + 1
    others = [np.linspace(-1.0, 1.0, 13),             # another shape: hot() raises HotMiss
              x.astype(np.float32),                   # another dtype: the dispatcher refuses
              x[::2],                                 # a strided view: layout A
              np.asfortranarray(x.reshape(3, 4)).ravel(order="F")[:12]]
    readonly = x.copy()
    readonly.setflags(write=False)
    others.append(readonly)
    for other in others:
        value, g = f(other)
        np.testing.assert_allclose(value, np.sum(other.astype(np.float64) ** 2), rtol=1e-6)
        np.testing.assert_allclose(g, 2 * other, rtol=1e-6)
        assert g.dtype == other.dtype and g.shape == other.shape
        value, g = _heat(f, x)
        np.testing.assert_allclose(g, 2 * x)


def test_hot_entry_lets_a_failed_guard_retrace():
    def branchy(x):
        return np.sum(x ** 2) if np.sum(x) > 0 else np.sum(np.sin(x))

    f = sg.grad(branchy)
    up = np.linspace(0.1, 1.0, 5)
    np.testing.assert_allclose(_heat(f, up), 2 * up)
    assert f._hot is not None
    np.testing.assert_allclose(f(-up), np.cos(-up))   # the guard fails inside hot()
    np.testing.assert_allclose(f(-up), np.cos(-up))
    np.testing.assert_allclose(f(up), 2 * up)


def test_hot_entry_raises_the_errors_of_the_full_path():
    f = sg.grad(lambda x, i: np.sum(x[i] ** 2))
    x, i = np.linspace(0.0, 1.0, 6), np.array([0, 5, 2])
    expected = np.zeros(6)
    np.add.at(expected, i, 2 * x[i])
    np.testing.assert_allclose(_heat(f, x, i), expected)
    assert f._hot is not None
    with pytest.raises(IndexError):
        f(x, np.array([0, 6, 2]))
    np.testing.assert_allclose(f(x, i), expected)


_total = sg.jit(lambda x: np.sum(x))


@pytest.mark.parametrize("kind", ["uniform", "normal", "spread"])
def test_long_float_sum_is_as_accurate_as_numpy(kind):
    # The kernel sums blocks in vector registers and combines them pairwise:
    # its error against the exactly rounded sum (math.fsum) stays within a few
    # times NumPy's pairwise error, where a sequential sum's grows with n.
    rng = np.random.default_rng(7)
    n = 1_000_003
    x = {"uniform": lambda: rng.uniform(0.0, 1.0, n), "normal": lambda: rng.normal(size=n),
         "spread": lambda: rng.uniform(0.0, 1.0, n) * np.exp(rng.uniform(0.0, 10.0, n))}[kind]()
    _total(x)
    got = float(_total(x))
    exact = math.fsum(x)
    ulp = math.ulp(abs(exact))
    numpy_error = abs(float(np.sum(x)) - exact)
    assert abs(got - exact) <= 4 * numpy_error + 8 * ulp, (got, exact, numpy_error)
    assert "pairwise_push" in _total.lower(x).source and "accumulate(" in _total.lower(x).source


def _logistic32(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def _mlp32(W, b, X):
    return np.mean((np.tanh(X @ W + b) - 0.5) ** 2)


_F32 = np.random.default_rng(5).uniform(-1.0, 1.0, 3000).astype(np.float32)
_FLOAT32_CASES = {
    "rosenbrock": (lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                   (_F32,), 0),
    "chain": (lambda x: np.sum(np.sin(x) * np.exp(-x ** 2) + np.log1p(x ** 2) * np.cos(3 * x)),
              (_F32,), 0),
    "small mean": (lambda x: np.mean(np.tanh(x) ** 2 / 2 + 1), (_F32[:10],), 0),
    "logistic": (_logistic32, (_F32[:20], _F32[:2000].reshape(100, 20),
                               (_F32[:100] > 0).astype(np.float32)), 0),
    "mlp": (_mlp32, (_F32[:60].reshape(10, 6), _F32[:6], _F32[:400].reshape(40, 10)), (0, 1)),
}


@pytest.mark.parametrize("case", sorted(_FLOAT32_CASES))
def test_float32_kernels_stay_float32(case):
    # Numba types a Python float literal, np.float64 and int * float32 as
    # float64: one of them in a float32 kernel silently widens everything it
    # touches. The source has none, and Numba's own typing of the compiled
    # kernel has no float64 variable. (Sums accumulate in float32, as NumPy's
    # do: pairwise blocks keep them accurate, see compiler/codegen/reduction.py.)
    # Vector math is the one deliberate widening: vecmath's kernels compute a
    # float32 op in float64 and round once, np.float32(vm_exp(np.float64(x)));
    # the rest of such a kernel is checked like any other below.
    from compiler.codegen import compile_graph
    fun, args, argnums = _FLOAT32_CASES[case]
    f = sg.value_and_grad(fun, argnums)
    graph = f.lower(*args).graph
    with_vector_math = compile_graph(graph, name=f"float32 {case}", disk=False).source
    widened = re.sub(r"np\.float32\(vm_\w+\(np\.float64\(", "", with_vector_math)
    assert "float64" not in widened.split("def kernel", 1)[1]
    compiled = compile_graph(graph, name=f"float32 {case}", disk=False, vector_math=False)
    source = compiled.source.split("def kernel", 1)[1]
    assert "float64" not in source
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    bare = re.findall(r"(?<![\w.(])\d+\.\d+(?:e[-+]?\d+)?", code)
    assert not bare, bare
    typemap = compiled.kernel.overloads[compiled.signature].type_annotation.typemap
    # (the literal inside np.float32(2.0) is a float64 constant Numba folds)
    wide = {name: str(t) for name, t in typemap.items()
            if "float64" in str(t) and not name.startswith("$const")}
    assert not wide, wide
    value, grads = f(*args)
    assert value.dtype == np.float32
    for g in grads if isinstance(grads, tuple) else (grads,):
        assert g.dtype == np.float32

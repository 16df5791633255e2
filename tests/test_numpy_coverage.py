"""The NumPy census (benchmarks/numpy_census.py): every call is correct (value
against NumPy, gradient against finite differences) or refused by name; the
README's "Supported NumPy" table is the census's own output; errors inside
unsupported NumPy/SciPy functions name them; the names staticgrad stands in
for while tracing are restored afterwards."""
import pathlib
import sys

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats

import staticgrad as sg
from staticgrad.errors import UnsupportedOperationError

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import numpy_coverage  # noqa: E402
from benchmarks.numpy_census import ENTRIES  # noqa: E402

pytestmark = pytest.mark.usefixtures("interpreter_backend")


@pytest.fixture(scope="module")
def census(interpreter_backend):
    return numpy_coverage.census()


def test_census_is_large_enough():
    assert len(ENTRIES) >= 350


def test_no_call_is_silently_wrong(census):
    wrong = {name: why for name, (verdict, why) in census.items() if verdict == "wrong"}
    assert not wrong


def test_at_most_two_unclear_errors(census):
    unclear = {name: why for name, (verdict, why) in census.items() if verdict == "unclear"}
    assert len(unclear) <= 2, unclear


def test_at_least_300_calls_are_correct(census):
    assert numpy_coverage.counts(census)["correct"] >= 300


def test_readme_table_is_the_census(census):
    table = numpy_coverage.readme_section((ROOT / "README.md").read_text())
    assert table == numpy_coverage.readme_table(census), \
        "README table out of date: python benchmarks/numpy_coverage.py --write-readme"


# -- errors name the function ----------------------------------------------------------------
def test_numpy_function_converting_a_traced_list_is_named():
    with pytest.raises(UnsupportedOperationError, match="np.sum"):
        sg.jit(lambda x: np.sum([x, x]))(np.ones(3))


def test_scipy_function_converting_a_traced_value_is_named():
    with pytest.raises(UnsupportedOperationError, match="scipy.linalg.norm"):
        sg.jit(lambda a: scipy.linalg.norm(a))(np.eye(2) * 2)
    with pytest.raises(UnsupportedOperationError, match="scipy.linalg.lu_factor"):
        sg.jit(lambda a: scipy.linalg.lu_factor(a)[0])(np.eye(2) * 2)


def test_scipy_ufunc_is_named_as_scipy():
    with pytest.raises(UnsupportedOperationError, match="scipy.special.i0"):
        sg.jit(lambda x: scipy.special.i0(x))(np.ones(3))


def test_missing_method_is_an_unsupported_attribute():
    @sg.jit
    def f(x):
        return x.tofile("x.bin")
    with pytest.raises(AttributeError, match="tofile"):
        f(np.ones(3))
    with pytest.raises(UnsupportedOperationError, match="tofile"):
        f(np.ones(3))


# -- the stand-ins are scoped to tracing -----------------------------------------------------------
def test_names_are_restored_after_tracing():
    originals = (np.asarray, np.array, np.full, scipy.special.logsumexp,
                 scipy.linalg.solve_triangular)
    f = sg.grad(lambda x: scipy.special.logsumexp(np.asarray([x[0], 2 * x[1]])))
    g = f(np.array([0.3, -0.2]))
    assert (np.asarray, np.array, np.full, scipy.special.logsumexp,
            scipy.linalg.solve_triangular) == originals
    assert "logpdf" not in vars(scipy.stats.norm)
    e = np.exp([0.3, -0.4])
    np.testing.assert_allclose(g, [e[0] / e.sum(), 2 * e[1] / e.sum()])


def test_stand_ins_restore_after_an_error():
    original = np.asarray
    with pytest.raises(ZeroDivisionError):
        sg.jit(lambda x: np.asarray(x) / 0 if 1 / 0 else x)(np.ones(2))
    assert np.asarray is original


# -- conventions -------------------------------------------------------------------------------------
def test_round_has_zero_gradient():
    g = sg.grad(lambda x: np.sum(x - np.round(x, 1)))(np.array([0.23, 1.77]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_sort_gradient_follows_the_permutation():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    w = np.arange(4.0)
    g = sg.grad(lambda x: np.sum(np.sort(x) * w))(x)
    np.testing.assert_array_equal(g, w[np.argsort(np.argsort(x))])


def test_cumprod_gradient_at_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0])
    g = sg.grad(lambda x: np.sum(np.cumprod(x)))(x)
    # d/dx1 of x0 + x0x1 + x0x1x2 + x0x1x2x3 = x0 + x0x2 + x0x2x3 at x = (2, 0, 3, 0)
    np.testing.assert_allclose(g, [1.0, 2 + 6, 0.0, 0.0])


def test_cholesky_gradient_ignores_the_upper_triangle():
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    g = sg.grad(lambda a: np.sum(np.linalg.cholesky(a)))(a)
    assert g[0, 1] == 0.0


# -- the compiled path ---------------------------------------------------------------------------------

def test_composites_compile(numba_backend):
    def f(x, y):
        c = np.cumsum(x) + np.diff(np.pad(x, 1, mode="edge"))[:-1]
        return np.sum(np.einsum("i,ij->j", c, np.outer(x, y)) * np.roll(y, 1)) + np.trapezoid(c)
    x, y = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 3)
    fn = sg.value_and_grad(f, argnums=(0, 1))
    for _ in range(2):  # the second call runs the kernel
        value, (gx, gy) = fn(x, y)
    from benchmarks.numpy_coverage import _finite_differences
    np.testing.assert_allclose(value, f(x, y))
    np.testing.assert_allclose(gx, _finite_differences(f, [x, y], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _finite_differences(f, [x, y], 1), rtol=1e-6, atol=1e-8)
    assert type(fn.compile(x, y).numba_function).__name__ == "CPUDispatcher"


# -- HIPS autograd as an external oracle ---------------------------------------------------------------
def test_gradients_equal_autograds_where_autograd_is_right(census):
    """Where autograd's gradient matches finite differences, staticgrad's
    equals it to 1e-7 (finite differences only check to 1e-4)."""
    autograd = pytest.importorskip("autograd")
    namespace = numpy_coverage._autograd_namespace()
    compared, problems = 0, []
    for entry in ENTRIES:
        if census[entry.name][0] != "correct":
            continue
        if numpy_coverage.autograd_verdict(entry)[0] != "correct":
            continue
        args = entry.inputs()
        weights = numpy_coverage._weights(entry, numpy_coverage._leaves(entry.fun(*args)))
        floats = tuple(numpy_coverage._floating(args))
        ours = sg.grad(numpy_coverage._weighted(entry.fun, weights), argnums=floats)(*args)
        theirs_fn = numpy_coverage._weighted(numpy_coverage._rebind(entry.fun, namespace),
                                             weights)
        theirs = [autograd.grad(theirs_fn, argnum=k)(*args) for k in floats]
        for g, h in zip(ours, theirs):
            if not np.allclose(g, h, rtol=1e-7, atol=1e-9):
                problems.append(entry.name)
        compared += 1
    assert not problems
    assert compared >= 300


def test_float32_inputs_give_numpys_dtypes_and_values(census):
    """Every supported census call on float32 inputs: NumPy's (or SciPy's) result
    dtype and shape, and its values at float32 precision."""
    import warnings
    problems = []
    for k, entry in enumerate(ENTRIES):
        if census[entry.name][0] != "correct":
            continue
        args = [a.astype(np.float32) if a.dtype == np.float64 else a for a in entry.inputs()]
        # every call on the interpreter, every 8th also compiled (a kernel each:
        # all of them compiled cold cost two minutes)
        backends = ("interpreter", "numba") if k % 8 == 0 else ("interpreter",)
        for backend in backends:
            sg.config.backend = backend
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    want = numpy_coverage._leaves(entry.fun(*args))
                    got = numpy_coverage._leaves(sg.jit(entry.fun)(*args))
            finally:
                sg.config.backend = "interpreter"
            problems += _float32_problems(entry, got, want, backend)
    assert not problems


def _float32_problems(entry, got, want, backend) -> list:
    for g, w in zip(got, want):
        if (g.dtype, g.shape) != (w.dtype, w.shape) or not np.allclose(
                g, w, rtol=2e-4, atol=1e-4, equal_nan=True):
            return [f"{entry.name} ({backend}): {g.dtype}{g.shape} against {w.dtype}{w.shape}"]
    return []


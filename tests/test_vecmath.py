"""compiler/codegen/vecmath.py: every function within 4 ulp of NumPy over the
whole float64 range, special values (+-0, +-inf, nan, denormals, overflow and
underflow thresholds) exactly as NumPy gives them, and loops that call them
vectorised by LLVM.

The sweeps run compiled loops (one per function, compiled once for the
module) over millions of points: random bit patterns (log-uniform over every
float64, denormals, infinities and nans included), uniform points in each
function's interesting range, and a list of special values with their
neighbours 1 ulp away.
"""
from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

from compiler.codegen import vecmath as vm

MAX_ULP = 4.0
RNG = np.random.default_rng(20261202)


def _sigmoid_reference(x):
    # 1 / (1 + exp(-x)) in 80-bit long double, rounded once (NumPy has no sigmoid)
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-np.asarray(x, np.longdouble)))).astype(np.float64)


FUNCTIONS = {  # name: (vecmath function, reference, interesting ranges)
    "exp": (vm.vm_exp, np.exp, [(-746.0, 710.0), (-1.0, 1.0)]),
    "expm1": (vm.vm_expm1, np.expm1, [(-40.0, 710.0), (-1.0, 1.0), (-1e-8, 1e-8)]),
    "log": (vm.vm_log, np.log, [(0.0, 4.0), (0.7, 1.5), (0.999, 1.001)]),
    "log1p": (vm.vm_log1p, np.log1p, [(-1.0, 4.0), (-0.3, 0.5), (-1e-8, 1e-8)]),
    "tanh": (vm.vm_tanh, np.tanh, [(-20.0, 20.0), (-1.0, 1.0), (-1e-8, 1e-8)]),
    "sigmoid": (vm.vm_sigmoid, _sigmoid_reference, [(-750.0, 40.0), (-5.0, 5.0)]),
    "sin": (vm.vm_sin, np.sin, [(-vm.SIN_COS_BOUND, vm.SIN_COS_BOUND), (-10.0, 10.0),
                                (-1e-6, 1e-6)]),
    "cos": (vm.vm_cos, np.cos, [(-vm.SIN_COS_BOUND, vm.SIN_COS_BOUND), (-10.0, 10.0),
                                (-1e-6, 1e-6)]),
}

_TINY = np.finfo(np.float64).tiny
_MAX = np.finfo(np.float64).max
_SPECIAL = np.array([
    0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 1e-310, -1e-310,
    _TINY, -_TINY, _TINY * (1 - 2 ** -52), _MAX, -_MAX, 1.0, -1.0, 0.5, 2.0, 0.75,
    709.782712893384,                          # exp overflow threshold
    -708.3964185322641,                        # exp result leaves the normals
    -745.1332191019411, -745.1332191019412,    # exp underflow to 0
    -744.44007192138126,                       # exp result is the smallest denormal
    np.log(2.0) / 2, -np.log(2.0) / 2, 710.0, -746.0, -40.0, -45.0, 40.0, 22.0, -22.0,
    np.pi, -np.pi, np.pi / 2, np.pi / 4, 3 * np.pi / 4, vm.SIN_COS_BOUND,
    1e-300, 1e300, -1e300, 2.0 ** -28, 2.0 ** -29, 2.0 ** -54, 1e-8, np.sqrt(2.0),
    np.sqrt(0.5), np.sqrt(2.0) - 1, np.sqrt(0.5) - 1, 2.0 ** 52, 2.0 ** 53, 2.0 ** 54,
])
with np.errstate(over="ignore"):
    SPECIAL = np.unique(np.concatenate([_SPECIAL, np.nextafter(_SPECIAL, np.inf),
                                        np.nextafter(_SPECIAL, -np.inf)]))


def _random_bit_patterns(n):
    """Floats whose bits are uniform: log-uniform over the whole range, both
    signs, with denormals, infinities and nans."""
    return RNG.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, n,
                        dtype=np.int64).view(np.float64)


def _sweep_points(ranges):
    parts = [SPECIAL, _random_bit_patterns(1_000_000)]
    parts += [RNG.uniform(lo, hi, 400_000) for lo, hi in ranges]
    return np.concatenate(parts)


def ulp_error(got, want):
    """|got - want| in units of the last place of ``want``; 0 where both are the
    same value (nans, infinities and signed zeros included), inf where a nan,
    an infinity or a zero's sign differs."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
        np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got - want) / np.spacing(np.abs(want))
    error = np.where(np.isfinite(got) & np.isfinite(want), error, np.inf)
    error = np.where((want == 0) & (got == 0), np.inf, error)  # a wrong sign of zero
    return np.where(same, 0.0, error)


def _compute(function, x):
    out = np.empty_like(x)
    vm.elementwise_loop(function)(x, out)
    return out


def _reference(reference, x):
    with np.errstate(all="ignore"):
        return reference(x)


def _report(name, x, got, want, error):
    worst = np.argsort(error)[-5:][::-1]
    return "; ".join(f"{name}({x[i]!r}) = {got[i]!r}, NumPy {want[i]!r} ({error[i]:.1f} ulp)"
                     for i in worst)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_within_4_ulp_of_numpy_over_the_whole_range(name):
    function, reference, ranges = FUNCTIONS[name]
    x = _sweep_points(ranges)
    if name in ("sin", "cos"):            # beyond the bound: nan by contract, tested below
        x = x[~(np.abs(x) > vm.SIN_COS_BOUND) | np.isinf(x)]
    got, want = _compute(function, x), _reference(reference, x)
    error = ulp_error(got, want)
    assert error.max() <= MAX_ULP, _report(name, x, got, want, error)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_special_values_exactly_as_numpy(name):
    function, reference, _ = FUNCTIONS[name]
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, _TINY, -_TINY,
                  1e-310, -1e-310, -1.0, -2.0, _MAX, -_MAX, 1000.0, -1000.0])
    if name in ("sin", "cos"):
        x = x[~(np.abs(x) > vm.SIN_COS_BOUND) | np.isinf(x)]
    got, want = _compute(function, x), _reference(reference, x)
    # nan, +-inf and +-0 (sign included) exactly; any other result within the bound
    special = np.isnan(want) | np.isinf(want) | (want == 0)
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
        np.isnan(got) & np.isnan(want))
    assert np.all(same[special]), _report(name, x, got, want, np.where(special, ~same, 0.0))
    assert ulp_error(got, want).max() <= MAX_ULP, _report(name, x, got, want,
                                                          ulp_error(got, want))


def test_exp_denormal_results_and_thresholds():
    # every exponent of the denormal range and the thresholds, 1 ulp either side
    x = np.log(2.0) * np.linspace(-1075.5, -1021.0, 200_001)
    x = np.concatenate([x, np.nextafter(x, np.inf), [709.782712893384, 709.7827128933841]])
    with np.errstate(over="ignore"):
        error = ulp_error(_compute(vm.vm_exp, x), np.exp(x))
    assert error.max() <= MAX_ULP


def test_log_denormal_inputs():
    x = np.concatenate([RNG.uniform(0, _TINY, 200_000),
                        np.ldexp(1.0, np.arange(-1074, -1021)).astype(np.float64)])
    assert ulp_error(_compute(vm.vm_log, x), np.log(x)).max() <= MAX_ULP


def test_sin_cos_near_multiples_of_pi_over_2():
    # the reduction's hard cases: the doubles nearest k*pi/2 (cancellation)
    k = np.concatenate([np.arange(1, 2000), RNG.integers(2000, 2 ** 19, 2000)])
    nearest = np.array([float(int(i) * vm._PIO2) for i in k])
    x = np.concatenate([nearest + j * np.spacing(nearest) for j in range(-3, 4)])
    x = np.concatenate([x, -x])
    for function, reference in [(vm.vm_sin, np.sin), (vm.vm_cos, np.cos)]:
        got, want = _compute(function, x), reference(x)
        error = ulp_error(got, want)
        assert error.max() <= MAX_ULP, _report(function.__name__, x, got, want, error)


def test_sin_cos_beyond_the_bound_give_nan_and_are_flagged():
    inside = np.array([vm.SIN_COS_BOUND, -vm.SIN_COS_BOUND, 0.0, np.inf, -np.inf, np.nan])
    outside = np.array([np.nextafter(vm.SIN_COS_BOUND, np.inf), -1e6, 1e300, -_MAX])
    for function in (vm.vm_sin, vm.vm_cos):
        assert np.all(np.isnan(_compute(function, outside)))
        assert not np.isnan(_compute(function, inside[:3])).any()
    flag = vm.elementwise_loop(vm.sin_cos_in_range)
    out = np.empty(inside.size)
    flag(inside, out)
    assert np.all(out == 1.0)
    out = np.empty(outside.size)
    flag(outside, out)
    assert np.all(out == 0.0)


def test_pi_over_2_parts_are_exact_splits():
    parts = [vm._PIO2_1, vm._PIO2_2, vm._PIO2_3]
    for part in parts:    # 33 significant bits: products by |n| < 2**20 are exact
        mantissa = Fraction(part) / Fraction(2) ** (int(np.frexp(part)[1]) - 33)
        assert mantissa.denominator == 1
    tail = vm._PIO2 - sum(Fraction(p) for p in parts)
    assert abs(tail - Fraction(vm._PIO2_3T)) < Fraction(2) ** -150


@pytest.mark.parametrize("name", ["exp", "log", "log1p", "expm1", "tanh", "sin", "cos"])
def test_float32_computed_in_float64_is_within_4_ulp(name):
    function, reference, ranges = FUNCTIONS[name]
    with np.errstate(over="ignore"):
        x = np.concatenate([SPECIAL, *[RNG.uniform(lo, hi, 100_000) for lo, hi in ranges]])
        x = np.concatenate([x.astype(np.float32),     # and random float32 bit patterns
                            RNG.integers(0, 2 ** 32, 300_000, dtype=np.uint32).view(np.float32)])
    if name in ("sin", "cos"):   # compared in float64: the bound rounds up in float32
        with np.errstate(invalid="ignore"):    # signalling nan payloads
            x = x[~(np.abs(x.astype(np.float64)) > vm.SIN_COS_BOUND) | np.isinf(x)]
    got = np.empty_like(x)
    vm.elementwise_loop(function)(x, got)
    assert got.dtype == np.float32
    with np.errstate(all="ignore"):
        want = reference(x)
    assert want.dtype == np.float32
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
        np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want))
    error = np.where(same, 0.0, np.where(np.isfinite(error), error, np.inf))
    assert error.max() <= MAX_ULP, _report(name, x, got, want, error)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_loop_calling_it_is_vectorised(name):
    loop = vm.elementwise_loop(FUNCTIONS[name][0])
    loop(np.ones(8), np.empty(8))
    llvm = "\n".join(loop.inspect_llvm().values())
    asm = "\n".join(loop.inspect_asm().values())
    assert re.search(r"<\d+ x double>", llvm), "no vector type in the LLVM IR"
    assert re.search(r"\bvmulpd\s+[^\n]*%[yz]mm", asm), "no packed multiply in the assembly"
    # no libm call survives in the loop (the only calls are Numba's runtime helpers)
    assert not re.search(r"call[^\n]*@(exp|log|log1p|expm1|tanh|sin|cos)\b", llvm)


def test_vector_math_call_writes_the_expression_per_dtype():
    assert vm.vector_math_call("exp", "v3", np.float64) == "vm_exp(v3)"
    assert vm.vector_math_call("sin", "x[i0]", np.float32) == \
        "np.float32(vm_sin(np.float64(x[i0])))"
    assert vm.vector_math_call("arctan", "v3", np.float64) is None
    assert vm.vector_math_call("exp", "v3", np.complex128) is None
    for name, (function_name, predicate) in vm.VECTOR_MATH.items():
        assert callable(getattr(vm, function_name))
        assert predicate is None or callable(getattr(vm, predicate))


def test_integration_names_resolve():
    assert vm.range_check_call("sin", "v1") == "sin_cos_in_range(v1)"
    assert vm.range_check_call("exp", "v1") is None
    assert vm.range_check_call("arctan", "v1") is None
    namespace = {}
    exec(vm.IMPORT_LINE, namespace)
    for function_name, predicate in vm.VECTOR_MATH.values():
        assert function_name in namespace and (predicate is None or predicate in namespace)
    assert len(vm.SOURCE_HASH) == 16

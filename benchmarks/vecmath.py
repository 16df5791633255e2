"""Vector math: compiler/codegen/vecmath.py against libm inside Numba and NumPy.

    python -m benchmarks.vecmath            # 1e6 elements, 21 samples
    python -m benchmarks.vecmath --quick    # 5 samples
    python -m benchmarks.vecmath --zmm      # LLVM told to vectorise 8 wide (AVX-512)

For each function, over 1e6 float64 elements: a Numba loop calling the
vecmath function, the same loop calling ``np.exp`` etc. (libm, one element at
a time), and NumPy's ufunc (its own SIMD loops). Then the elementwise chain of
benchmarks/workloads.py, ``sum(sin(x) exp(-x**2) + log1p(x**2) cos(3x))``
with its gradient, written by hand twice: with libm (workloads.chain_grad, the
reference of benchmarks/run.py) and with vecmath (including the range check
sin/cos need when the input is not bounded); and a chain of sin, exp, tanh,
log1p. Prints medians (and minima: the machine is shared) in ms, and ratios
of medians (and of minima). The calls are sampled in turn, so each sees the
same load of the machine. Also reports, for each vecmath loop, whether LLVM vectorised it:
packed double instructions on ymm/zmm registers in ``inspect_asm()``.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numba  # noqa: E402

from benchmarks.workloads import chain_grad  # noqa: E402
from compiler.codegen import vecmath as vm  # noqa: E402
from compiler.codegen.vecmath import (sin_cos_in_range, vm_cos, vm_exp, vm_log1p,  # noqa: E402
                                      vm_sin, vm_tanh)

N = 1_000_000


def _libm_loop(ufunc_name):
    # the text a generator writes today: np.exp on a scalar is a libm call
    namespace = {"numba": numba, "np": np}
    exec(f"@numba.njit(error_model='numpy')\n"
         f"def loop(x, out):\n"
         f"    for i in range(x.shape[0]):\n"
         f"        out[i] = np.{ufunc_name}(x[i])\n", namespace)
    return namespace["loop"]


def _sigmoid_libm(x):
    return 1.0 / (1.0 + np.exp(-x))


FUNCTIONS = {  # name: (vecmath function, libm loop, NumPy, input range)
    "exp": (vm.vm_exp, _libm_loop("exp"), np.exp, (-20, 20)),
    "expm1": (vm.vm_expm1, _libm_loop("expm1"), np.expm1, (-20, 20)),
    "log": (vm.vm_log, _libm_loop("log"), np.log, (1e-3, 1e3)),
    "log1p": (vm.vm_log1p, _libm_loop("log1p"), np.log1p, (-0.9, 1e3)),
    "tanh": (vm.vm_tanh, _libm_loop("tanh"), np.tanh, (-5, 5)),
    "sin": (vm.vm_sin, _libm_loop("sin"), np.sin, (-10, 10)),
    "cos": (vm.vm_cos, _libm_loop("cos"), np.cos, (-10, 10)),
    "sigmoid": (vm.vm_sigmoid, None, _sigmoid_libm, (-20, 20)),
}


@numba.njit(error_model="numpy")
def _sigmoid_libm_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = 1.0 / (1.0 + np.exp(-x[i]))


# -- the chain of benchmarks/workloads.py, value and gradient -----------------------
@numba.njit(error_model="numpy")
def chain_grad_libm(x):
    return chain_grad(x)


@numba.njit(error_model="numpy")
def _chain_grad_vm_fast(x, g):
    outside = False
    for i in range(x.shape[0]):
        xi = x[i]
        x3 = 3.0 * xi
        outside |= not sin_cos_in_range(x3)   # |3x| bounds |x| too
        e = vm_exp(-xi * xi)
        c3 = vm_cos(x3)
        g[i] = (vm_cos(xi) * e - 2.0 * xi * vm_sin(xi) * e
                + 2.0 * xi / (1.0 + xi * xi) * c3 - 3.0 * vm_log1p(xi * xi) * vm_sin(x3))
    return outside


@numba.njit(error_model="numpy")
def chain_grad_vm(x):
    g = np.empty_like(x)
    if _chain_grad_vm_fast(x, g):            # an |x| beyond sin/cos's bound: libm
        g[:] = chain_grad(x)
    return g


# -- a chain of sin, exp, tanh, log1p: y = log1p(tanh(exp(sin(x)))**2) --------------
@numba.njit(error_model="numpy")
def sin_exp_tanh_log1p_libm(x):
    value = np.empty_like(x)
    g = np.empty_like(x)
    for i in range(x.shape[0]):
        s = np.sin(x[i])
        e = np.exp(s)
        t = np.tanh(e)
        value[i] = np.log1p(t * t)
        g[i] = 2.0 * t / (1.0 + t * t) * (1.0 - t * t) * e * np.cos(x[i])
    return value, g


@numba.njit(error_model="numpy")
def _sin_exp_tanh_log1p_vm_fast(x, value, g):
    outside = False
    for i in range(x.shape[0]):
        outside |= not sin_cos_in_range(x[i])
        s = vm_sin(x[i])
        e = vm_exp(s)
        t = vm_tanh(e)
        value[i] = vm_log1p(t * t)
        g[i] = 2.0 * t / (1.0 + t * t) * (1.0 - t * t) * e * vm_cos(x[i])
    return outside


@numba.njit(error_model="numpy")
def sin_exp_tanh_log1p_vm(x):
    value = np.empty_like(x)
    g = np.empty_like(x)
    if _sin_exp_tanh_log1p_vm_fast(x, value, g):
        return sin_exp_tanh_log1p_libm(x)
    return value, g


def packed_instructions(dispatcher) -> int:
    """Packed-double arithmetic on ymm/zmm registers in the compiled code."""
    asm = "\n".join(dispatcher.inspect_asm().values())
    return len(re.findall(r"\bv(?:mul|add|sub|fmadd\w*|div)pd\s+[^\n]*%[yz]mm", asm))


def timed(calls, samples=15):
    """Median and minimum ms of each of ``calls`` (callables of no arguments),
    sampled in turn so that all of them see the same load of a shared machine."""
    for call in calls:
        call()
    times = [[] for _ in calls]
    for _ in range(samples):
        for call, kept in zip(calls, times):
            start = time.perf_counter()
            call()
            kept.append(time.perf_counter() - start)
    return [(1e3 * float(np.median(t)), 1e3 * float(np.min(t))) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--zmm", action="store_true",
                        help="vectorise 8 doubles wide: LLVM picks 4 on AVX-512 machines "
                             "(an experiment; the option is process-wide)")
    args = parser.parse_args(argv)
    if args.zmm:
        import llvmlite.binding
        llvmlite.binding.set_option("", "--force-vector-width=8")
    samples = 5 if args.quick else 21
    rng = np.random.default_rng(0)
    print(f"# vector math, {N:,} float64 elements, median (min) ms of {samples} calls\n")
    print("| function | vecmath | libm loop | NumPy ufunc | vecmath / libm | vecmath / NumPy "
          "| packed pd instructions |")
    print("|---|---|---|---|---|---|---|")
    for name, (function, libm, ufunc, (lo, hi)) in FUNCTIONS.items():
        x = rng.uniform(lo, hi, N)
        out = np.empty_like(x)
        loop = vm.elementwise_loop(function)
        libm = _sigmoid_libm_loop if libm is None else libm
        (t_vm, m_vm), (t_libm, m_libm), (t_np, m_np) = timed(
            [lambda: loop(x, out), lambda: libm(x, out), lambda: ufunc(x)], samples)
        print(f"| {name} | {t_vm:.2f} ({m_vm:.2f}) | {t_libm:.2f} ({m_libm:.2f}) "
              f"| {t_np:.2f} ({m_np:.2f}) | {t_vm / t_libm:.2f} ({m_vm / m_libm:.2f}) "
              f"| {t_vm / t_np:.2f} ({m_vm / m_np:.2f}) | {packed_instructions(loop)} |")

    x = rng.uniform(-1, 1, N)
    print("\n| chain (value and gradient, hand-written) | vecmath | libm | vecmath / libm "
          "| max rel. difference |")
    print("|---|---|---|---|---|")
    for label, fast, slow in [
            ("workloads.chain gradient", chain_grad_vm, chain_grad_libm),
            ("log1p(tanh(exp(sin x))**2), value + gradient", sin_exp_tanh_log1p_vm,
             sin_exp_tanh_log1p_libm)]:
        (t_fast, m_fast), (t_slow, m_slow) = timed([lambda: fast(x), lambda: slow(x)],
                                                   samples)
        a, b = np.concatenate(np.atleast_2d(fast(x))), np.concatenate(np.atleast_2d(slow(x)))
        diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
        print(f"| {label} | {t_fast:.2f} ({m_fast:.2f}) | {t_slow:.2f} ({m_slow:.2f}) "
              f"| {t_fast / t_slow:.2f} ({m_fast / m_slow:.2f}) | {diff:.1e} |")
    vector_chain = packed_instructions(_chain_grad_vm_fast)
    print(f"\npacked pd instructions in the vecmath chain loop: {vector_chain}; "
          f"in the libm chain loop: {packed_instructions(chain_grad_libm)}")


if __name__ == "__main__":
    main()

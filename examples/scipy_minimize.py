"""Minimise a 1,000-dimensional Rosenbrock function with SciPy's L-BFGS-B,
the exact gradient supplied by staticgrad.

Run: python examples/scipy_minimize.py [n]
"""
import sys
import time

import numpy as np
from scipy.optimize import minimize

import staticgrad as sg


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


class Timed:
    """Wrap a function to count its calls and the time spent in them."""

    def __init__(self, fun):
        self.fun, self.calls, self.seconds = fun, 0, 0.0

    def __call__(self, x):
        start = time.perf_counter()
        result = self.fun(x)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return result


n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
x0 = np.full(n, -1.0)
x0[::2] = -1.2  # the classic start, repeated

gradient = sg.grad(rosenbrock)
start = time.perf_counter()
gradient(x0)  # the first call traces once for this shape; the kernel compiles in the background
first_call = time.perf_counter() - start

jac = Timed(gradient)
result = minimize(rosenbrock, x0, jac=jac, method="L-BFGS-B",
                  options={"maxiter": 10_000, "gtol": 1e-8})

print(f"n = {n}: success = {result.success} ({result.message})")
print(f"f(x*) = {result.fun:.3e}, max |x* - 1| = {np.max(np.abs(result.x - 1)):.2e}")
print(f"nfev = {result.nfev}, njev = {result.njev}, iterations = {result.nit}")
print(f"first gradient call (the trace): {first_call * 1e3:.1f} ms")
print(f"time per gradient call: {jac.seconds / jac.calls * 1e6:.1f} us over {jac.calls} calls "
      "(the first ones on the interpreter while the kernel compiled)")
print(gradient.cache_info())

"""scipy.optimize.least_squares with a sparse Jacobian from staticgrad.

Many decay curves y_k(t) = a_k exp(-b_k t) are measured at the same times; the
rates of neighbouring curves are tied by a smoothness penalty. The residual
vector has (curves x times) + (curves - 1) entries, the parameters are
(a_1, b_1, ..., a_K, b_K): each residual depends on two or four parameters, so
the Jacobian is sparse and a few colours recover it. least_squares gets it as
a scipy.sparse matrix and solves its trust-region steps with LSMR.

    python examples/sparse_least_squares.py [curves]
"""
import sys
import time

import numpy as np
from scipy.optimize import least_squares

import staticgrad as sg

curves = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
times = np.linspace(0.0, 4.0, 25)
rng = np.random.default_rng(0)
true_a = rng.uniform(1.0, 3.0, curves)
true_b = 0.8 + 0.3 * np.sin(np.linspace(0.0, 6.0, curves))      # slowly varying rates
noise = 0.01 * rng.normal(size=(curves, times.size))
data = true_a[:, None] * np.exp(-true_b[:, None] * times) + noise
smoothness = 1.0


def residuals(params):
    p = params.reshape(curves, 2)
    a, b = p[:, 0:1], p[:, 1:2]
    misfit = a * np.exp(-b * times) - data
    return np.concatenate([misfit.ravel(), smoothness * (p[1:, 1] - p[:-1, 1])])


jacobian = sg.sparse_jacobian(residuals)
x0 = np.concatenate([np.ones((curves, 1)), 0.5 * np.ones((curves, 1))], axis=1).ravel()
info = jacobian.sparsity(x0)
print(f"{curves * 2} parameters, {info.pattern.shape[0]} residuals; "
      f"Jacobian: {info.pattern.nnz} nonzeros, {info.n_colors} colours ({info.mode} mode)")

v = rng.normal(size=x0.size)
eps = 1e-6
fd = (residuals(x0 + eps * v) - residuals(x0 - eps * v)) / (2 * eps)
Jv = jacobian(x0) @ v
error = np.abs(Jv - fd).max() / np.abs(Jv).max()
print(f"max |J v - finite differences| / max |J v| = {error:.2e}")

start = time.perf_counter()
fit = least_squares(residuals, x0, jac=jacobian, method="trf", x_scale="jac")
elapsed = time.perf_counter() - start
a, b = fit.x.reshape(curves, 2).T
print(f"least_squares: success = {fit.success}, {fit.nfev} residual and {fit.njev} Jacobian "
      f"evaluations, {elapsed:.2f} s")
print(f"cost = {fit.cost:.6f} (noise alone: {0.5 * curves * times.size * 0.01 ** 2:.6f})")
print(f"max |b - true b| = {np.abs(b - true_b).max():.4f}")
print(f"optimality = {fit.optimality:.2e}")

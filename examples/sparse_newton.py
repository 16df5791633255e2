"""Newton's method on the 2-D Bratu problem with a sparse Jacobian.

    -Δu - λ exp(u) = 0 on the unit square, u = 0 on the boundary,

discretised with the 5-point stencil on an n x n interior grid (default
300 x 300: 90,000 unknowns). The residual is plain NumPy; sg.sparse_jacobian
finds the Jacobian's pattern from the traced graph, colours its columns, and
computes all colours' JVPs in one compiled call, returning a
scipy.sparse.csr_array that scipy.sparse.linalg.spsolve takes as it is.

    python examples/sparse_newton.py [n] [lambda]
"""
import sys
import time

import numpy as np
import scipy.sparse.linalg as spla

import staticgrad as sg

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
lam = float(sys.argv[2]) if len(sys.argv) > 2 else 6.0
h = 1.0 / (n + 1)


def residual(u):
    U = u.reshape(n, n)
    zero_row, zero_col = np.zeros((1, n)), np.zeros((n + 2, 1))
    P = np.concatenate([zero_row, U, zero_row], axis=0)      # Dirichlet boundary
    P = np.concatenate([zero_col, P, zero_col], axis=1)
    laplacian = (4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]) / h ** 2
    return (laplacian - lam * np.exp(U)).ravel()


jacobian = sg.sparse_jacobian(residual)
u = np.zeros(n * n)

start = time.perf_counter()
info = jacobian.sparsity(u)
print(f"{n * n} unknowns; pattern: {info.pattern.nnz} nonzeros, at most {info.max_degree} per row")
print(f"colours: {info.n_colors} ({info.mode} mode, {info.strategy} order), "
      f"pattern and colouring in {time.perf_counter() - start:.2f} s")

# The compressed product against a directional finite difference
v = np.random.default_rng(0).normal(size=n * n)
eps = 1e-6
fd = (residual(u + eps * v) - residual(u - eps * v)) / (2 * eps)
start = time.perf_counter()
J = jacobian(u)
first = time.perf_counter() - start
print(f"max |J v - finite differences| / max |J v| = "
      f"{np.abs(J @ v - fd).max() / np.abs(J @ v).max():.2e}")

times = []
for iteration in range(20):
    F = residual(u)
    norm = np.linalg.norm(F) * h
    print(f"iteration {iteration}: |F| = {norm:.3e}")
    if norm < 1e-9:
        break
    start = time.perf_counter()
    J = jacobian(u)
    times.append(time.perf_counter() - start)
    u = u - spla.spsolve(J.tocsc(), F)

print(f"time per Jacobian: {np.median(times) * 1e3:.1f} ms "
      f"(the first call, which traces and compiles: {first:.2f} s)")
print(f"final residual = {norm:.3e}")
print(f"max u = {u.max():.6f}")

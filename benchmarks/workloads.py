"""The benchmark workloads: NumPy functions, their arguments, and hand-written
Numba analytic gradients as references (float64, one thread)."""
from __future__ import annotations

import dataclasses
from typing import Callable

import numba
import numpy as np


# -- the functions, plain NumPy -------------------------------------------------
def square_sum(x):
    return np.sum(x ** 2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def logistic_nll(w, X, y):
    """Negative log-likelihood of logistic regression, softplus form."""
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - Y) ** 2)


def chain(x):
    return np.sum(np.sin(x) * np.exp(-x ** 2) + np.log1p(x ** 2) * np.cos(3 * x))


# -- hand-written Numba gradients ----------------------------------------------------
@numba.njit(cache=True)
def square_sum_grad(x):
    g = np.empty_like(x)
    for i in range(x.shape[0]):
        g[i] = 2.0 * x[i]
    return g


@numba.njit(cache=True)
def rosenbrock_grad(x):
    n = x.shape[0]
    g = np.zeros_like(x)
    for i in range(n - 1):
        d = x[i + 1] - x[i] * x[i]
        g[i] += -400.0 * x[i] * d - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * d
    return g


@numba.njit(cache=True)
def rosenbrock_hvp(x, v):
    n = x.shape[0]
    out = np.zeros_like(x)
    for i in range(n - 1):
        # Hessian of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 in (x[i], x[i+1])
        hii = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0
        hij = -400.0 * x[i]
        out[i] += hii * v[i] + hij * v[i + 1]
        out[i + 1] += hij * v[i] + 200.0 * v[i + 1]
    return out


@numba.njit(cache=True)
def logistic_nll_grad(w, X, y):
    n, d = X.shape
    g = np.zeros(d)
    for i in range(n):
        z = 0.0
        for j in range(d):
            z += X[i, j] * w[j]
        s = 1.0 / (1.0 + np.exp(-z)) - y[i]
        for j in range(d):
            g[j] += s * X[i, j]
    return g


@numba.njit(cache=True)
def mlp_grad(W1, b1, W2, b2, X, Y):
    h = np.tanh(np.dot(X, W1) + b1)
    out = np.dot(h, W2) + b2
    dout = 2.0 * (out - Y) / out.size
    dW2 = np.dot(h.T, dout)
    db2 = dout.sum(axis=0)
    dh = np.dot(dout, W2.T) * (1.0 - h * h)
    dW1 = np.dot(X.T, dh)
    db1 = dh.sum(axis=0)
    return dW1, db1, dW2, db2


@numba.njit(cache=True)
def chain_grad(x):
    g = np.empty_like(x)
    for i in range(x.shape[0]):
        xi = x[i]
        e = np.exp(-xi * xi)
        c3 = np.cos(3.0 * xi)
        g[i] = (np.cos(xi) * e - 2.0 * xi * np.sin(xi) * e
                + 2.0 * xi / (1.0 + xi * xi) * c3 - 3.0 * np.log1p(xi * xi) * np.sin(3.0 * xi))
    return g


# -- the table ------------------------------------------------------------------------
@dataclasses.dataclass
class Workload:
    name: str
    fun: Callable          # NumPy function
    args: Callable         # () -> tuple of arguments
    transform: str         # "grad" (argnums) or "hvp"
    argnums: object
    reference: Callable    # hand-written Numba, same arguments


def _rosen_args(n):
    return lambda: (np.random.default_rng(0).uniform(-1, 1, n),)


def _logistic_args(n, d):
    def make():
        rng = np.random.default_rng(1)
        X = rng.normal(size=(n, d))
        return rng.normal(size=d) * 0.1, X, (rng.random(n) < 0.5).astype(np.float64)
    return make


def _mlp_args():
    rng = np.random.default_rng(2)
    return (rng.normal(size=(64, 128)) * 0.1, np.zeros(128), rng.normal(size=(128, 10)) * 0.1,
            np.zeros(10), rng.normal(size=(256, 64)), rng.normal(size=(256, 10)))


def _hvp_args():
    rng = np.random.default_rng(3)
    return rng.uniform(-1, 1, 1000), rng.normal(size=1000)


WORKLOADS = [
    Workload("sum(x**2), n=3", square_sum, _rosen_args(3), "grad", 0, square_sum_grad),
    Workload("rosenbrock n=10", rosenbrock, _rosen_args(10), "grad", 0, rosenbrock_grad),
    Workload("rosenbrock n=1,000", rosenbrock, _rosen_args(1000), "grad", 0, rosenbrock_grad),
    Workload("rosenbrock n=1,000,000", rosenbrock, _rosen_args(1_000_000), "grad", 0,
             rosenbrock_grad),
    Workload("logistic NLL 100x10", logistic_nll, _logistic_args(100, 10), "grad", 0,
             logistic_nll_grad),
    Workload("logistic NLL 100,000x100", logistic_nll, _logistic_args(100_000, 100), "grad", 0,
             logistic_nll_grad),
    Workload("MLP 256x64-128-10", mlp_loss, _mlp_args, "grad", (0, 1, 2, 3), mlp_grad),
    Workload("elementwise chain n=1,000,000", chain, _rosen_args(1_000_000), "grad", 0,
             chain_grad),
    Workload("rosenbrock HVP n=1,000", rosenbrock, _hvp_args, "hvp", 0, rosenbrock_hvp),
]


def staticgrad_function(w: Workload):
    import staticgrad as sg
    if w.transform == "hvp":
        return sg.hvp(w.fun, w.argnums)
    return sg.grad(w.fun, w.argnums)


def value_and_grad_function(w: Workload):
    """``sg.value_and_grad`` of a gradient workload (None for the others)."""
    import staticgrad as sg
    if w.transform != "grad":
        return None
    return sg.value_and_grad(w.fun, w.argnums)

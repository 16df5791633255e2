"""The Lorenz system integrated by unrolled RK4 steps: the loss of
``benchmarks/compile_time.py``, which tests/test_codegen.py compiles too.
Importing this module changes no thread settings."""
import numpy as np


def lorenz(u, p):
    sigma, rho, beta = p[0], p[1], p[2]
    x, y, z = u[0], u[1], u[2]
    return np.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def rk4_loss(n_steps: int, dt: float = 0.01):
    """The squared end state after ``n_steps`` RK4 steps, as a function of (p, u0)."""
    def loss(p, u0):
        u = u0
        for _ in range(n_steps):
            k1 = lorenz(u, p)
            k2 = lorenz(u + dt / 2 * k1, p)
            k3 = lorenz(u + dt / 2 * k2, p)
            k4 = lorenz(u + dt * k3, p)
            u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return np.sum(u * u)
    return loss

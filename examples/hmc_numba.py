"""Hamiltonian Monte Carlo written entirely in Numba, calling a gradient that
staticgrad compiled, inside its leapfrog loop.

The target is a 2-D Gaussian with correlation 0.9, so the sample moments can
be checked against the truth.

Run: python examples/hmc_numba.py
"""
import time

import numba
import numpy as np

import staticgrad as sg

mean = np.array([1.0, -2.0])
cov = np.array([[1.0, 0.9 * 0.5],
                [0.9 * 0.5, 0.25]])
precision = np.linalg.inv(cov)


def log_density(x):
    """Unnormalised log density, in plain NumPy (the captured arrays become constants)."""
    r = x - mean
    return -0.5 * r @ precision @ r


# A Numba dispatcher: (x) -> (log density, gradient), callable from @njit code.
logp_and_grad = sg.value_and_grad(log_density).compile(np.zeros(2)).numba_function


@numba.njit
def hmc(logp_and_grad, x0, n_samples, step_size, n_leapfrog, seed):
    """Samples (n_samples, d) and the number of accepted proposals."""
    np.random.seed(seed)
    d = x0.size
    samples = np.empty((n_samples, d))
    x = x0.copy()
    logp, grad = logp_and_grad(x)
    accepted = 0
    for i in range(n_samples):
        p = np.random.standard_normal(d)
        energy = -logp + 0.5 * np.dot(p, p)
        x_new, logp_new, grad_new = x.copy(), logp, grad
        p_new = p + 0.5 * step_size * grad_new
        for k in range(n_leapfrog):
            x_new = x_new + step_size * p_new
            logp_new, grad_new = logp_and_grad(x_new)
            if k < n_leapfrog - 1:
                p_new = p_new + step_size * grad_new
        p_new = p_new + 0.5 * step_size * grad_new
        energy_new = -logp_new + 0.5 * np.dot(p_new, p_new)
        if np.log(np.random.uniform(0.0, 1.0)) < energy - energy_new:
            x, logp, grad = x_new, logp_new, grad_new
            accepted += 1
        samples[i] = x
    return samples, accepted


x0 = np.zeros(2)
value, gradient = logp_and_grad(x0)  # also callable from Python
print(f"numba_function(x0) = ({value:.4f}, {gradient}); NumPy: {log_density(x0):.4f}")

hmc(logp_and_grad, x0, 10, 0.1, 2, 0)  # compile the sampler once
n_samples, n_leapfrog, burn_in = 20_000, 10, 1_000
start = time.perf_counter()
samples, accepted = hmc(logp_and_grad, x0, n_samples, 0.15, n_leapfrog, 42)
seconds = time.perf_counter() - start
samples = samples[burn_in:]

print(f"{n_samples} HMC iterations, {n_samples * n_leapfrog} gradient calls in Numba: "
      f"{seconds:.3f} s")
print(f"acceptance rate = {accepted / n_samples:.3f}")
print(f"sample mean = {np.round(samples.mean(axis=0), 3)}, true mean = {mean}")
print(f"sample covariance = {np.round(np.cov(samples.T), 3).tolist()}")
print(f"true covariance   = {cov.tolist()}")
print(f"max |sample mean - true mean| = {np.max(np.abs(samples.mean(axis=0) - mean)):.3f}, "
      f"max |sample cov - true cov| = {np.max(np.abs(np.cov(samples.T) - cov)):.3f}")

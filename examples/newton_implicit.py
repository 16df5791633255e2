"""Differentiate a Newton solver written as an ``sg.while_loop``: Kepler's
equation E - e sin(E) = M, solved for the eccentric anomaly E of many mean
anomalies M at once, iterating until the residual is below 1e-13.

The number of Newton steps depends on the inputs, so the loop's trip count is
found at run time; reverse mode runs the adjoint back over exactly the steps
the solver took. At convergence the derivative of the iterates is the
implicit-function derivative (Newton's map is flat at its fixed point):

    dE/dM = 1 / (1 - e cos E)        dE/de = sin E / (1 - e cos E)

Run: python examples/newton_implicit.py
"""
import numpy as np

import staticgrad as sg

sg.config.backend = "interpreter"  # a few small solves: compiling them would cost more than it saves
sg.config.max_loop_iterations = 100  # a solver that fails to converge raises


def kepler(M, e):
    def residual(E):
        return E - e * np.sin(E) - M

    def not_converged(state):
        k, E = state
        return np.max(np.abs(residual(E))) > 1e-13

    def newton_step(state):
        k, E = state
        return k + 1, E - residual(E) / (1.0 - e * np.cos(E))

    steps, E = sg.while_loop(not_converged, newton_step, (0, M + 0.0 * e))
    return E, steps


def total_anomaly(M, e):
    return np.sum(kepler(M, e)[0])


M = np.linspace(0.1, 3.0, 8)
e = np.full(8, 0.6)

E, steps = sg.jit(kepler)(M, e)
print(f"Newton steps taken: {steps}; max |residual| = {np.max(np.abs(E - e * np.sin(E) - M)):.1e}")

dM, de = sg.grad(total_anomaly, (0, 1))(M, e)
implicit_dM = 1.0 / (1.0 - e * np.cos(E))
implicit_de = np.sin(E) / (1.0 - e * np.cos(E))
print(f"max |dE/dM through the loop - implicit function theorem| = "
      f"{np.max(np.abs(dM - implicit_dM)):.1e}")
print(f"max |dE/de through the loop - implicit function theorem| = "
      f"{np.max(np.abs(de - implicit_de)):.1e}")

# forward mode and the second derivative go through the loop as well
_, tangent = sg.jvp(total_anomaly, (M, e), (np.ones(8), np.zeros(8)))
print(f"|jvp - sum dE/dM| = {abs(tangent - implicit_dM.sum()):.1e}")
d2 = np.diag(sg.hessian(total_anomaly)(M, e))
implicit_d2 = -e * np.sin(E) * implicit_dM ** 3   # d/dM of 1 / (1 - e cos E)
print(f"max |d2E/dM2 - implicit function theorem| = {np.max(np.abs(d2 - implicit_d2)):.1e}")

# the same solver, other inputs: another trip count, the same specialisation
grad = sg.grad(total_anomaly)
grad(M, e)
grad(M, np.full(8, 0.05))
print(f"specialisations for e = 0.6 and e = 0.05: {grad.cache_info().specializations}")

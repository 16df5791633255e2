"""Jacobian and Hessian of a physics function: a chain of point masses in the
plane joined by springs, under gravity. The Hessian of the potential energy
is the stiffness matrix (its eigenvalues are the squared normal-mode
frequencies of unit masses); both derivatives are checked against finite
differences, and the spectrum of a straight chain against its closed form.

Run: python examples/hessian_physics.py
"""
import numpy as np

import staticgrad as sg

N, STIFFNESS, REST_LENGTH, MASS, GRAVITY = 6, 3.0, 1.0, 0.5, 9.81


def bond_lengths(positions):
    """Lengths of the N - 1 springs; positions has shape (N, 2)."""
    bonds = positions[1:] - positions[:-1]
    return np.sqrt(np.sum(bonds ** 2, axis=1))


def potential_energy(positions):
    stretch = bond_lengths(positions) - REST_LENGTH
    return 0.5 * STIFFNESS * np.sum(stretch ** 2) + MASS * GRAVITY * np.sum(positions[:, 1])


def finite_difference_jacobian(f, x, eps=1e-6):
    """d f / d x by central differences, shape f(x).shape + x.shape."""
    columns = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(np.shape(f(x)) + x.shape)


rng = np.random.default_rng(0)
positions = np.stack([np.arange(N) * 1.1, np.zeros(N)], axis=1) + 0.2 * rng.normal(size=(N, 2))

# Jacobian of the spring lengths: shape (N - 1, N, 2).
J = sg.jacobian(bond_lengths)(positions)
J_fd = finite_difference_jacobian(bond_lengths, positions)
print(f"jacobian(bond_lengths): shape {J.shape}, "
      f"max |J - finite differences| = {np.max(np.abs(J - J_fd)):.2e}")

# Forces are minus the gradient of the energy; the Hessian is the stiffness.
grad_energy = sg.grad(potential_energy)
hessian_energy = sg.hessian(potential_energy)
forces = -grad_energy(positions)
H = hessian_energy(positions)  # shape (N, 2, N, 2)
H_fd = finite_difference_jacobian(grad_energy, positions)
print(f"net force = {np.round(forces.sum(axis=0), 6) + 0.0} (gravity alone: [0, {-N * MASS * GRAVITY}])")
print(f"hessian(potential_energy): shape {H.shape}, "
      f"max |H - finite differences| = {np.max(np.abs(H - H_fd)):.2e}, "
      f"symmetric: {np.allclose(H.reshape(2 * N, 2 * N), H.reshape(2 * N, 2 * N).T)}")

# Hessian-vector product without forming the Hessian (forward over reverse).
v = rng.normal(size=(N, 2))
Hv = sg.hvp(potential_energy)(positions, v)
print(f"max |hvp - H @ v| = {np.max(np.abs(Hv - np.tensordot(H, v, axes=2))):.2e}")

# A straight chain at rest length: springs resist stretching only, so the
# transverse directions (and translations) are free; the stretching modes have
# the eigenvalues of the path graph's Laplacian, 2 k (1 - cos(pi j / N)).
straight = np.stack([np.arange(N) * REST_LENGTH, np.zeros(N)], axis=1)
eigenvalues = np.linalg.eigvalsh(hessian_energy(straight).reshape(2 * N, 2 * N))
closed_form = np.sort(np.concatenate(
    [2 * STIFFNESS * (1 - np.cos(np.pi * np.arange(N) / N)), np.zeros(N)]))
print("stiffness eigenvalues of the straight chain:", np.round(eigenvalues, 4) + 0.0)
print(f"max |eigenvalues - closed form| = {np.max(np.abs(eigenvalues - closed_form)):.2e}")

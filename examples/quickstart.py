"""staticgrad in five minutes: gradients of plain NumPy code.

Run: python examples/quickstart.py
"""
import numpy as np

import staticgrad as sg


def rosenbrock(x):
    """The Rosenbrock function, written in ordinary NumPy."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def central_differences(f, x, eps=1e-6):
    """The gradient by central finite differences: the reference to check against."""
    g = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        g[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


rng = np.random.default_rng(0)
x = rng.uniform(-1.5, 1.5, size=10)

# 1. The gradient, exact, checked against finite differences. sg.grad returns
#    a function; keep it: it traces once per input shape and reuses the trace.
grad_rosenbrock = sg.grad(rosenbrock)
g = grad_rosenbrock(x)
fd = central_differences(rosenbrock, x)
print("grad(rosenbrock) at x =", np.round(g[:4], 4), "...")
print(f"max |grad - finite differences| = {np.max(np.abs(g - fd)):.2e}")

# 2. Value and gradient in one evaluation.
value, g2 = sg.value_and_grad(rosenbrock)(x)
print(f"value_and_grad: f = {value:.6f} (NumPy: {rosenbrock(x):.6f}), "
      f"same gradient: {np.allclose(g2, g)}")

# 3. The Hessian (a derivative graph of a derivative graph), checked against
#    finite differences of the gradient.
H = sg.hessian(rosenbrock)(x[:4])
H_fd = np.stack([central_differences(lambda z: grad_rosenbrock(z)[i], x[:4])
                 for i in range(4)])
print("hessian(rosenbrock) at x[:4]:")
print(np.round(H, 2))
print(f"max |hessian - finite differences| = {np.max(np.abs(H - H_fd)):.2e}")

# 4. jit: compile the function itself; later calls with the same shapes and
#    dtypes reuse the trace.
fast = sg.jit(rosenbrock)
print(f"jit(rosenbrock)(x) = {fast(x):.6f}; again: {fast(x):.6f}")


# 5. Python control flow on traced values works: the branch taken is recorded
#    as a guard, and a new path is traced when the guard fails.
def huber(r, delta=1.0):
    total = 0.0
    for ri in r:
        if np.abs(ri) <= delta:
            total = total + 0.5 * ri ** 2
        else:
            total = total + delta * (np.abs(ri) - 0.5 * delta)
    return total


huber_grad = sg.grad(huber)
print("grad(huber)([0.5, -3.0]) =", huber_grad(np.array([0.5, -3.0])))
print("grad(huber)([2.0,  0.1]) =", huber_grad(np.array([2.0, 0.1])))
print(huber_grad.cache_info())

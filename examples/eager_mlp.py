"""Train a two-layer tanh network with the eager, PyTorch-style API.

Plain SGD written by hand: forward with Tensor ops, ``loss.backward()``,
update the weights under ``sg.no_grad()``, ``.grad.zero_()`` each step. The
graph recorded each step has the same structure, so from the second step on
the backward runs the executable cached for it (``sg.autograd.cache_info()``).

    python examples/eager_mlp.py
"""
import numpy as np

import staticgrad as sg

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(256, 2))
Y = np.sin(X[:, :1]) * np.cos(X[:, 1:])  # the function to learn

W1 = sg.tensor(rng.standard_normal((2, 32)) * 0.5, requires_grad=True)
b1 = sg.zeros(32, dtype=sg.float64, requires_grad=True)
W2 = sg.tensor(rng.standard_normal((32, 1)) * 0.5, requires_grad=True)
b2 = sg.zeros(1, dtype=sg.float64, requires_grad=True)
params = [W1, b1, W2, b2]
x, y = sg.tensor(X), sg.tensor(Y)

learning_rate = 0.2
for step in range(501):
    hidden = sg.tanh(x @ W1 + b1)
    loss = sg.mean((hidden @ W2 + b2 - y) ** 2)
    loss.backward()
    with sg.no_grad():
        for p in params:
            p -= learning_rate * p.grad
            p.grad.zero_()
    if step % 100 == 0:
        print(f"step {step:3d}  loss {loss.item():.5f}")

info = sg.autograd.cache_info()
print(f"backward graphs derived: {info.builds}, executables made: {info.compiles}, "
      f"reused: {info.reuses} times")

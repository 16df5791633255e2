"""A 2-layer tanh MLP fitted to a noisy curve, trained twice from the same
start with the same NumPy loss function: with the functional API
(``sg.value_and_grad`` over a tuple of parameters) and with the eager,
PyTorch-style API (the loss run on ``sg.tensor``s, ``loss.backward()``,
``.grad``).

Run: python examples/mlp_training.py [loss_curve.png]
(tqdm adds a progress bar, matplotlib the loss-curve picture; both optional.)
"""
import os
import sys
import tempfile

import numpy as np

import staticgrad as sg

try:
    from tqdm import tqdm
except ImportError:
    print("note: tqdm is not installed; training without a progress bar")

    def tqdm(iterable, **kwargs):
        return iterable

STEPS, HIDDEN = 1500, 32

rng = np.random.default_rng(0)
X = np.linspace(-3, 3, 256).reshape(-1, 1)
Y = np.sin(2 * X) + 0.1 * rng.normal(size=X.shape)


def init_params():
    rng = np.random.default_rng(1)
    return (rng.normal(size=(1, HIDDEN)), np.zeros(HIDDEN),
            rng.normal(size=(HIDDEN, 1)) / np.sqrt(HIDDEN), np.zeros(1))


def mse(params, X, Y):
    """Plain NumPy: traced by value_and_grad, or run eagerly on tensors."""
    W1, b1, W2, b2 = params
    hidden = np.tanh(X @ W1 + b1)
    return np.mean((hidden @ W2 + b2 - Y) ** 2)


class Adam:
    """Adam: turns gradients (NumPy arrays) into the steps to subtract."""

    def __init__(self, shapes, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]

    def steps(self, grads):
        self.t += 1
        b1, b2 = self.betas
        for g, m, v in zip(grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            yield self.lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + self.eps)


def train_functional():
    params = init_params()
    optimizer = Adam([p.shape for p in params])
    loss_and_grads = sg.value_and_grad(mse)  # the gradient is a tuple like params
    losses, first_grads = [], None
    for _ in tqdm(range(STEPS), desc="functional", mininterval=1.0):
        loss, grads = loss_and_grads(params, X, Y)
        first_grads = first_grads or grads
        params = tuple(p - step for p, step in zip(params, optimizer.steps(grads)))
        losses.append(float(loss))
    print(loss_and_grads.cache_info())
    return losses, first_grads


def train_eager():
    params = [sg.tensor(p, requires_grad=True) for p in init_params()]
    optimizer = Adam([p.shape for p in params])
    losses, first_grads = [], None
    for _ in tqdm(range(STEPS), desc="eager", mininterval=1.0):
        loss = mse(params, X, Y)  # NumPy functions on tensors record the graph
        loss.backward()
        grads = [p.grad.numpy().copy() for p in params]
        first_grads = first_grads or grads
        with sg.no_grad():  # the update is not part of the graph
            for p, step in zip(params, optimizer.steps(grads)):
                p -= sg.tensor(step)
                p.grad.zero_()
        losses.append(loss.item())
    return losses, first_grads


def save_loss_curve(curves, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no loss-curve picture")
        return
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for name, losses in curves.items():
        ax.semilogy(losses, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("training MSE")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"loss curve written to {path}")


noise = np.mean((Y - np.sin(2 * X)) ** 2)
functional, functional_grads = train_functional()
print(f"functional API: loss {functional[0]:.4f} -> {functional[-1]:.4f} after {STEPS} steps "
      f"(the noise alone: {noise:.4f})")
curves = {"functional (value_and_grad)": functional}
if hasattr(sg, "tensor"):
    eager, eager_grads = train_eager()
    curves["eager (loss.backward())"] = eager
    gap = max(np.max(np.abs(a - b)) for a, b in zip(eager_grads, functional_grads))
    # Same start, same gradients; over many Adam steps rounding differences
    # (the two APIs sum in different orders) grow, so the curves drift apart slightly.
    print(f"eager API: loss {eager[0]:.4f} -> {eager[-1]:.4f} after {STEPS} steps")
    print(f"first step: max |eager gradient - functional gradient| = {gap:.1e}")
else:
    print("note: this staticgrad has no eager API (sg.tensor); skipping eager training")

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                             "staticgrad_mlp_loss.png")
save_loss_curve(curves, path)

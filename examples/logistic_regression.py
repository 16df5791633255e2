"""Logistic regression on synthetic data, fitted by gradient descent with
``sg.value_and_grad`` (the loss and its gradient in one evaluation).

Run: python examples/logistic_regression.py
"""
import numpy as np

import staticgrad as sg


def negative_log_likelihood(w, b, X, y):
    """Mean NLL of labels y in {0, 1}; softplus form, stable for any logit:
    -log sigmoid(z) = log(1 + e^-z) = logaddexp(0, -z)."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


rng = np.random.default_rng(0)
n, d = 2000, 10
w_true = rng.normal(size=d)
X = rng.normal(size=(n, d))
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w_true + 0.5)))).astype(float)
train, test = slice(0, 1500), slice(1500, None)

loss_and_grads = sg.value_and_grad(negative_log_likelihood, argnums=(0, 1))
w, b = np.zeros(d), np.zeros(())
learning_rate = 0.5
for step in range(301):
    loss, (gw, gb) = loss_and_grads(w, b, X[train], y[train])
    w, b = w - learning_rate * gw, b - learning_rate * gb
    if step % 100 == 0:
        print(f"step {step:3d}: training NLL = {loss:.4f}")


def accuracy(X, y):
    return np.mean(((X @ w + b) > 0) == (y == 1))


# The Bayes classifier (the true weights) is the best any fit can do.
bayes = np.mean(((X[test] @ w_true + 0.5) > 0) == (y[test] == 1))
print(f"training accuracy = {accuracy(X[train], y[train]):.3f}")
print(f"test accuracy = {accuracy(X[test], y[test]):.3f} (true weights: {bayes:.3f})")
print(f"cosine(w, w_true) = {w @ w_true / np.linalg.norm(w) / np.linalg.norm(w_true):.4f}")
print(loss_and_grads.cache_info())

"""Seed 004: the gradient of sum(x**2) at x = [1, 2, 3] is 2x, PyTorch spelling."""
import staticgrad as sg

x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = sg.sum(x ** 2)
y.backward()
print(x.grad)

"""Seed 004: y = x^2 + 2x + 1 at x = 3 has dy/dx = 2x + 2 = 8."""
import staticgrad as sg

x = sg.tensor([3.0], requires_grad=True)
y = x ** 2 + 2 * x + 1

y.backward()

print(x.grad)

"""Seed 003, d2l 2.5.4: gradient through Python control flow. f is linear
in a along the path taken, so a.grad == d / a."""
import staticgrad as sg


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


a = sg.randn(size=(), requires_grad=True)
d = f(a)
d.backward()

print((a, d, a.grad, d / a, a.grad == d / a))

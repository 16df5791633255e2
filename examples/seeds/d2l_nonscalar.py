"""Seed 003, d2l 2.5.2: backward of a non-scalar through its sum."""
import staticgrad as sg

x = sg.arange(4.0, requires_grad=True)
y = 2 * sg.dot(x, x)
y.backward()
x.grad.zero_()
y = x * x
y.sum().backward()
print(x.grad)

"""Seed 002, step 3: y and z both backward: x.grad accumulates 2 + 3 = 5."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
y = x**2
z = x**3

y.backward()
z.backward()

print(x.grad)

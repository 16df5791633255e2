"""Seed 002, step 4: only y backward."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
y = x**2
z = x**3

y.backward()

print(x.grad)

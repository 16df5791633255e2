"""Seed 002, step 6: x.grad.zero_() between two backward passes."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
y = x**2
y.backward()
print(x.grad)

x.grad.zero_()
z = x**3
z.backward()
print(x.grad)

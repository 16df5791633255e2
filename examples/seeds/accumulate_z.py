"""Seed 002, step 5: only z backward."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
y = x**2
z = x**3

z.backward()

print(x.grad)

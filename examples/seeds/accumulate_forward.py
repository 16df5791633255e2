"""Seed 002, step 2: a forward pass (prints nothing, as in the seed)."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
y = x**2
z = x**3

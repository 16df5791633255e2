"""Seed 002, step 1: a new tensor that requires grad."""
import staticgrad as sg

x = sg.ones(1, requires_grad=True)
print(x)

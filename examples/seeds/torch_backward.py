"""Seed 000: the same quadratic with the PyTorch spelling (torch -> sg)."""
import staticgrad as sg

root = sg.tensor([1.0, 2.0], dtype=sg.float32, requires_grad=True)


def fobj(x):
    return sg.sum(x**2)


y = fobj(root)
y.backward(retain_graph=True)
print('torch:', root.grad)
print(root*2)

"""Seed 004: z = x^2 + y^2 at (3, 4) has gradients 2x = 6 and 2y = 8."""
import staticgrad as sg

x = sg.tensor([3.0], requires_grad=True)
y = sg.tensor([4.0], requires_grad=True)
z = x ** 2 + y ** 2

z.backward()

print(x.grad)
print(y.grad)

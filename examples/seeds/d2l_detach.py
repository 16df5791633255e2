"""Seed 003, d2l 2.5.3: detach() makes u a constant, so d(u x)/dx = u; then
the gradient of y = x * x itself is 2x."""
import staticgrad as sg

x = sg.arange(4.0, requires_grad=True)
y = 2 * sg.dot(x, x)
y.backward()

x.grad.zero_()
y = x * x
u = y.detach()
z = u * x
z.sum().backward()
print((x, y, u, z, x.grad, x.grad == u))

x.grad.zero_()
y.sum().backward()
print(x.grad == 2 * x)

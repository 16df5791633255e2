"""Seed 000: paddle.autograd.backward on f(x) = x0^2 + x1^2 at x = [1, 2]
(paddle -> sg; the gradient is [2, 4] = 2 * root)."""
import staticgrad as sg

root = sg.to_tensor([1.0, 2.0], dtype='float32', stop_gradient=False)


def fobj(x):
    return (sg.sum(x**2))


y = fobj(root)
sg.autograd.backward(y, None, True)
print('paddle:', root.grad)
print(2*root)

"""Seed 003, d2l 2.5.1: y = 2 x.x, dy/dx = 4x; then the gradient of x.sum()."""
import staticgrad as sg

# 1. the initial tensor
x = sg.arange(4.0)
print("初始 x:", x)
# 2. track gradients
x.requires_grad_(True)
print("x.requires_grad:", x.requires_grad)
# 3. no gradient yet
print("初始 x.grad:", x.grad)
# 4. forward
y = 2 * sg.dot(x, x)
print("y 的值:", y)
# 5. backward
y.backward()
# 6. the gradient 4x
print("计算后的 x.grad:", x.grad)
# 7. zero it
x.grad.zero_()
print("清零后的 x.grad:", x.grad)
y = x.sum()
y.backward()
print(x.grad)

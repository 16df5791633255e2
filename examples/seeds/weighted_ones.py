"""Seed 002, vector form: y = empty([3, 1]) filled by setitem from x joins the
graph; backward of the non-scalar y weighted by ones."""
import staticgrad as sg

x = sg.tensor([[-1.5], [2.7]], requires_grad=True)
print(x)

y = sg.empty([3,1])
y[0] = x[0]**2
y[1] = x[1]**3
y[2] = x[1]**4
y.backward(gradient=sg.ones(y.size()))
print(x.grad)


dy0 = 2*x[0]
dy1 = 3*x[1]**2
dy2 = 4*x[1]**3

dy_dx0 = dy0
dy_dx1 = dy1+dy2

print(dy_dx0)
print(dy_dx1)

"""Seed 001: Tensor.backward(retain_graph=True) lets a second backward run
through the same graph; without it the second backward raises.

The seed's ``torch.nn.Linear(1, 1)`` is a tiny hand-written linear layer."""
import staticgrad as sg


class Linear:
    def __init__(self, in_features, out_features):
        bound = 1 / in_features ** 0.5
        self.weight = (sg.rand(out_features, in_features) * 2 - 1) * bound
        self.bias = (sg.rand(out_features) * 2 - 1) * bound
        self.weight.requires_grad_(True)
        self.bias.requires_grad_(True)

    def __call__(self, input):
        return input @ self.weight.T + self.bias


class Function:
    def __init__(self):
        self.Linear = Linear(1, 1)

    def forward(self, input):
        output = self.Linear(input)
        return output

    __call__ = forward


func = Function()
x = sg.tensor([1.0])
x.requires_grad = True
y = func(x) ** 2
y.backward(retain_graph=True)
y.backward()
# Each backward adds d(y)/dx = 2 (w x + b) w to x.grad.
w, b = func.Linear.weight.item(), func.Linear.bias.item()
print(f"x.grad: {x.grad.item():.4f}  expected: {2 * (2 * (w * 1.0 + b) * w):.4f}")

y = func(x) ** 2
y.backward()
try:
    y.backward()
except RuntimeError as error:
    print(str(error).split(" (")[0])

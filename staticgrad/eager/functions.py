"""Module-level functions (``sg.sigmoid``, ``sg.sum``, ``sg.exp``, ...): on
Tensors recorded, on traced values traced, on arrays evaluated."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import compiler.ops as O
from staticgrad.eager.dispatch import _call
from staticgrad.eager.factories import _public
from staticgrad.eager.operations import _axis, _reduce_kwargs, install_methods
from staticgrad.eager.tensor_type import Tensor
from staticgrad.tracing import Tracer


def _values_fn(name: str, rule: Callable, example: str) -> Callable:
    """A function written with compiler Values (``compiler.ops``), usable on
    Tensors (eager, recorded), Tracers (traced) and arrays (evaluated)."""
    def build(x, *args):
        return Tracer(x.ctx, rule(x.value, *args).node)

    def fn(x: Any, *args: Any) -> Any:
        if isinstance(x, Tracer):
            return build(x, *args)
        if isinstance(x, Tensor):
            return _call(name, build, (x,) + args)
        return _call(name, build, (Tensor(np.asarray(x)),) + args)._array
    public = example.split("(")[0]
    return _public(fn, public, f"``{public}`` of a Tensor (recorded), a traced value or an array.",
                   example)


sigmoid = _values_fn("Sigmoid", O.sigmoid, "sigmoid(sg.tensor([0.0]))\n    tensor([0.5000])")
softplus = _values_fn("Softplus", O.softplus, "softplus(sg.tensor([0.0]))\n    tensor([0.6931])")
relu = _values_fn("Relu", lambda x: O.maximum(x, 0),
                  "relu(sg.tensor([-1.0, 2.0]))\n    tensor([0., 2.])")
softmax = _values_fn("Softmax", lambda x, dim=-1: O.softmax(x, axis=dim),
                     "softmax(sg.tensor([0.0, 0.0]))\n    tensor([0.5000, 0.5000])")
log_softmax = _values_fn("LogSoftmax", lambda x, dim=-1: O.log_softmax(x, axis=dim),
                         "log_softmax(sg.tensor([0.0, 0.0]))\n    tensor([-0.6931, -0.6931])")
logsumexp = _values_fn("Logsumexp", lambda x, dim=None, keepdim=False:
                       O.logsumexp(x, axis=dim, keepdims=keepdim),
                       "logsumexp(sg.tensor([0.0, 0.0]))\n    tensor(0.6931)")


def _reduce(name: str, np_fn: Callable, shows: str) -> Callable:
    method = getattr(Tensor, name)

    def fn(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
           axis: Any = None, keepdims: bool | None = None) -> Any:
        if isinstance(x, Tensor):  # as the method: named as PyTorch's, no dispatch through NumPy
            return method(x, dim, keepdim, dtype, axis=axis, keepdims=keepdims)
        return np_fn(x, **_reduce_kwargs(dim, keepdim, dtype, axis, keepdims))
    return _public(fn, name, f"``{name}`` over ``dim`` (PyTorch) or ``axis`` (NumPy, Paddle) of "
                   "a Tensor, a traced value or an array.",
                   f"{name}(sg.tensor([[1., 2.], [3., 4.]]), dim=0)\n    {shows}")


sum = _reduce("sum", np.sum, "tensor([4., 6.])")
mean = _reduce("mean", np.mean, "tensor([2., 3.])")
prod = _reduce("prod", np.prod, "tensor([3., 8.])")
amax = _reduce("amax", np.max, "tensor([3., 4.])")
amin = _reduce("amin", np.min, "tensor([1., 2.])")


def norm(x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *,
         axis: Any = None) -> Any:
    """PyTorch's norm: with ``dim=None`` the p-norm of all elements.

    >>> import staticgrad as sg
    >>> sg.norm(sg.tensor([3.0, 4.0]))
    tensor(5.)
    """
    axis = _axis(dim, axis)
    ord = None if p in ("fro", 2, 2.0) else p
    if axis is None and np.ndim(x) > 1:
        x = np.reshape(x, (-1,))
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdim)


def _elementwise(name: str, ufunc: np.ufunc, example: str) -> Callable:
    """``sg.exp`` and friends: on a Tensor its method (recorded, without the
    detour through NumPy's ufunc protocol), otherwise the ufunc itself."""
    method = getattr(Tensor, name)

    def fn(x: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(x, Tensor) and not args and not kwargs:
            return method(x)
        return ufunc(x, *args, **kwargs)
    return _public(fn, name, f"``np.{ufunc.__name__}`` of a Tensor (recorded), a traced value or "
                   "an array.", name + example)


exp = _elementwise("exp", np.exp, "(sg.tensor([0.0]))\n    tensor([1.])")
log = _elementwise("log", np.log, "(sg.tensor([1.0]))\n    tensor([0.])")
log1p = _elementwise("log1p", np.log1p, "(sg.tensor([0.0]))\n    tensor([0.])")
expm1 = _elementwise("expm1", np.expm1, "(sg.tensor([0.0]))\n    tensor([0.])")
sin = _elementwise("sin", np.sin, "(sg.tensor([0.0]))\n    tensor([0.])")
cos = _elementwise("cos", np.cos, "(sg.tensor([0.0]))\n    tensor([1.])")
tan = _elementwise("tan", np.tan, "(sg.tensor([0.0]))\n    tensor([0.])")
tanh = _elementwise("tanh", np.tanh, "(sg.tensor([0.0]))\n    tensor([0.])")
sinh = _elementwise("sinh", np.sinh, "(sg.tensor([0.0]))\n    tensor([0.])")
cosh = _elementwise("cosh", np.cosh, "(sg.tensor([0.0]))\n    tensor([1.])")
sqrt = _elementwise("sqrt", np.sqrt, "(sg.tensor([4.0]))\n    tensor([2.])")
abs = _elementwise("abs", np.absolute, "(sg.tensor([-2.0]))\n    tensor([2.])")
sign = _elementwise("sign", np.sign, "(sg.tensor([-2.0]))\n    tensor([-1.])")
square = _elementwise("square", np.square, "(sg.tensor([3.0]))\n    tensor([9.])")
maximum, minimum, where = np.maximum, np.minimum, np.where
dot, matmul, outer = np.dot, np.matmul, np.outer
add, subtract, multiply, divide = np.add, np.subtract, np.multiply, np.true_divide
mul, sub, div = multiply, subtract, divide
concatenate, stack, reshape, transpose = np.concatenate, np.stack, np.reshape, np.transpose
cat = concat = concatenate


def pow(x: Any, exponent: Any) -> Any:
    """``x ** exponent``.

    >>> import staticgrad as sg
    >>> sg.pow(sg.tensor([2.0]), 3)
    tensor([8.])
    """
    return x ** exponent


def clamp(x: Any, min: Any = None, max: Any = None) -> Any:
    """Limit values to [min, max] (gradient passes where min <= x <= max).

    >>> import staticgrad as sg
    >>> sg.clamp(sg.tensor([-1.0, 0.5, 2.0]), 0, 1)
    tensor([0.0000, 0.5000, 1.0000])
    """
    return np.clip(x, min, max)


clip = clamp


def reduce_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """TensorFlow's spelling of sum.

    >>> import staticgrad as sg
    >>> sg.reduce_sum(sg.tensor([1.0, 2.0]))
    tensor(3.)
    """
    return np.sum(x, axis=axis, keepdims=keepdims)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is an eager Tensor.

    >>> import staticgrad as sg
    >>> sg.is_tensor(sg.ones(1)), sg.is_tensor([1.0])
    (True, False)
    """
    return isinstance(x, Tensor)


class _FunctionMethods:
    """The methods that are the functions above, installed onto Tensor."""

    def norm(self, p="fro", dim=None, keepdim=False, *, axis=None):
        """The p-norm of all elements (``dim=None``) or along ``dim``."""
        return norm(self, p, _axis(dim, axis), keepdim)

    def sigmoid(self):
        return sigmoid(self)

    def relu(self):
        return relu(self)

    def softmax(self, dim=-1):
        return softmax(self, dim)

    def log_softmax(self, dim=-1):
        return log_softmax(self, dim)


install_methods(_FunctionMethods, Tensor)

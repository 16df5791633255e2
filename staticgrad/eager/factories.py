"""Factories: new leaf tensors from data, of a size, or drawn at random."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from staticgrad.eager.dtypes import DEFAULT_FLOAT
from staticgrad.eager.tensor_type import Tensor, _array, _as_dtype, _shape


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """A leaf tensor holding a copy of ``data`` (Python floats -> float32).

    >>> import staticgrad as sg
    >>> x = sg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """
    t = Tensor._make(_array(data, dtype))
    t.requires_grad = requires_grad
    return t


def to_tensor(data: Any, dtype: Any = None, place: Any = None,
              stop_gradient: bool = True) -> Tensor:
    """Paddle's spelling: ``stop_gradient=False`` makes a tensor that requires grad.

    >>> import staticgrad as sg
    >>> x = sg.to_tensor([1.0, 2.0], dtype='float32', stop_gradient=False)
    >>> x.stop_gradient, x.requires_grad
    (False, True)
    """
    return tensor(data, dtype, requires_grad=not stop_gradient)


def _public(fn: Callable, name: str, summary: str, example: str) -> Callable:
    """``fn`` named ``name``, its docstring ``summary`` and the doctest
    ``sg.<example>`` (the call, then what it prints on indented lines)."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{summary}\n\n    >>> import staticgrad as sg\n    >>> sg.{example}\n"
    return fn


def _factory(name: str, fill: Callable, what: str, example: str) -> Callable:
    def make(*size: int, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        shape = _shape((kw["size"],) if "size" in kw else size)
        return tensor(fill(shape, _as_dtype(dtype) or DEFAULT_FLOAT), requires_grad=requires_grad)
    return _public(make, name, f"A new float32 (or ``dtype``) tensor of {what}, as "
                   f"``torch.{name}``; the size is given as ints, a list or ``size=``.",
                   name + example)


empty = _factory("empty", np.empty, "the given size", "([3, 1]).shape\n    (3, 1)")
zeros = _factory("zeros", np.zeros, "zeros", "(2, 2)\n    tensor([[0., 0.],\n"
                                             "            [0., 0.]])")
ones = _factory("ones", np.ones, "ones", "(2, requires_grad=True)\n"
                                         "    tensor([1., 1.], requires_grad=True)")
def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``.

    >>> import staticgrad as sg
    >>> sg.full((2,), 3.0)
    tensor([3., 3.])
    """
    dtype = _as_dtype(dtype) or (DEFAULT_FLOAT if isinstance(fill_value, float) else None)
    return tensor(np.full(_shape((size,)), fill_value, dtype), requires_grad=requires_grad)


def _like(factory: Callable, example: str) -> Callable:
    def like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        array = t._array if isinstance(t, Tensor) else np.asarray(t)
        return factory(array.shape, dtype=dtype or array.dtype, requires_grad=requires_grad)
    name = f"{factory.__name__}_like"
    return _public(like, name, f"``{factory.__name__}`` of ``t``'s shape and dtype.",
                   name + example)


zeros_like = _like(zeros, "(sg.ones(2))\n    tensor([0., 0.])")
ones_like = _like(ones, "(sg.zeros(2))\n    tensor([1., 1.])")


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """As torch.arange: float arguments give float32.

    >>> import staticgrad as sg
    >>> sg.arange(4.0)
    tensor([0., 1., 2., 3.])
    """
    args = (start,) if end is None else (start, end, step)
    dtype = _as_dtype(dtype)
    if dtype is None and any(isinstance(a, float) for a in args):
        dtype = DEFAULT_FLOAT
    return tensor(np.arange(*args, dtype=dtype), requires_grad=requires_grad)


_RNG = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``rand`` and ``randn``.

    >>> import numpy as np, staticgrad as sg
    >>> sg.manual_seed(0); a = sg.rand(3)
    >>> sg.manual_seed(0); np.array_equal(sg.rand(3), a)
    True
    """
    global _RNG
    _RNG = np.random.default_rng(seed)


seed = manual_seed

# Drawn in float64 and rounded, so a seed gives the same numbers in every dtype.
rand = _factory("rand", lambda shape, dtype: _RNG.random(shape).astype(dtype),
                "uniform samples in [0, 1)", "(2, 3).shape\n    (2, 3)")
randn = _factory("randn", lambda shape, dtype: _RNG.standard_normal(shape).astype(dtype),
                 "standard normal samples (``size=()``: 0-d)",
                 "(size=(), requires_grad=True).shape\n    ()")

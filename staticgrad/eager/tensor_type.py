"""The Tensor: an array with PyTorch/Paddle autograd attributes.

A ``Tensor`` holds a NumPy array (``t._array``; ``t.data`` is, as in PyTorch,
an untracked Tensor sharing it), a version counter and, when it was computed
from tensors that require grad, a ``grad_fn`` node (staticgrad.eager.records).
This module is the class's storage, attributes and conversions; its
operations (operators, NumPy protocols, methods) are installed by
staticgrad.eager.operations, which runs them through the fragment dispatch
(staticgrad.eager.dispatch) that in turn makes Tensors, and ``backward`` by
staticgrad.autograd.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from staticgrad.eager.dtypes import DEFAULT_FLOAT
from staticgrad.eager.grad_mode import _GradMode
from staticgrad.eager.printing import format_tensor
from staticgrad.eager.records import _UIDS, _Version
from staticgrad.errors import UnsupportedOperationError


def _as_dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else np.dtype(dtype)


def _array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array of ``data`` with PyTorch's defaults: Python floats -> float32."""
    dtype = _as_dtype(dtype)
    if isinstance(data, Tensor):
        data = data._array
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [np.asarray(v._array if isinstance(v, Tensor) else v) for v in data]
    array = np.array(data, dtype=dtype, copy=True)
    python_floats = not isinstance(data, (np.ndarray, np.generic)) and array.dtype == np.float64
    if dtype is None and python_floats:
        array = array.astype(DEFAULT_FLOAT)
    if array.dtype == object:
        raise TypeError(f"cannot make a tensor of {type(data).__name__}")
    return array


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


class Tensor:
    """An array with PyTorch/Paddle autograd semantics (see the module docstring)."""

    __array_priority__ = 1000
    # Defaults until set on the tensor: a new tensor costs three attributes.
    grad = grad_fn = None
    _requires_grad = _retains_grad = False

    def __init__(self, data: Any = (), dtype: Any = None, requires_grad: bool = False):
        """``Tensor(array)`` wraps the array itself; ``Tensor([1, 2])`` is float32,
        as ``torch.Tensor``."""
        if isinstance(data, Tensor):
            data = data._array
        elif not isinstance(data, np.ndarray):
            data = _array(data, dtype or DEFAULT_FLOAT)
        self._array = data if dtype is None else data.astype(_as_dtype(dtype), copy=False)
        self._version = _Version()
        self._uid = next(_UIDS)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, array: np.ndarray) -> "Tensor":
        t = cls.__new__(cls)
        t._array = array
        t._version = _Version()
        t._uid = next(_UIDS)
        return t

    # -- autograd attributes ------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                                   "If you want to use a computed variable in a subgraph that "
                                   "doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            return
        if flag and self._array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(this one is {self._array.dtype})")
        self._requires_grad = bool(flag)

    @property
    def stop_gradient(self) -> bool:
        """Paddle's spelling: ``not requires_grad``."""
        return not self._requires_grad

    @stop_gradient.setter
    def stop_gradient(self, flag: bool) -> None:
        self.requires_grad = not flag

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version_value(self) -> int:
        return self._version.value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True

    def detach(self) -> "Tensor":
        """A leaf sharing this tensor's array and version counter."""
        t = Tensor._make(self._array)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    # backward(): installed by staticgrad.autograd, which builds on this class.

    # -- array attributes -------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The values as a leaf sharing this tensor's array; changes made through
        it are not tracked (``w.data -= lr * w.grad``), as in PyTorch."""
        return Tensor._make(self._array)

    @data.setter
    def data(self, value: Any) -> None:
        self._array = np.asarray(value._array if isinstance(value, Tensor) else value)

    @property
    def shape(self) -> tuple:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def device(self) -> str:
        return "cpu"

    def size(self, dim: int | None = None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def numel(self) -> int:
        return int(self._array.size)

    def dim(self) -> int:
        return self._array.ndim

    def __len__(self) -> int:
        if not self._array.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               "to Scalar")
        return self._array.reshape(()).item()

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._array

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and _GradMode.enabled:
            # np.asarray(t), np.array(t), and NumPy functions that convert
            # their arguments without dispatching to the Tensor: the result
            # would silently lose the gradient (torch refuses it too).
            raise UnsupportedOperationError(
                "a Tensor that requires grad cannot be converted to a NumPy array "
                "(np.asarray, np.array, or a NumPy function that converts its arguments): "
                "the result would silently lose the gradient. Use tensor.detach().numpy(), "
                "or the NumPy functions staticgrad records")
        return self._array if dtype is None else self._array.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self._array)

    def __float__(self) -> float:
        return float(self._array)

    def __int__(self) -> int:
        return int(self._array)

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._array)

    __hash__ = object.__hash__  # as torch.Tensor: hashed by identity, == is elementwise

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __repr__(self) -> str:
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._array.ndim == 0 and spec:
            return format(self._array.item(), spec)
        return format(repr(self), spec)

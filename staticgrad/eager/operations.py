"""Tensor's operations: operators, NumPy protocols, in-place updates and the
PyTorch/Paddle/NumPy methods, each run through the fragment dispatch.

They are written in the body of a class of their own and installed onto
``Tensor`` by ``install_methods``, as ``compiler.ops`` installs ``Value``'s
operators: the Tensor module stays storage and attributes, and the dispatch,
which makes Tensors, needs no import back from here.
"""
from __future__ import annotations

import weakref

import numpy as np

import compiler.ops as O
from staticgrad.eager.dispatch import _call, _untracked
from staticgrad.eager.grad_mode import _GradMode
from staticgrad.eager.tensor_type import Tensor, _as_dtype, _shape
from staticgrad.numpy_api import FUNCTIONS, REDUCERS, UFUNCS, public_name
from staticgrad.tracing import Tracer, install_operators, to_value

_CLASS_BOOKKEEPING = frozenset(vars(type("Empty", (), {})))


def install_methods(source: type, target: type) -> type:
    """Copy the attributes defined in ``source``'s body onto ``target``."""
    for name, value in vars(source).items():
        if name in _CLASS_BOOKKEEPING:
            continue
        qualname = getattr(value, "__qualname__", "")
        if qualname.startswith(source.__qualname__ + "."):  # Tensor.clamp, not _Operations.clamp
            value.__qualname__ = target.__qualname__ + qualname[len(source.__qualname__):]
        setattr(target, name, value)
    return target


def _axis(dim, axis):
    return axis if axis is not None else (tuple(dim) if isinstance(dim, list) else dim)


def _keep(keepdim, keepdims):
    return bool(keepdims if keepdims is not None else keepdim)


def _reduce_kwargs(dim, keepdim, dtype, axis, keepdims) -> dict:
    """NumPy's reduction keywords from PyTorch's (dim, keepdim, dtype) or NumPy's."""
    kwargs = {"axis": _axis(dim, axis), "keepdims": _keep(keepdim, keepdims)}
    if dtype is not None:
        kwargs["dtype"] = _as_dtype(dtype)
    return kwargs


class _Operations:
    """Installed onto Tensor (see the module docstring)."""

    # -- NumPy protocols: np.sin(t) and friends return Tensors ------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any([isinstance(x, Tracer) for x in inputs]):
            return NotImplemented
        supported = (ufunc in UFUNCS if method == "__call__" else
                     method == "reduce" and ufunc in REDUCERS)
        if supported and "out" not in kwargs:
            fn = ufunc if method == "__call__" else getattr(ufunc, method)
            return _call(lambda: _ufunc_name(ufunc, inputs), fn, inputs, kwargs)
        return _untracked(f"np.{ufunc.__name__}" + ("" if method == "__call__" else "." + method),
                          getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any([issubclass(t, Tracer) for t in types]):
            return NotImplemented
        if func in FUNCTIONS and "out" not in kwargs:
            return _call(func.__name__.capitalize(), func, args, kwargs)
        return _untracked(public_name(func), func, args, kwargs)

    # -- operators: binary ones installed below the class (install_operators);
    # -x and abs(x) are neg and abs among the unary methods -------------------------

    def __pos__(self):
        return self

    def __invert__(self):
        return _call("Not", np.logical_not, (self,))

    # -- in place: computed out of place, written into this tensor's array ----------
    def _check_inplace(self) -> None:
        if _GradMode.enabled and self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")

    def _assign(self, result: "Tensor") -> "Tensor":
        if result._array.shape != self._array.shape:
            raise RuntimeError(f"output with shape {list(self._array.shape)} doesn't match the "
                               f"broadcast shape {list(result._array.shape)}")
        np.copyto(self._array, result._array, casting="same_kind")
        self._version.value += 1
        if result.grad_fn is not None:
            # This tensor is now the op's output: its node records this array
            # at its new version.
            node = result.grad_fn
            node.out_data = self._array
            node.out_version = self._version
            node.out_seen = self._version.value
            node.out_ref = weakref.ref(self)
            self.grad_fn = node
            self._requires_grad = True
        return self

    def _inplace(name, ufunc):
        def method(self, other):
            self._check_inplace()
            if not (_GradMode.enabled and (self._requires_grad or getattr(
                    other, "_requires_grad", False))):  # nothing to record
                ufunc(self._array, other._array if isinstance(other, Tensor) else other,
                      out=self._array, casting="same_kind")
                self._version.value += 1
                return self
            return self._assign(_call(name, ufunc, (self, other)))
        return method

    __iadd__ = add_ = _inplace("Add", np.add)
    __isub__ = sub_ = _inplace("Sub", np.subtract)
    __imul__ = mul_ = _inplace("Mul", np.multiply)
    __itruediv__ = div_ = _inplace("Div", np.true_divide)
    __ipow__ = pow_ = _inplace("Pow", np.power)
    del _inplace

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        self._check_inplace()
        if not isinstance(value, Tensor):
            self._array.fill(value)
        elif value._requires_grad and _GradMode.enabled:
            return self._assign(_call("Fill", _fill_like, (self, value)))
        else:
            self._array[...] = value._array
        self._version.value += 1
        if self.grad_fn is not None:
            self.grad_fn = None
            self._requires_grad = False
        return self

    def copy_(self, src) -> "Tensor":
        self._check_inplace()
        return self._assign(_call("Copy", _fill_like, (self, src)))

    def __setitem__(self, key, value) -> None:
        """``y[key] = v``: written into y's array; y's grad_fn becomes the
        functional update (CopySlices), so y joins the graph."""
        self._check_inplace()
        return self._assign(_call("CopySlices", _setitem, (self, _index_key(key), value)))

    def __getitem__(self, key):
        key = _index_key(key)
        return _call(_index_name(key), _getitem, (self, key))

    # -- methods (PyTorch and Paddle spellings; NumPy's axis/keepdims too) ---------
    def _reduction(name, np_fn, numbered=True):
        """A reduction in PyTorch's (dim, keepdim, dtype) and NumPy's (axis,
        keepdims) spellings; ``numbered``: the grad_fn's name tells a full
        reduction (SumBackward0) from one along dims (SumBackward1), as PyTorch's."""
        def method(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
            kwargs = _reduce_kwargs(dim, keepdim, dtype, axis, keepdims)
            return _call(name + ("1" if numbered and kwargs["axis"] is not None else ""), np_fn,
                         (self,), kwargs)
        return method

    sum = _reduction("Sum", np.sum)
    mean = _reduction("Mean", np.mean)
    prod = _reduction("Prod", np.prod)
    amax = _reduction("Amax", np.max, numbered=False)
    amin = _reduction("Amin", np.min, numbered=False)
    del _reduction

    def _spread(name, np_fn):
        def method(self, dim=None, unbiased=True, keepdim=False, *, axis=None, keepdims=None,
                   ddof=None):
            ddof = (1 if unbiased else 0) if ddof is None else ddof
            return _call(name, np_fn, (self,), {"axis": _axis(dim, axis), "ddof": ddof,
                                                "keepdims": _keep(keepdim, keepdims)})
        return method

    var = _spread("Var", np.var)
    std = _spread("Std", np.std)
    del _spread

    def _extreme(name, np_fn, arg_fn):
        def method(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
            """Without ``dim`` the extreme value; with it ``(values, indices)`` as PyTorch."""
            axis, keep = _axis(dim, axis), _keep(keepdim, keepdims)
            values = _call(name, np_fn, (self,), {"axis": axis, "keepdims": keep})
            if dim is None:
                return values
            return values, Tensor._make(arg_fn(self._array, axis=axis, keepdims=keep))
        return method

    max = _extreme("Max", np.max, np.argmax)
    min = _extreme("Min", np.min, np.argmin)
    del _extreme

    def argmax(self, dim=None, keepdim=False):
        return Tensor._make(np.argmax(self._array, axis=dim, keepdims=keepdim))

    def argmin(self, dim=None, keepdim=False):
        return Tensor._make(np.argmin(self._array, axis=dim, keepdims=keepdim))

    def dot(self, other):
        return _call("Dot", np.dot, (self, other))

    def matmul(self, other):
        return self @ other

    mm = mv = matmul

    def pow(self, exponent):
        return self ** exponent

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else alpha * other)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else alpha * other)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    multiply, divide, subtract = mul, div, sub

    def _unary(name, ufunc):
        return lambda self: _call(name, ufunc, (self,))

    exp = _unary("Exp", np.exp)
    log = _unary("Log", np.log)
    log1p = _unary("Log1p", np.log1p)
    expm1 = _unary("Expm1", np.expm1)
    sqrt = _unary("Sqrt", np.sqrt)
    sin = _unary("Sin", np.sin)
    cos = _unary("Cos", np.cos)
    tan = _unary("Tan", np.tan)
    tanh = _unary("Tanh", np.tanh)
    sinh = _unary("Sinh", np.sinh)
    cosh = _unary("Cosh", np.cosh)
    asin = arcsin = _unary("Asin", np.arcsin)
    acos = arccos = _unary("Acos", np.arccos)
    atan = arctan = _unary("Atan", np.arctan)
    __abs__ = abs = _unary("Abs", np.absolute)
    __neg__ = neg = negative = _unary("Neg", np.negative)
    sign = _unary("Sign", np.sign)
    square = _unary("Square", np.square)
    reciprocal = _unary("Reciprocal", np.reciprocal)
    floor = _unary("Floor", np.floor)
    ceil = _unary("Ceil", np.ceil)
    del _unary

    def clamp(self, min=None, max=None):
        return _call("Clamp", np.clip, (self, min, max))

    clip = clamp

    def maximum(self, other):
        return _call("Maximum", np.maximum, (self, other))

    def minimum(self, other):
        return _call("Minimum", np.minimum, (self, other))

    def reshape(self, *shape):
        shape = _shape(shape)
        return _call("View", np.reshape, (self, shape))

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self):
        return self.reshape(-1)

    def transpose(self, *dims):
        """PyTorch's ``transpose(dim0, dim1)``; with a permutation, NumPy's."""
        if len(dims) == 2 and all(isinstance(d, int) for d in dims):
            return _call("Transpose", np.swapaxes, (self, dims[0], dims[1]))
        dims = dims[0] if len(dims) == 1 else (dims or None)
        return _call("Permute", np.transpose, (self, dims))

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return _call("Permute", np.transpose, (self, dims))

    def t(self):
        return _call("T", np.transpose, (self,))

    @property
    def T(self):
        return _call("Permute", np.transpose, (self,))

    def unsqueeze(self, dim):
        return _call("Unsqueeze", np.expand_dims, (self, dim))

    def squeeze(self, dim=None):
        return _call("Squeeze", np.squeeze, (self, dim))

    def expand(self, *sizes):
        sizes = _shape(sizes)
        shape = tuple(n if s == -1 else s for s, n in
                      zip(sizes, (1,) * (len(sizes) - self.ndim) + self.shape))
        return _call("Expand", np.broadcast_to, (self, shape))

    def expand_as(self, other):
        return self.expand(other.shape)

    def astype(self, dtype):
        return _call("To", _cast, (self, str(_as_dtype(dtype))))

    def to(self, dtype=None, *args, **kwargs):
        if dtype is None or isinstance(dtype, str) and dtype in ("cpu", "cuda"):
            return self
        return self.astype(dtype)

    type = to

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def long(self):
        return self.astype(np.int64)

    def int(self):
        return self.astype(np.int32)

    def bool(self):
        return self.astype(np.bool_)

    def clone(self):
        return _call("Clone", np.copy, (self,))

    def copy(self):
        return self.clone()

    def cpu(self):
        return self


install_methods(_Operations, Tensor)


# -- builders of fragments that have no single NumPy spelling ---------------------
def _tensor_operator(ufunc: np.ufunc, reflected: bool):
    def method(self, other):
        if isinstance(other, Tracer):
            return NotImplemented
        args = (other, self) if reflected else (self, other)
        return _call(lambda: _ufunc_name(ufunc, args), ufunc, args)
    return method


install_operators(Tensor, _tensor_operator)


def _getitem(x, key):
    return x[key]


def _setitem(base, key, value):
    return O.setitem(base.value, to_value(key), to_value(value))


def _fill_like(base, value):
    v = value.value if isinstance(value, Tracer) else value
    v = O.as_value(base.value.graph, v, [base.value])
    if v.dtype != base.dtype:
        v = O.cast(v, base.dtype)
    return O.broadcast_to(v, base.shape)


def _cast(x, dtype):
    return O.cast(x.value, np.dtype(dtype))


def _index_key(key):
    """Tensor indices become arrays; boolean masks become the integer arrays of
    their positions (the eager value is known, so the shape is too)."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item._array
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype == np.bool_:
            out.extend(np.nonzero(item))
        else:
            out.append(item)
    return tuple(out) if isinstance(key, tuple) or len(out) != 1 else out[0]


def _index_name(key) -> str:
    items = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, np.ndarray) for k in items):
        return "Index"
    if all(isinstance(k, (int, np.integer)) for k in items):
        return "Select"
    return "Slice"


_UFUNC_NAMES = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div",
                "divide": "Div", "power": "Pow", "negative": "Neg", "absolute": "Abs",
                "arcsin": "Asin", "arccos": "Acos", "arctan": "Atan"}


def _ufunc_name(ufunc, args) -> str:
    if ufunc is np.matmul:
        ndims = [np.ndim(a._array if isinstance(a, Tensor) else a) for a in args]
        return {(2, 2): "Mm", (1, 1): "Dot", (2, 1): "Mv"}.get(tuple(ndims), "Matmul")
    name = _UFUNC_NAMES.get(ufunc.__name__, ufunc.__name__.capitalize())
    if ufunc is np.power and isinstance(args[1], Tensor):
        return "Pow1"
    if ufunc is np.subtract and not isinstance(args[0], Tensor):
        return "Rsub1"
    return name

"""The table from NumPy ufuncs, functions and ndarray methods to IR ops.

Each entry is a function over ``compiler.ir.Value`` with NumPy's signature;
Tracers are unwrapped before the call and the result is wrapped again. A NumPy
function that is not in the table raises ``UnsupportedOperationError`` naming
it, never a silently wrong number.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import compiler.ops as O
from compiler.ir import Value
from staticgrad.errors import UnsupportedOperationError
from staticgrad.tracing import Tracer, find_context, first, to_tracer, to_value

UFUNCS: dict[np.ufunc, Callable] = {
    np.add: O.add, np.subtract: O.sub, np.multiply: O.mul, np.true_divide: O.div,
    np.power: O.power, np.float_power: O.power, np.negative: O.neg,
    np.positive: lambda x: x, np.matmul: O.matmul,
    np.exp: O.exp, np.log: O.log, np.log1p: O.log1p, np.expm1: O.expm1, np.sqrt: O.sqrt,
    np.sin: O.sin, np.cos: O.cos, np.tan: O.tan, np.tanh: O.tanh, np.arcsin: O.arcsin,
    np.arccos: O.arccos, np.arctan: O.arctan, np.sinh: O.sinh, np.cosh: O.cosh,
    np.absolute: O.abs, np.fabs: O.abs, np.sign: O.sign, np.floor: O.floor, np.ceil: O.ceil,
    np.maximum: O.maximum, np.minimum: O.minimum, np.fmax: O.maximum, np.fmin: O.minimum,
    np.arctan2: O.arctan2, np.logaddexp: O.logaddexp,
    np.square: O.square, np.reciprocal: O.reciprocal, np.log2: O.log2, np.log10: O.log10,
    np.exp2: O.exp2,
    np.greater: O.greater, np.greater_equal: O.greater_equal, np.less: O.less,
    np.less_equal: O.less_equal, np.equal: O.equal, np.not_equal: O.not_equal,
    np.logical_and: O.logical_and, np.logical_or: O.logical_or, np.logical_not: O.logical_not,
}

# ufunc.reduce for the ufuncs that have a reduction op.
REDUCERS = {np.add: O.sum, np.multiply: O.prod, np.maximum: O.amax, np.minimum: O.amin}


def _graph(args) -> Any:
    """The graph of the first Value found in (nested lists of) arguments."""
    value = first(args, Value)
    return None if value is None else value.graph


def _values(graph, xs):
    return [x if isinstance(x, Value) else graph.const(np.asarray(x)) for x in xs]


def _no(kwargs, name, allowed=()):
    """Refuse keyword arguments the traced version does not implement."""
    for k, v in kwargs.items():
        if k in allowed or v is None or (k == "where" and v is True):
            continue
        if k == "out":
            raise UnsupportedOperationError(
                f"np.{name}(..., out=...) writes in place, which traced code does not do; "
                "use the returned value")
        raise UnsupportedOperationError(f"np.{name}: argument {k}={v!r} is not supported "
                                        "on traced values")


def apply_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict):
    name = ufunc.__name__
    if method == "reduce" and ufunc in REDUCERS:
        _no({k: v for k, v in kwargs.items() if k not in ("axis", "keepdims")}, f"{name}.reduce")
        (x,) = inputs
        return _wrap(x, REDUCERS[ufunc](to_value(x), axis=kwargs.get("axis", 0),
                                        keepdims=kwargs.get("keepdims", False)))
    fn = UFUNCS.get(ufunc)
    if method != "__call__" or fn is None:
        what = f"np.{name}" + ("" if method == "__call__" else f".{method}")
        raise UnsupportedOperationError(f"{what} is not supported on traced values")
    _no(kwargs, name, allowed=("dtype", "casting"))
    args = [to_value(a) for a in inputs]
    if any(isinstance(a, (list, tuple)) for a in args):
        graph = _graph(args)
        args = [graph.const(np.asarray(a)) if isinstance(a, (list, tuple)) else a for a in args]
    out = fn(*args)
    if kwargs.get("dtype") is not None:
        out = O.cast(out, kwargs["dtype"])
    return _wrap(inputs, out)


def _wrap(source, result, view: bool = False):
    ctx = find_context(source)
    out = to_tracer(ctx, result)
    if view and isinstance(out, Tracer):
        first = source[0] if isinstance(source, (list, tuple)) else source
        if isinstance(first, Tracer):
            out.make_view_of(first)
    return out


# -- functions ------------------------------------------------------------
def _reduction(op):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        _no({"out": out, **kw}, op.__name__)
        r = op(a, axis=axis, keepdims=keepdims)
        return O.cast(r, dtype) if dtype is not None else r
    return fn


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    _no({"out": out, **kw}, "var")
    return O.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    return O.sqrt(_var(a, axis, dtype, out, ddof, keepdims, **kw))


def _concatenate(arrays, axis=0, out=None, **kw):
    _no({"out": out, **kw}, "concatenate")
    graph = _graph(arrays)
    arrays = _values(graph, arrays)
    if axis is None:
        arrays, axis = [O.ravel(a) for a in arrays], 0
    return O.concatenate(arrays, axis=axis)


def _stack(arrays, axis=0, out=None, **kw):
    _no({"out": out, **kw}, "stack")
    graph = _graph(arrays)
    return O.stack(_values(graph, arrays), axis=axis)


def _atleast_1d(x):
    return O.reshape(x, (1,)) if x.ndim == 0 else x


def _atleast_2d(x):
    return O.reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x


def _vstack(arrays, **kw):
    graph = _graph(arrays)
    return O.concatenate([_atleast_2d(a) for a in _values(graph, arrays)], axis=0)


def _hstack(arrays, **kw):
    graph = _graph(arrays)
    arrays = [_atleast_1d(a) for a in _values(graph, arrays)]
    return O.concatenate(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise UnsupportedOperationError("np.where(condition) with one argument has a "
                                        "data-dependent shape; pass x and y")
    graph = _graph((condition, x, y))
    condition = condition if isinstance(condition, Value) else graph.const(np.asarray(condition))
    if condition.dtype != np.bool_:
        condition = O.not_equal(condition, 0)
    return O.where(condition, x, y)


def _clip(a, a_min=None, a_max=None, out=None, **kw):
    _no({"out": out, **{k: v for k, v in kw.items() if k not in ("min", "max")}}, "clip")
    lo = kw.get("min", a_min)
    hi = kw.get("max", a_max)
    return O.clip(a, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def _like(fill):
    def fn(a, dtype=None, order="K", subok=True, shape=None, **kw):
        shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
        return O.full(a.graph, shape, fill, dtype or a.dtype)
    return fn


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
    if isinstance(fill_value, Value):
        return O.broadcast_to(O.cast(fill_value, dtype or a.dtype), shape)
    return O.full(a.graph, shape, fill_value, dtype or a.dtype)


def _norm(x, ord=None, axis=None, keepdims=False):
    return O.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _reshape(a, shape=None, order="C", **kw):
    if order != "C":
        raise UnsupportedOperationError("np.reshape: only order='C' is supported")
    shape = kw.get("newshape", shape)
    return O.reshape(a, shape)


def _dot(a, b, out=None):
    _no({"out": out}, "dot")
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    return O.dot(a, b)


def _inner(a, b):
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    if a.ndim <= 1 and b.ndim <= 1:
        return O.dot(a, b)
    raise UnsupportedOperationError("np.inner: only 1-D operands are supported")


def _outer(a, b, out=None):
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    return O.outer(a, b)


def _copy(a, order="K", subok=False):
    return O.identity(a)


def _sum_of_product(a, b):
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    return O.sum(a * b)


# (function, is_view)
FUNCTIONS: dict[Callable, tuple[Callable, bool]] = {
    np.sum: (_reduction(O.sum), False),
    np.prod: (_reduction(O.prod), False),
    np.max: (_reduction(O.amax), False),
    np.min: (_reduction(O.amin), False),
    np.amax: (_reduction(O.amax), False),
    np.amin: (_reduction(O.amin), False),
    np.mean: (_reduction(O.mean), False),
    np.var: (_var, False),
    np.std: (_std, False),
    np.dot: (_dot, False),
    np.vdot: (_sum_of_product, False),
    np.inner: (_inner, False),
    np.outer: (_outer, False),
    np.reshape: (_reshape, True),
    np.ravel: (lambda a, order="C": O.ravel(a), True),
    np.transpose: (lambda a, axes=None: O.transpose(a, axes), True),
    np.swapaxes: (lambda a, axis1, axis2: O.swapaxes(a, axis1, axis2), True),
    np.moveaxis: (lambda a, source, destination: O.moveaxis(a, source, destination), True),
    np.broadcast_to: (lambda array, shape, subok=False: O.broadcast_to(array, tuple(
        np.atleast_1d(shape))), True),
    np.squeeze: (lambda a, axis=None: O.squeeze(a, axis), True),
    np.expand_dims: (lambda a, axis: O.expand_dims(a, axis), True),
    np.atleast_1d: (lambda *a: _atleast_1d(a[0]) if len(a) == 1 else [_atleast_1d(x) for x in a],
                    True),
    np.atleast_2d: (lambda *a: _atleast_2d(a[0]) if len(a) == 1 else [_atleast_2d(x) for x in a],
                    True),
    np.diagonal: (lambda a, offset=0, axis1=0, axis2=1: O.diagonal(a), False),
    np.trace: (lambda a, offset=0, axis1=0, axis2=1, dtype=None, out=None: O.trace(a), False),
    np.concatenate: (_concatenate, False),
    np.stack: (_stack, False),
    np.vstack: (_vstack, False),
    np.hstack: (_hstack, False),
    np.where: (_where, False),
    np.clip: (_clip, False),
    np.zeros_like: (_like(0), False),
    np.ones_like: (_like(1), False),
    np.full_like: (_full_like, False),
    np.copy: (_copy, False),
    np.linalg.norm: (_norm, False),
    np.shape: (lambda a: a.shape, False),
    np.ndim: (lambda a: a.ndim, False),
    np.size: (lambda a, axis=None: a.size if axis is None else a.shape[axis], False),
    np.result_type: (lambda *a: np.result_type(*[x.dtype if isinstance(x, Value) else x
                                                 for x in a]), False),
}


def apply_function(func: Callable, args: tuple, kwargs: dict):
    entry = FUNCTIONS.get(func)
    if entry is None:
        module = getattr(func, "__module__", "numpy") or "numpy"
        prefix = "np.linalg." if "linalg" in module else "np."
        raise UnsupportedOperationError(
            f"{prefix}{func.__name__} is not supported on traced values by staticgrad")
    fn, view = entry
    vargs = [to_value(a) for a in args]
    graph = _graph(vargs) or _graph([to_value(v) for v in kwargs.values()])
    vargs = [_const_arrays(graph, a) for a in vargs]
    vkwargs = {k: to_value(v) for k, v in kwargs.items()}
    return _wrap(args, fn(*vargs, **vkwargs), view=view)


def _const_arrays(graph, x):
    if isinstance(x, np.ndarray):
        return graph.const(x)
    return x


def index(x: Tracer, key):
    # (a traced boolean mask is refused by compiler.ops.index_spec: its result
    # has a data-dependent shape)
    result = O.index(x.value, to_value(key))
    basic = all(not isinstance(k, (Tracer, np.ndarray, list))
                for k in (key if isinstance(key, tuple) else (key,)))
    return _wrap(x, result, view=basic and bool(result.shape))


# -- ndarray methods ------------------------------------------------------
def _method_table():
    def m(func):
        return lambda self, *a, **k: apply_function(func, (self,) + a, k)

    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 else shape
        return apply_function(np.reshape, (self, shape), {"order": order})

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else (axes or None)
        return apply_function(np.transpose, (self, axes), {})

    def astype(self, dtype, copy=True):
        return _wrap(self, O.cast(self.value, dtype))

    def norm(self, p=2, dim=None, keepdim=False):
        # Tensor-style spelling (torch/paddle): the 2-norm of all elements.
        return apply_function(np.linalg.norm, (self,), {"axis": dim, "keepdims": keepdim})

    def dot(self, other):
        return apply_function(np.dot, (self, other), {})

    return {
        "sum": m(np.sum), "prod": m(np.prod), "max": m(np.max), "min": m(np.min),
        "mean": m(np.mean), "var": m(np.var), "std": m(np.std), "clip": m(np.clip),
        "ravel": m(np.ravel), "flatten": lambda self: _wrap(self, O.ravel(self.value)),
        "squeeze": m(np.squeeze), "swapaxes": m(np.swapaxes), "copy": m(np.copy),
        "diagonal": m(np.diagonal), "trace": m(np.trace),
        "reshape": reshape, "transpose": transpose, "astype": astype, "norm": norm, "dot": dot,
        "exp": lambda self: np.exp(self), "log": lambda self: np.log(self),
        "tanh": lambda self: np.tanh(self), "abs": lambda self: np.abs(self),
        "sqrt": lambda self: np.sqrt(self), "sin": lambda self: np.sin(self),
        "cos": lambda self: np.cos(self), "pow": lambda self, p: self ** p,
    }


METHODS = _method_table()


def method(x: Tracer, name: str):
    fn = METHODS.get(name)
    if fn is None:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"traced arrays have no method {name!r} in staticgrad")
    return lambda *a, **k: fn(x, *a, **k)

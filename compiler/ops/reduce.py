"""Reductions with ``axis`` and ``keepdims``: sum, max, min, prod.

``max``/``min`` share the gradient evenly among tied elements (as
``torch.amax``); ``prod``'s gradient is exact where inputs are zero (the
product of the other elements, never ``out / x``).
"""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops.lowering import Accumulate
from compiler.ops import Op, fold_axes

__all__ = ["sum", "amax", "amin", "prod", "sum_to", "keepdims_shape"]


def _reduce_canon(shapes, dtypes, attrs):
    return {"axes": fold_axes(attrs.get("axes"), len(shapes[0])),
            "keepdims": bool(attrs.get("keepdims", False))}


def keepdims_shape(shape, axes):
    return tuple(1 if k in axes else n for k, n in enumerate(shape))


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return keepdims_shape(shape, axes)
    return tuple(n for k, n in enumerate(shape) if k not in axes)


def _reduce_infer(impl):
    def infer(shapes, dtypes, attrs):
        (shape,) = shapes
        if impl in (np.max, np.min) and any(shape[a] == 0 for a in attrs["axes"]):
            from compiler.errors import ShapeError
            raise ShapeError(f"{impl.__name__}: zero-size reduction over axes {attrs['axes']} "
                             f"of shape {shape} has no identity")
        dtype = O._elementwise_dtype(lambda x: impl(x), (dtypes[0],), ())
        return _reduced_shape(shape, attrs["axes"], attrs["keepdims"]), dtype
    return infer


def _expand(g, x, axes, keepdims):
    """Bring a reduced cotangent back to x's shape."""
    if not keepdims:
        g = O.reshape(g, keepdims_shape(x.shape, axes))
    return O.broadcast_to(g, x.shape)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min if dtype.kind in "iu" else False


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max if dtype.kind in "iu" else True


# The Numba backend accumulates reductions in the loop producing their operand;
# max and min propagate NaN as NumPy does (x != x holds only for NaN).
SUM = Op("sum", lambda x, axes, keepdims: np.add.reduce(x, axis=axes, keepdims=keepdims),
         canon=_reduce_canon, infer=_reduce_infer(np.sum), linear=True,
         emit=Accumulate(0, "{acc} + {x}"),
         vjp=lambda g, out, x, axes, keepdims: (_expand(g, x, axes, keepdims),))


def sum(x, axis=None, keepdims=False):
    return SUM(x, axes=axis, keepdims=keepdims)


def _ties(out, x, axes, keepdims):
    """Where x attains the extremum, and how many elements tie for it."""
    mask = O.equal(x, _expand(out, x, axes, keepdims))
    return mask, SUM(O.cast(mask, x.dtype), axes=axes, keepdims=True)


def _extremum_vjp(g, out, x, axes, keepdims):
    mask, count = _ties(out, x, axes, keepdims)
    return (O.where(mask, _expand(g, x, axes, keepdims) / count, 0),)


def _extremum_jvp(ts, out, x, axes, keepdims):
    mask, count = _ties(out, x, axes, keepdims)
    return SUM(O.where(mask, ts[0], 0) / count, axes=axes, keepdims=keepdims)


AMAX = Op("max", lambda x, axes, keepdims: np.max(x, axis=axes, keepdims=keepdims),
          canon=_reduce_canon, infer=_reduce_infer(np.max), vjp=_extremum_vjp,
          emit=Accumulate(_lowest, "({x} if {x} > {acc} or {x} != {x} else {acc})"),
          jvp=_extremum_jvp)
AMIN = Op("min", lambda x, axes, keepdims: np.min(x, axis=axes, keepdims=keepdims),
          canon=_reduce_canon, infer=_reduce_infer(np.min), vjp=_extremum_vjp,
          emit=Accumulate(_highest, "({x} if {x} < {acc} or {x} != {x} else {acc})"),
          jvp=_extremum_jvp)


def amax(x, axis=None, keepdims=False):
    return AMAX(x, axes=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return AMIN(x, axes=axis, keepdims=keepdims)


def _prod_others(x, axes):
    """d prod / d x_i = the product of the other elements: an exclusive prefix
    product times an exclusive suffix product along the reduced axes. Built
    from multiplies (no ``out / x``), it is exact where x has zeros -- any
    number of them -- and its own derivatives are exact too (second order at
    two zeros needs that)."""
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if n <= 1:
        return O.ones_like(x)
    kept = tuple(k for k in range(x.ndim) if k not in axes)
    order = kept + tuple(axes)
    moved = O.transpose(x, order)
    rows = O.reshape(moved, moved.shape[:len(kept)] + (n,))
    others = _exclusive_cumprod(rows) * _exclusive_cumprod(rows[..., ::-1])[..., ::-1]
    return O.transpose(O.reshape(others, moved.shape), tuple(np.argsort(order)))


def _exclusive_cumprod(v):
    """[1, v0, v0 v1, ...] along the last axis: a log-depth scan of shifted multiplies."""
    def shifted(a, k):  # a moved k places along the last axis, ones coming in
        ones = O.full(a.graph, a.shape[:-1] + (k,), 1, a.dtype)
        return O.concatenate([ones, a[..., :-k]], axis=-1)
    n = v.shape[-1]
    acc, k = shifted(v, 1), 1
    while k < n:
        acc, k = acc * shifted(acc, k), 2 * k
    return acc


PROD = Op("prod", lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims),
          canon=_reduce_canon, infer=_reduce_infer(np.prod), emit=Accumulate(1, "{acc} * {x}"),
          vjp=lambda g, out, x, axes, keepdims:
              (_expand(g, x, axes, keepdims) * _prod_others(x, axes),),
          jvp=lambda ts, out, x, axes, keepdims:
              SUM(ts[0] * _prod_others(x, axes), axes=axes, keepdims=keepdims))


def prod(x, axis=None, keepdims=False):
    return PROD(x, axes=axis, keepdims=keepdims)


def sum_to(x, shape):
    """Sum a broadcast value back to ``shape`` (the reverse of broadcasting)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape)
                                      if n == 1 and x.shape[lead + k] != 1)
    summed = SUM(x, axes=axes, keepdims=True)
    return O.reshape(summed, shape)

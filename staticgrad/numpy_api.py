"""The table from NumPy ufuncs, functions and ndarray methods to IR ops.

Each entry is a function over ``compiler.ir.Value`` with NumPy's signature;
Tracers are unwrapped before the call and the result is wrapped again. A NumPy
function that is not in the table raises ``UnsupportedOperationError`` naming
it, never a silently wrong number.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

import compiler.ops as O
from compiler.ir import Value
from staticgrad.errors import UnsupportedAttributeError, UnsupportedOperationError
from staticgrad.tracing import Tracer, find_context, first, to_tracer, to_value, user_site

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
# ufunc.accumulate: filled by staticgrad.numpy_extra, (x, axis=0, dtype=None) -> Value
ACCUMULATORS: dict[np.ufunc, Callable] = {}
# array attributes computed from the array (x.real, x.flat, ...): name -> fn(tracer)
ATTRIBUTES: dict[str, Callable] = {}
# NumPy functions that write into their first argument (np.put, np.fill_diagonal):
# called with the raw arguments, they update a traced array functionally.
INPLACE: dict[Callable, Callable] = {}


def _graph(args) -> Any:
    """The graph of the first Value found in (nested lists of) arguments."""
    value = first(args, Value)
    return None if value is None else value.graph


def _values(graph, xs):
    return [x if isinstance(x, Value) else graph.const(np.asarray(x)) for x in xs]


def _nan_ignoring(extremum):
    """np.fmax / np.fmin: a NaN operand loses to the other one."""
    def fn(x, y):
        graph = _graph((x, y))
        x, y = (v if isinstance(v, Value) else O.as_value(graph, v, [w for w in (x, y)
                                                                   if isinstance(w, Value)])
                for v in (x, y))
        return O.where(O.not_equal(y, y), x, O.where(O.not_equal(x, x), y, extremum(x, y)))
    return fn


def _float_power(x, y):
    # np.float_power computes in float64 (complex128 for complex operands).
    values = [v for v in (x, y) if isinstance(v, Value)]
    wide = np.complex128 if any(v.dtype.kind == "c" for v in values) else np.float64
    x, y = (O.cast(v, wide) if isinstance(v, Value) and v.dtype != wide else v for v in (x, y))
    return O.power(x, y)


UFUNCS.update({
    np.fmax: _nan_ignoring(O.maximum), np.fmin: _nan_ignoring(O.minimum),
    np.float_power: _float_power,
    np.bitwise_and: O.bitwise_and, np.bitwise_or: O.bitwise_or,
})


def _ufunc_kwargs(what: str, kwargs: dict, allowed: tuple = ()) -> dict:
    """The keyword arguments of a ufunc call: ``allowed`` ones are returned to
    be honoured; the ones that only concern memory layout or subclasses are
    harmless on traced values; anything else not at its default is refused."""
    kept = {}
    for k, v in kwargs.items():
        if k in allowed:
            kept[k] = v
        elif k in ("order", "subok") or (k == "where" and v is True) or \
                (k == "casting" and v == "same_kind") or (k == "out" and v is None) or \
                (k == "initial" and v is np._NoValue):
            continue
        else:
            raise _refused(what, k, v)
    return kept


_PYTHON_SCALAR = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


def _promote_weak(inputs, args) -> tuple[list, bool]:
    """NEP 50: operands standing for Python scalars take the dtype NumPy would
    give a Python scalar next to the others. Returns the operands (weak ones
    cast where needed) and whether the result is itself weak (every operand
    is)."""
    ctx = find_context(inputs)
    if ctx is None or not ctx.weak:
        return args, False
    weak = [isinstance(t, Tracer) and t.node in ctx.weak for t in inputs]
    if not any(weak):
        return args, False
    strong = [a.dtype for a, w in zip(args, weak) if isinstance(a, Value) and not w]
    strong += [np.asarray(a).dtype for a in args
               if not isinstance(a, (Value, bool, int, float, complex))]
    if not strong:
        return args, True
    out = []
    for a, w in zip(args, weak):
        if w:
            dtype = np.result_type(*strong, _PYTHON_SCALAR.get(a.dtype.kind, 0.0))
            a = O.cast(a, dtype) if dtype != a.dtype else a
        out.append(a)
    return out, False


def _mark_weak(result):
    if isinstance(result, Tracer):
        result.ctx.weak.add(result.node)
    return result


def apply_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict,
                operator: bool = False):
    """``ufunc.method(*inputs, **kwargs)`` on traced values. ``operator``: called
    for a Python operator (``s * t``), whose result on Python scalars alone is a
    Python scalar again (weak), where the ufunc's is a NumPy scalar (strong)."""
    name = ufunc.__name__
    if method == "at" and ufunc in (np.add, np.subtract):
        return _add_at(ufunc, *inputs, **kwargs)
    if method == "accumulate" and ufunc in ACCUMULATORS:
        kw = _ufunc_kwargs(f"np.{name}.accumulate", kwargs, ("axis", "dtype"))
        (x,) = inputs
        return _wrap(inputs, ACCUMULATORS[ufunc](to_value(x), axis=kw.get("axis", 0),
                                                 dtype=kw.get("dtype")))
    if method == "reduce" and ufunc in REDUCERS:
        kw = _ufunc_kwargs(f"np.{name}.reduce", kwargs, ("axis", "keepdims", "dtype"))
        (x,) = inputs
        x = to_value(x)
        if kw.get("dtype") is not None:
            x = O.cast(x, kw["dtype"])
        return _wrap(inputs, REDUCERS[ufunc](x, axis=kw.get("axis", 0),
                                             keepdims=bool(kw.get("keepdims", False))))
    fn = UFUNCS.get(ufunc)
    if method != "__call__" or fn is None:
        what = ufunc_name(ufunc) + ("" if method == "__call__" else f".{method}")
        raise UnsupportedOperationError(f"{what} is not supported on traced values "
                                        f"(at {user_site()})")
    out = kwargs.get("out")
    if isinstance(out, tuple) and all(o is None for o in out):
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    kw = _ufunc_kwargs(f"np.{name}", kwargs, ("dtype",))
    args = [to_value(a) for a in inputs]
    if any(isinstance(a, (list, tuple)) for a in args):
        graph = _graph(args)
        args = [graph.const(np.asarray(a)) if isinstance(a, (list, tuple)) else a for a in args]
    if kw.get("dtype") is not None:
        # NumPy computes in the requested dtype (its inputs are cast to it).
        graph = _graph(args)
        args = [O.cast(a if isinstance(a, Value) else graph.const(np.asarray(a)), kw["dtype"])
                for a in args]
        return _wrap(inputs, fn(*args))
    args, weak = _promote_weak(inputs, args)
    result = _wrap(inputs, fn(*args))
    return _mark_weak(result) if weak and operator else result


def ufunc_name(ufunc: np.ufunc) -> str:
    """``np.exp``, ``scipy.special.expit``: how a user spells a ufunc."""
    if getattr(np, ufunc.__name__, None) is ufunc:
        return f"np.{ufunc.__name__}"
    import sys
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, ufunc.__name__, None) is ufunc:
        return f"scipy.special.{ufunc.__name__}"
    return f"np.{ufunc.__name__}"


def _add_at(ufunc, a, indices, b=None):
    """``np.add.at(a, indices, b)``: a traced ``a`` is updated in place (as a
    setitem is: functionally, the name now stands for the new array)."""
    what = f"np.{ufunc.__name__}.at"
    if not isinstance(a, Tracer):
        raise UnsupportedOperationError(
            f"{what}: the array updated in place must be traced (a NumPy array cannot hold "
            "traced values); start from a traced copy, e.g. y = np.zeros_like(x)")
    if b is None:
        raise TypeError(f"{what}() needs the values to add")
    value = to_value(a.ctx.lift(b))
    if ufunc is np.subtract:
        value = -value
    a._update(O.add_at(a.value, to_value(indices), value), what)
    return None


def _wrap(source, result, view: bool = False, key: Any = None):
    ctx = find_context(source)
    out = to_tracer(ctx, result)
    if view and isinstance(out, Tracer):
        first = source[0] if isinstance(source, (list, tuple)) else source
        if isinstance(first, Tracer):
            out.make_view_of(first, key)
    return out


# -- functions ------------------------------------------------------------
# Each entry is called with the arguments bound to the NumPy function's own
# signature, by keyword; an entry takes the parameters it honours. A bound
# argument the entry does not take must be at NumPy's default (or be one of
# those that only concern memory layout, subclasses or the device, which a
# traced value has none of); otherwise it is refused by name.

def _refused(what: str, name: str, value: Any) -> UnsupportedOperationError:
    if name == "out" and value is not None:
        return UnsupportedOperationError(
            f"{what}(..., out=...) writes in place, which traced code does not do; "
            f"use the returned value (at {user_site()})")
    return UnsupportedOperationError(f"{what}: argument {name}={value!r} is not supported on "
                                     f"traced values (at {user_site()})")


#: parameters that only choose the memory layout, subclass or device of a new
#: array: the values are the same whatever they are
_LAYOUT_ONLY = {"order": ("C", "F", "A", "K", None), "subok": (True, False),
                "device": (None, "cpu")}


def _at_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is inspect.Parameter.empty or isinstance(value, (np.ndarray, Value, Tracer)):
        return False
    if isinstance(value, (bool, int, float, str, type(None))) and type(value) is type(default):
        return value == default
    return False


#: what a masked-out element (``where=``) of each reduction contributes
_WHERE_FILL = {"sum": 0, "prod": 1}
_COMBINE_INITIAL = {"sum": O.add, "prod": O.mul, "amax": O.maximum, "amin": O.minimum}


def _reduction(op, has_dtype=True):
    kind = op.__name__

    def fn(a, axis=None, dtype=None, keepdims=False, initial=np._NoValue, where=True):
        if dtype is not None:  # NumPy accumulates in dtype
            a = O.cast(a, dtype)
        keepdims = bool(keepdims)
        if where is not True:
            mask = where if isinstance(where, Value) else a.graph.const(np.asarray(where))
            if mask.dtype != np.bool_:
                mask = O.not_equal(mask, 0)
            mask = O.broadcast_to(mask, a.shape) if mask.shape != a.shape else mask
            if kind == "mean":
                x = a if a.dtype.kind in "fc" else O.cast(a, np.float64)
                count = O.sum(O.cast(mask, x.dtype), axis=axis, keepdims=keepdims)
                return O.sum(O.where(mask, x, 0), axis=axis, keepdims=keepdims) / count
            if kind not in _WHERE_FILL and initial is np._NoValue:
                raise ValueError(f"reduction operation '{kind[1:]}imum' does not have an "
                                 "identity, so to use a where mask one has to specify 'initial'")
            a = O.where(mask, a, _WHERE_FILL.get(kind, initial))
        out = op(a, axis=axis, keepdims=keepdims)
        if initial is not np._NoValue:
            combine = _COMBINE_INITIAL.get(kind)
            if combine is None:
                raise _refused(f"np.{kind}", "initial", initial)
            out = combine(out, initial)
        return out
    if not has_dtype:
        return lambda a, axis=None, keepdims=False, initial=np._NoValue, where=True: fn(
            a, axis, None, keepdims, initial, where)
    return fn


def _moments(take_root: bool):
    def fn(a, axis=None, dtype=None, ddof=0, keepdims=False, where=True, correction=None):
        name = "np.std" if take_root else "np.var"
        if where is not True:
            raise _refused(name, "where", where)
        if correction is not None and correction is not np._NoValue:
            if ddof != 0:
                raise ValueError("ddof and correction can't be provided simultaneously.")
            ddof = correction
        if dtype is not None:
            a = O.cast(a, dtype)
        out = O.var(a, axis=axis, keepdims=bool(keepdims), ddof=ddof)
        return O.sqrt(out) if take_root else out
    return fn


def _cast_all(arrays, dtype):
    return arrays if dtype is None else [O.cast(a, dtype) for a in arrays]


def _concatenate(arrays, axis=0, dtype=None):
    graph = _graph(arrays)
    arrays = _cast_all(_values(graph, arrays), dtype)
    if axis is None:
        arrays, axis = [O.ravel(a) for a in arrays], 0
    return O.concatenate(arrays, axis=axis)


def _stack(arrays, axis=0, dtype=None):
    graph = _graph(arrays)
    return O.stack(_cast_all(_values(graph, arrays), dtype), axis=axis)


def _atleast_1d(x):
    return O.reshape(x, (1,)) if x.ndim == 0 else x


def _atleast_2d(x):
    return O.reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x


def _atleast(one):
    def fn(arys):
        graph = _graph(arys)
        arys = [one(a) for a in _values(graph, arys)]
        return arys[0] if len(arys) == 1 else tuple(arys)
    return fn


def _vstack(tup, dtype=None):
    graph = _graph(tup)
    return O.concatenate([_atleast_2d(a) for a in _cast_all(_values(graph, tup), dtype)], axis=0)


def _hstack(tup, dtype=None):
    graph = _graph(tup)
    arrays = [_atleast_1d(a) for a in _cast_all(_values(graph, tup), dtype)]
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


def _clip(a, a_min=np._NoValue, a_max=np._NoValue, min=np._NoValue, max=np._NoValue,
          kwargs=None):
    for k, v in (kwargs or {}).items():
        if not (k == "where" and v is True or k in ("order", "subok")
                or k == "casting" and v == "same_kind"):
            raise _refused("np.clip", k, v)
    if min is not np._NoValue:
        if a_min is not np._NoValue:
            raise TypeError("clip() got both a_min and min")
        a_min = min
    if max is not np._NoValue:
        if a_max is not np._NoValue:
            raise TypeError("clip() got both a_max and max")
        a_max = max
    lo = None if a_min is np._NoValue else a_min
    hi = None if a_max is np._NoValue else a_max
    if lo is None and hi is None:
        raise ValueError("One of max or min must be given")
    return O.clip(a, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def _like(fill):
    def fn(a, dtype=None, shape=None):
        shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
        return O.full(a.graph, shape, fill, dtype or a.dtype)
    return fn


def _full_like(a, fill_value, dtype=None, shape=None):
    shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
    if isinstance(fill_value, Value):
        return O.broadcast_to(O.cast(fill_value, dtype or a.dtype), shape)
    return O.full(a.graph, shape, fill_value, dtype or a.dtype)


def _order(what: str, order: Any) -> str:
    if order not in ("C", "F"):
        raise UnsupportedOperationError(
            f"{what}: argument order={order!r} is not supported on traced values (traced "
            "values have no memory layout; use 'C' or 'F')")
    return order


def _reshaped(a, shape, order):
    if order == "C":
        return O.reshape(a, shape)
    # Fortran order: reverse the axes, reshape in C order, reverse them back.
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return O.transpose(O.reshape(O.transpose(a), shape[::-1]))


def _reshape(a, shape, order="C", copy=None):
    if copy is False:
        raise _refused("np.reshape", "copy", copy)
    return _reshaped(a, shape, _order("np.reshape", order))


def _ravel(a, order="C"):
    return _reshaped(a, (a.size,), _order("np.ravel", order))


def _outer(a, b):
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    return O.outer(a, b)


def _vdot(a, b):
    graph = _graph((a, b))
    a, b = _values(graph, (a, b))
    if a.size != b.size:
        raise ValueError("cannot reshape array: vdot operands must have the same size")
    return O.sum(O.ravel(a) * O.ravel(b))


def _copy(a):
    return O.identity(a)


def _diagonal(a, offset=0, axis1=0, axis2=1):
    return O.diagonal(a, offset, axis1, axis2)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    out = O.trace(a, offset, axis1, axis2)
    return O.cast(out, dtype) if dtype is not None else out


# (function, is_view)
FUNCTIONS: dict[Callable, tuple[Callable, bool]] = {
    np.sum: (_reduction(O.sum), False),
    np.prod: (_reduction(O.prod), False),
    np.max: (_reduction(O.amax, has_dtype=False), False),
    np.min: (_reduction(O.amin, has_dtype=False), False),
    np.amax: (_reduction(O.amax, has_dtype=False), False),
    np.amin: (_reduction(O.amin, has_dtype=False), False),
    np.mean: (_reduction(O.mean), False),
    np.var: (_moments(False), False),
    np.std: (_moments(True), False),
    np.vdot: (_vdot, False),
    np.outer: (_outer, False),
    np.reshape: (_reshape, True),
    np.ravel: (_ravel, True),
    np.transpose: (lambda a, axes=None: O.transpose(a, axes), True),
    np.swapaxes: (lambda a, axis1, axis2: O.swapaxes(a, axis1, axis2), True),
    np.moveaxis: (lambda a, source, destination: O.moveaxis(a, source, destination), True),
    np.broadcast_to: (lambda array, shape: O.broadcast_to(array, tuple(
        np.atleast_1d(shape))), True),
    np.squeeze: (lambda a, axis=None: O.squeeze(a, axis), True),
    np.expand_dims: (lambda a, axis: O.expand_dims(a, axis), True),
    np.atleast_1d: (_atleast(_atleast_1d), True),
    np.atleast_2d: (_atleast(_atleast_2d), True),
    np.diagonal: (_diagonal, False),
    np.trace: (_trace, False),
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
    np.shape: (lambda a: a.shape, False),
    np.ndim: (lambda a: a.ndim, False),
    np.size: (lambda a, axis=None: a.size if axis is None else a.shape[axis], False),
    np.result_type: (lambda arrays_and_dtypes: np.result_type(
        *[x.dtype if isinstance(x, Value) else x for x in arrays_and_dtypes]), False),
}


def public_name(func: Callable) -> str:
    """``np.linalg.norm``, ``np.sum``: how a user spells a NumPy function."""
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    for sub in ("linalg", "fft", "random"):
        if module.startswith(f"numpy.{sub}") or module.startswith(f"numpy._core.{sub}") \
                or module == f"numpy.{sub}._{sub}":
            return f"np.{sub}.{name}"
    return f"np.{name}"


@functools.lru_cache(maxsize=None)
def _signature(func: Callable) -> inspect.Signature:
    return inspect.signature(func)


@functools.lru_cache(maxsize=None)
def _taken(fn: Callable) -> frozenset:
    return frozenset(inspect.signature(fn).parameters)


def bind(func: Callable, impl: Callable, args: tuple, kwargs: dict) -> dict:
    """The arguments of ``func(*args, **kwargs)`` by NumPy's parameter names, as
    the keyword arguments ``impl`` takes; any other argument not at its
    default is refused by name (see the comment above ``_refused``)."""
    what = public_name(func)
    signature = _signature(func)
    try:
        arguments = signature.bind(*args, **kwargs).arguments
    except TypeError as e:
        raise TypeError(f"{what}(): {e}") from None
    taken = _taken(impl)
    call = {}
    for name, value in arguments.items():
        param = signature.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            if "kwargs" in taken:
                call["kwargs"] = value
            elif value:
                key, v = next(iter(value.items()))
                raise _refused(what, key, v)
            continue
        if name in taken:
            call[name] = value
        elif not (_at_default(value, param.default)
                  or name in _LAYOUT_ONLY and _hashable_in(value, _LAYOUT_ONLY[name])):
            raise _refused(what, name, value)
    return call


def _hashable_in(value: Any, allowed: tuple) -> bool:
    try:
        return value in allowed
    except Exception:
        return False


#: parameters that are never arrays (an ndarray given for them is not a constant)
_STATIC_PARAMS = {"axis", "axes", "shape", "source", "destination", "dtype", "ord", "order",
                  "offset", "axis1", "axis2", "ddof", "correction", "keepdims",
                  "repeats", "reps", "pad_width", "shift", "q", "kth", "indices_or_sections",
                  "obj", "new_shape", "N", "k", "n", "deg", "condition", "xp", "UPLO", "mode",
                  "side", "edge_order", "decimals", "num", "rcond", "rtol", "axisa", "axisb",
                  "axisc", "start", "p", "kind", "sorter", "varargs", "ind"}


#: the operands of functions that promote like ufuncs
_ELEMENTWISE_OPERANDS = {np.where: ("x", "y"), np.clip: ("a", "a_min", "a_max", "min", "max")}


def apply_function(func: Callable, args: tuple, kwargs: dict):
    inplace = INPLACE.get(func)
    if inplace is not None:
        return inplace(*args, **kwargs)
    entry = FUNCTIONS.get(func)
    if entry is None:
        raise UnsupportedOperationError(
            f"{public_name(func)} is not supported on traced values by staticgrad "
            f"(at {user_site()})")
    fn, view = entry
    call = bind(func, fn, args, kwargs)
    values = {k: to_value(v) for k, v in call.items()}
    operands = [k for k in _ELEMENTWISE_OPERANDS.get(func, ()) if k in values]
    if operands:  # NEP 50, as for ufuncs
        promoted, _ = _promote_weak([call[k] for k in operands], [values[k] for k in operands])
        values.update(zip(operands, promoted))
    graph = _graph(list(values.values()))
    if graph is not None:
        values = {k: graph.const(v) if isinstance(v, np.ndarray) and k not in _STATIC_PARAMS
                  else v for k, v in values.items()}
    return _wrap(tuple(args) + tuple(kwargs.values()), fn(**values), view=view)


def index(x: Tracer, key):
    # (a traced boolean mask is refused by compiler.ops.index_spec: its result
    # has a data-dependent shape)
    result = O.index(x.value, to_value(key))
    basic = all(not isinstance(k, (Tracer, np.ndarray, list))
                for k in (key if isinstance(key, tuple) else (key,)))
    return _wrap(x, result, view=basic and bool(result.shape), key=key)


# -- ndarray methods ------------------------------------------------------
def _method_table():
    def m(func):
        return lambda self, *a, **k: apply_function(func, (self,) + a, k)

    def reshape(self, *shape, order="C", copy=None):
        shape = shape[0] if len(shape) == 1 else shape
        return apply_function(np.reshape, (self, shape), {"order": order, "copy": copy})

    def flatten(self, order="C"):
        # a copy, not a view (as ndarray.flatten)
        return _wrap(self, _ravel(self.value, order))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else (axes or None)
        return apply_function(np.transpose, (self, axes), {})

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not np.can_cast(self.dtype, dtype, casting):
            raise TypeError(f"Cannot cast array data from {self.dtype!r} to "
                            f"{np.dtype(dtype)!r} according to the rule {casting!r}")
        return _wrap(self, O.cast(self.value, dtype))

    def norm(self, p="fro", dim=None, keepdim=False):
        # Tensor-style spelling (torch/paddle): with dim=None the p-norm of all
        # elements, as sg.norm and Tensor.norm.
        ord = None if p in ("fro", 2, 2.0) else p
        x = self if dim is not None or self.ndim <= 1 else np.reshape(self, (-1,))
        return apply_function(np.linalg.norm, (x,), {"ord": ord, "axis": dim,
                                                     "keepdims": keepdim})

    def dot(self, other):
        return apply_function(np.dot, (self, other), {})

    return {
        "sum": m(np.sum), "prod": m(np.prod), "max": m(np.max), "min": m(np.min),
        "mean": m(np.mean), "var": m(np.var), "std": m(np.std), "clip": m(np.clip),
        "ravel": m(np.ravel), "flatten": flatten,
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
    attribute = ATTRIBUTES.get(name)
    if attribute is not None:
        return attribute(x)
    fn = METHODS.get(name)
    if fn is None:
        if name.startswith("__"):
            raise AttributeError(name)
        from staticgrad.tracing import library_call
        call = library_call()
        if call is not None:
            raise UnsupportedAttributeError(
                f"{call} is not supported on traced values by staticgrad (it reads the "
                f"array attribute {name!r})")
        raise UnsupportedAttributeError(
            f"ndarray.{name}: traced arrays have no attribute or method {name!r} in staticgrad")
    return lambda *a, **k: fn(x, *a, **k)

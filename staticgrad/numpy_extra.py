"""The rest of the NumPy table: array building, cumulative ops, linear algebra,
contractions, sorting and selection, shape functions, nan-reductions,
statistics, more ufuncs, numerics, and the ndarray methods of all of these.

Entries follow ``staticgrad.numpy_api``'s rules: each takes the NumPy
function's own parameter names, honours the ones it takes, and any other
argument not at its default is refused by name. Most are composites of the
primitives (indexing, concatenate, reductions, matmul); the decompositions
(solve, det, slogdet, cholesky, eigh) and argsort are ops of
``compiler.ops.decomp``, SciPy's special functions ops of
``compiler.ops.specfun``. Importing this module installs the entries (the
package ``staticgrad`` does).

Conventions worth knowing (README "Supported NumPy"):

- ``sort``/``partition``/``median``/``percentile`` pass the gradient through
  the sorting permutation (ties: NumPy's stable order);
- ``svd`` and ``qr`` go through ``eigh``/``cholesky`` of the Gram matrix: exact
  for full-rank, well-conditioned matrices (precision degrades with the
  condition number squared), singular vectors and R up to the signs LAPACK
  would choose (R has a positive diagonal); ``lstsq`` and ``pinv`` assume full
  rank;
- ``round``/``trunc``/``floor``/``ceil``/``rint``/``floor_divide`` have gradient 0.
"""
from __future__ import annotations

import builtins
import functools
import string

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

import compiler.ops as O
from compiler.ir import Value
from staticgrad import numpy_api as api
from staticgrad.errors import UnsupportedOperationError
from staticgrad.numpy_api import FUNCTIONS, METHODS, UFUNCS, _graph, _refused
from staticgrad.tracing import Tracer, first, to_value


# -- helpers ----------------------------------------------------------------------------
def value(graph, x, dtype=None) -> Value:
    """Any array-like (a Value, a constant, nested lists holding Values) as a Value."""
    if isinstance(x, Value):
        v = x
    elif isinstance(x, (list, tuple)) and first(x, Value) is not None:
        parts = [value(graph, p) for p in x]
        common = np.result_type(*[p.dtype for p in parts])
        parts = [O.cast(p, common) if p.dtype != common else p for p in parts]
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise ValueError("setting an array element with a sequence. The requested array "
                             "has an inhomogeneous shape")
        v = O.stack(parts, axis=0)
    else:
        v = graph.const(np.asarray(x))
    if dtype is not None and v.dtype != np.dtype(dtype):
        v = O.cast(v, dtype)
    return v


def constant(x):
    """The array of a constant node (a NumPy argument made a node); x otherwise."""
    if isinstance(x, Value) and x.graph.op(x.node) == "const":
        return x.graph.attrs(x.node)["value"]
    return x


def _floating(x: Value) -> Value:
    return x if x.dtype.kind in "fc" else O.cast(x, np.float64)


def _index_along(x: Value, axis: int, index) -> Value:
    key = [slice(None)] * x.ndim
    key[axis] = index
    return O.index(x, tuple(key))


def _to_last(x, axis):
    return O.moveaxis(x, axis, -1)


def _from_last(x, axis):
    return O.moveaxis(x, -1, axis)


def _ones(graph, shape, dtype):
    return O.full(graph, shape, 1, dtype)


def _zeros(graph, shape, dtype):
    return O.full(graph, shape, 0, dtype)


def _flat_axis(a, axis):
    if axis is None:
        return O.ravel(a), 0
    return a, normalize_axis_index(axis, a.ndim)


def entry(*funcs, view=False):
    """Register ``impl`` for the NumPy functions ``funcs``."""
    def register(impl):
        for f in funcs:
            FUNCTIONS[f] = (impl, view)
        return impl
    return register


def _dtype_cast(x, dtype):
    return x if dtype is None else O.cast(x, dtype)


# -- building arrays ----------------------------------------------------------------------
def array_of(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, like=None):
    """np.array / np.asarray of traced values and (nested) lists of them."""
    if like is not None:
        raise _refused("np.array", "like", like)
    graph = _graph(obj)
    v = value(graph, to_value(obj), dtype)
    if ndmin > v.ndim:
        v = O.reshape(v, (1,) * (ndmin - v.ndim) + v.shape)
    return v


@entry(np.diag)
def _diag(v, k=0):
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        i = np.arange(v.shape[0])
        rows, cols = i + max(-k, 0), i + max(k, 0)
        out = _zeros(v.graph, (n, n), v.dtype)
        return O.setitem(out, (v.graph.const(rows), v.graph.const(cols)), v)
    if v.ndim == 2:
        return O.diagonal(v, k)
    raise ValueError("Input must be 1- or 2-d.")


@entry(np.diagflat)
def _diagflat(v, k=0):
    return _diag(O.ravel(v), k)


def _tri(m, k, lower):
    rows, cols = m.shape[-2:]
    mask = np.tri(rows, cols, k, dtype=bool) if lower else ~np.tri(rows, cols, k - 1, dtype=bool)
    return O.where(m.graph.const(mask), m, O.cast(m.graph.const(np.zeros((), m.dtype)), m.dtype))


entry(np.triu)(lambda m, k=0: _tri(m, k, False))
entry(np.tril)(lambda m, k=0: _tri(m, k, True))


@entry(np.meshgrid)
def _meshgrid(xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    graph = _graph(xi)
    xs = [O.ravel(value(graph, x)) for x in xi]
    ndim = len(xs)
    shape = [x.size for x in xs]
    if indexing == "xy" and ndim > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for k, x in enumerate(xs):
        pos = k
        if indexing == "xy" and ndim > 1 and k < 2:
            pos = 1 - k
        s = [1] * ndim
        s[pos] = x.size
        v = O.reshape(x, tuple(s))
        out.append(v if sparse else O.broadcast_to(v, tuple(shape)))
    return tuple(out)


@entry(np.linspace)
def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    graph = _graph((start, stop))
    # Python numbers are weak (NEP 50): linspace(0.0, x32) is float32
    dt = np.result_type(*(v.dtype if isinstance(v, Value) else v for v in (start, stop)),
                        float(num))
    dt = dt if dt.kind in "fc" else np.dtype(np.float64)
    start, stop = value(graph, start), value(graph, stop)
    start, stop = O.cast(start, dt), O.cast(stop, dt)
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64)
    shape = np.broadcast_shapes(start.shape, stop.shape)
    frac = graph.const((steps / div if div > 0 else steps * 0).reshape(
        (num,) + (1,) * len(shape)).astype(dt))
    s = O.expand_dims(start, 0) if start.ndim else start
    e = O.expand_dims(stop, 0) if stop.ndim else stop
    out = s + frac * (e - s)
    if endpoint and num > 1:
        out = O.concatenate([out[:-1], O.broadcast_to(O.expand_dims(stop, 0) if stop.ndim
                                                      else O.reshape(stop, (1,)),
                                                      (1,) + out.shape[1:])], axis=0)
    if axis != 0:
        out = O.moveaxis(out, 0, axis)
    out = _dtype_cast(out, dtype)
    if retstep:
        return out, (stop - start) / div if div > 0 else (stop - start) * np.nan
    return out


@entry(np.vander)
def _vander(x, N=None, increasing=False):
    n = x.shape[0] if N is None else int(N)
    dtype = np.promote_types(x.dtype, np.int64)  # as NumPy's result
    x = O.cast(x, dtype) if x.dtype != dtype else x
    powers = [O.ones_like(x)] + [x] * (n > 1)
    for k in range(2, n):
        powers.append(powers[-1] * x)
    powers = powers[:n]
    if not increasing:
        powers = powers[::-1]
    return O.stack(powers, axis=1)


@entry(np.full)
def _full(shape, fill_value, dtype=None, order="C", device=None, like=None):
    fill = fill_value if dtype is None else O.cast(fill_value, dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return O.broadcast_to(fill, shape)


# -- cumulative ops ---------------------------------------------------------------------------
def scan(x: Value, combine, identity) -> Value:
    """Inclusive scan along the last axis: a log-depth ladder of shifted
    combines (each step fuses into one loop; no new primitive)."""
    n = x.shape[-1]
    acc, k = x, 1
    while k < n:
        pad = O.full(x.graph, acc.shape[:-1] + (k,), identity, acc.dtype)
        shifted = O.concatenate([pad, acc[..., :-k]], axis=-1)
        acc = combine(acc, shifted)
        k *= 2
    return acc


def _cumulative(combine, identity, name):
    def fn(a, axis=None, dtype=None):
        if dtype is not None:
            a = O.cast(a, dtype)
        elif a.dtype.kind in "bi" and name in ("cumsum", "cumprod") and a.dtype.itemsize < 8:
            a = O.cast(a, np.int64)
        a, axis = _flat_axis(a, axis)
        if a.shape[axis] == 0:
            return a
        return _from_last(scan(_to_last(a, axis), combine, identity), axis)
    return fn


_cumsum = entry(np.cumsum, np.cumulative_sum if hasattr(np, "cumulative_sum") else np.cumsum)(
    _cumulative(lambda a, b: a + b, 0, "cumsum"))
_cumprod = entry(np.cumprod)(_cumulative(lambda a, b: a * b, 1, "cumprod"))
if hasattr(np, "cumulative_sum"):
    def _cumulative_sum(x, axis=None, dtype=None, include_initial=False):
        if include_initial:
            raise _refused("np.cumulative_sum", "include_initial", include_initial)
        return _cumsum(x, axis, dtype)
    FUNCTIONS[np.cumulative_sum] = (_cumulative_sum, False)

ACCUMULATE = {np.add: (lambda a, b: a + b, 0), np.multiply: (lambda a, b: a * b, 1),
              np.maximum: (O.maximum, -np.inf), np.minimum: (O.minimum, np.inf)}


def accumulate(ufunc, x, axis=0, dtype=None):
    combine, identity = ACCUMULATE[ufunc]
    x = _dtype_cast(x, dtype)
    axis = normalize_axis_index(axis, x.ndim)
    return _from_last(scan(_to_last(x, axis), combine, identity), axis)


@entry(np.diff)
def _diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    axis = normalize_axis_index(axis, a.ndim)
    parts = []
    for extra in (prepend,):
        if extra is not np._NoValue:
            e = value(a.graph, extra)
            if e.ndim == 0:
                shape = list(a.shape)
                shape[axis] = 1
                e = O.broadcast_to(e, tuple(shape))
            parts.append(e)
    parts.append(a)
    if append is not np._NoValue:
        e = value(a.graph, append)
        if e.ndim == 0:
            shape = list(a.shape)
            shape[axis] = 1
            e = O.broadcast_to(e, tuple(shape))
        parts.append(e)
    if len(parts) > 1:
        a = O.concatenate(parts, axis=axis)
    for _ in range(n):
        a = _index_along(a, axis, slice(1, None)) - _index_along(a, axis, slice(None, -1))
    return a


@entry(np.ediff1d)
def _ediff1d(ary, to_end=None, to_begin=None):
    flat = O.ravel(ary)
    d = flat[1:] - flat[:-1]
    parts = ([O.ravel(value(ary.graph, to_begin, d.dtype))] if to_begin is not None else []) + \
        [d] + ([O.ravel(value(ary.graph, to_end, d.dtype))] if to_end is not None else [])
    return O.concatenate(parts) if len(parts) > 1 else d


@entry(np.gradient)
def _gradient(f, varargs=(), axis=None, edge_order=1):
    if edge_order != 1:
        raise _refused("np.gradient", "edge_order", edge_order)
    f = _floating(f)
    axes = normalize_axis_tuple(axis, f.ndim) if axis is not None else tuple(range(f.ndim))
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacings = [varargs[0]] * len(axes)
    else:
        spacings = list(varargs)
    out = []
    for ax, h in zip(axes, spacings):
        if isinstance(h, Value) or np.ndim(h) != 0:
            raise UnsupportedOperationError("np.gradient: coordinate arrays as spacing are not "
                                            "supported on traced values; pass a scalar spacing")
        h = float(h)
        if f.shape[ax] < 2:
            raise ValueError("Shape of array too small to calculate a numerical gradient, "
                             "at least (edge_order + 1) elements are required.")
        inner = (_index_along(f, ax, slice(2, None)) - _index_along(f, ax, slice(None, -2))) \
            / (2 * h)
        first_ = (_index_along(f, ax, slice(1, 2)) - _index_along(f, ax, slice(0, 1))) / h
        last = (_index_along(f, ax, slice(-1, None)) - _index_along(f, ax, slice(-2, -1))) / h
        out.append(O.concatenate([first_, inner, last], axis=ax))
    return out[0] if len(out) == 1 else tuple(out)


@entry(np.trapezoid)
def _trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _floating(y)
    axis = normalize_axis_index(axis, y.ndim)
    ends = _index_along(y, axis, slice(1, None)) + _index_along(y, axis, slice(None, -1))
    if x is None:
        return O.sum(ends * (dx * 0.5), axis=axis)
    x = value(y.graph, x)
    if x.ndim == 1:
        d = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[axis] = d.shape[0]
        d = O.reshape(d, tuple(shape))
    else:
        d = _index_along(x, axis, slice(1, None)) - _index_along(x, axis, slice(None, -1))
    return O.sum(d * ends, axis=axis) * 0.5


# -- shape ------------------------------------------------------------------------------------------
@entry(np.flip, view=True)
def _flip(m, axis=None):
    axes = range(m.ndim) if axis is None else normalize_axis_tuple(axis, m.ndim)
    key = [slice(None)] * m.ndim
    for a in axes:
        key[a] = slice(None, None, -1)
    return O.index(m, tuple(key))


entry(np.fliplr, view=True)(lambda m: _flip(m, 1))
entry(np.flipud, view=True)(lambda m: _flip(m, 0))


@entry(np.roll)
def _roll(a, shift, axis=None):
    if axis is None:
        return O.reshape(_roll(O.ravel(a), shift, 0), a.shape)
    shifts = np.broadcast_to(np.asarray(shift), np.shape(axis)).ravel() if np.ndim(axis) else [shift]
    axes = np.ravel(axis) if np.ndim(axis) else [axis]
    if np.ndim(shift) and not np.ndim(axis):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    for s, ax in zip(shifts, axes):
        ax = normalize_axis_index(int(ax), a.ndim)
        n = a.shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = O.concatenate([_index_along(a, ax, slice(n - s, None)),
                               _index_along(a, ax, slice(None, n - s))], axis=ax)
    return a


@entry(np.rot90, view=True)
def _rot90(m, k=1, axes=(0, 1)):
    a0, a1 = (normalize_axis_index(a, m.ndim) for a in axes)
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return _flip(_flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return O.transpose(_flip(m, a1), tuple(perm))
    return _flip(O.transpose(m, tuple(perm)), a1)


@entry(np.tile)
def _tile(A, reps):
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    ndim = max(A.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    a = O.reshape(A, (1,) * (ndim - A.ndim) + A.shape)
    # interleave: (r0, s0, r1, s1, ...) then merge pairs
    expanded = O.reshape(a, tuple(x for s in a.shape for x in (1, s)))
    big = O.broadcast_to(expanded, tuple(x for r, s in zip(reps, a.shape) for x in (r, s)))
    return O.reshape(big, tuple(r * s for r, s in zip(reps, a.shape)))


@entry(np.repeat)
def _repeat(a, repeats, axis=None):
    a, axis = _flat_axis(a, axis)
    n = a.shape[axis]
    idx = np.repeat(np.arange(n), np.asarray(repeats))
    return _index_along(a, axis, a.graph.const(idx))


@entry(np.rollaxis, view=True)
def _rollaxis(a, axis, start=0):
    n = a.ndim
    axis = normalize_axis_index(axis, n)
    if start < 0:
        start += n
    if not 0 <= start <= n:
        raise np.exceptions.AxisError(f"start={start} out of range")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    order = [k for k in range(n) if k != axis]
    order.insert(start, axis)
    return O.transpose(a, tuple(order))


def _split_impl(ary, indices_or_sections, axis, what, even):
    axis = normalize_axis_index(axis, ary.ndim)
    n = ary.shape[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        bounds = np.concatenate([[0], np.asarray(indices_or_sections, dtype=np.int64), [n]])
    return [_index_along(ary, axis, slice(int(s), max(int(s), int(e))))
            for s, e in zip(bounds[:-1], bounds[1:])]


entry(np.split)(lambda ary, indices_or_sections, axis=0: _split_impl(
    ary, indices_or_sections, axis, "np.split", True))
entry(np.array_split)(lambda ary, indices_or_sections, axis=0: _split_impl(
    ary, indices_or_sections, axis, "np.array_split", False))
entry(np.hsplit)(lambda ary, indices_or_sections: _split_impl(
    ary, indices_or_sections, 1 if ary.ndim > 1 else 0, "np.hsplit", True))
entry(np.vsplit)(lambda ary, indices_or_sections: _split_impl(
    ary, indices_or_sections, 0, "np.vsplit", True))
entry(np.dsplit)(lambda ary, indices_or_sections: _split_impl(
    ary, indices_or_sections, 2, "np.dsplit", True))


@entry(np.column_stack)
def _column_stack(tup):
    graph = _graph(tup)
    arrays = [value(graph, a) for a in tup]
    arrays = [O.reshape(a, (a.size, 1)) if a.ndim < 2 else a for a in arrays]
    return O.concatenate(_promote(arrays), axis=1)


def _atleast_3d(a):
    if a.ndim == 0:
        return O.reshape(a, (1, 1, 1))
    if a.ndim == 1:
        return O.reshape(a, (1, a.shape[0], 1))
    if a.ndim == 2:
        return O.reshape(a, a.shape + (1,))
    return a


@entry(np.atleast_3d, view=True)
def _atleast_3d_all(arys):
    graph = _graph(arys)
    out = [_atleast_3d(value(graph, a)) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@entry(np.dstack)
def _dstack(tup, dtype=None):
    graph = _graph(tup)
    return O.concatenate(_promote([_dtype_cast(_atleast_3d(value(graph, a)), dtype)
                                   for a in tup]), axis=2)


def _promote(arrays):
    common = np.result_type(*[a.dtype for a in arrays])
    return [O.cast(a, common) if a.dtype != common else a for a in arrays]


@entry(np.block)
def _block(arrays):
    graph = _graph(arrays)

    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) else 0
    total = depth(arrays)

    def build(x, level):
        if not isinstance(x, list):
            return value(graph, x)
        parts = [build(p, level + 1) for p in x]
        ndim = max(total, max(p.ndim for p in parts))
        parts = [O.reshape(p, (1,) * (ndim - p.ndim) + p.shape) for p in parts]
        return O.concatenate(_promote(parts), axis=-(total - level))
    return build(arrays, 0)


@entry(np.append)
def _append(arr, values, axis=None):
    graph = _graph((arr, values))
    arr, values = value(graph, arr), value(graph, values)
    if axis is None:
        return O.concatenate(_promote([O.ravel(arr), O.ravel(values)]))
    return O.concatenate(_promote([arr, values]), axis=axis)


@entry(np.insert)
def _insert(arr, obj, values, axis=None):
    graph = _graph((arr, values))
    arr, values = value(graph, arr), value(graph, values)
    arr, axis = _flat_axis(arr, axis)
    if np.ndim(obj) != 0 or isinstance(obj, slice):
        raise UnsupportedOperationError("np.insert: only a single integer position is "
                                        "supported on traced values")
    n = arr.shape[axis]
    pos = int(obj) + n if int(obj) < 0 else int(obj)
    if not 0 <= pos <= n:
        raise IndexError(f"index {int(obj)} is out of bounds for axis {axis} with size {n}")
    shape = list(arr.shape)
    shape[axis] = 1
    if values.size == 1:
        piece = O.broadcast_to(O.reshape(values, ()), tuple(shape))
    else:
        piece = O.broadcast_to(values, tuple(shape)) if values.ndim == arr.ndim else \
            O.expand_dims(O.broadcast_to(values, tuple(s for k, s in enumerate(arr.shape)
                                                         if k != axis)), axis)
    piece = O.cast(piece, arr.dtype) if piece.dtype != arr.dtype else piece
    return O.concatenate([_index_along(arr, axis, slice(None, pos)), piece,
                          _index_along(arr, axis, slice(pos, None))], axis=axis)


@entry(np.delete)
def _delete(arr, obj, axis=None):
    arr, axis = _flat_axis(arr, axis)
    n = arr.shape[axis]
    drop = np.zeros(n, dtype=bool)
    drop[np.arange(n)[obj] if isinstance(obj, slice) else np.asarray(obj)] = True
    return _index_along(arr, axis, arr.graph.const(np.flatnonzero(~drop)))


@entry(np.pad)
def _pad(array, pad_width, mode="constant", kwargs=None):
    kwargs = dict(kwargs or {})
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (array.ndim, 2))
    if callable(mode):
        raise _refused("np.pad", "mode", mode)
    x = array
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        cvs = np.broadcast_to(np.asarray(cv, dtype=object) if not isinstance(cv, Value)
                              else np.asarray(0), (array.ndim, 2))
        for ax in range(array.ndim):
            lo, hi = (int(w) for w in widths[ax])
            parts = []
            for w, c in ((lo, cvs[ax, 0]), (hi, cvs[ax, 1])):
                shape = list(x.shape)
                shape[ax] = w
                fill = cv if isinstance(cv, Value) else c
                parts.append(O.broadcast_to(O.cast(value(x.graph, fill), x.dtype), tuple(shape)))
            x = O.concatenate([parts[0], x, parts[1]], axis=ax)
    elif mode in ("edge", "reflect", "symmetric", "wrap"):
        if mode in ("reflect", "symmetric") and kwargs.get("reflect_type", "even") != "even":
            raise _refused("np.pad", "reflect_type", kwargs["reflect_type"])
        kwargs.pop("reflect_type", None)
        for ax in range(array.ndim):
            lo, hi = (int(w) for w in widths[ax])
            n = x.shape[ax]
            idx = np.arange(-lo, n + hi)
            if mode == "edge":
                src = np.clip(idx, 0, n - 1)
            elif mode == "wrap":
                src = idx % n
            else:
                period = 2 * (n - 1) if mode == "reflect" else 2 * n
                r = idx % period if period else np.zeros_like(idx)
                src = np.where(r < n, r, period - r - (mode == "symmetric"))
                if mode == "reflect" and n == 1:
                    src = np.zeros_like(idx)
            x = _index_along(x, ax, x.graph.const(src))
    else:
        raise _refused("np.pad", "mode", mode)
    if kwargs:
        k, v = next(iter(kwargs.items()))
        raise _refused("np.pad", k, v)
    return x


@entry(np.resize)
def _resize(a, new_shape):
    shape = (int(new_shape),) if np.ndim(new_shape) == 0 else tuple(int(s) for s in new_shape)
    size = int(np.prod(shape, dtype=np.int64))
    idx = np.arange(size) % max(a.size, 1)
    return O.reshape(O.index(O.ravel(a), a.graph.const(idx)), shape)


@entry(np.broadcast_arrays)
def _broadcast_arrays(args, subok=False):
    graph = _graph(args)
    values = [value(graph, a) for a in args]
    shape = np.broadcast_shapes(*[v.shape for v in values])
    return tuple(O.broadcast_to(v, shape) for v in values)


# -- indexing and selection -------------------------------------------------------------------------
def _int_index(graph, x):
    if not isinstance(x, Value):
        x = np.asarray(x)
        x = graph.const(x.astype(np.intp) if x.size == 0 else x)  # [] is float to NumPy
    elif x.size == 0 and x.dtype.kind not in "iu":
        x = O.cast(x, np.intp)
    if x.dtype.kind not in "iu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    return x


@entry(np.take)
def _take(a, indices, axis=None, mode="raise"):
    if mode != "raise":
        raise _refused("np.take", "mode", mode)
    a, axis = _flat_axis(a, axis)
    return _index_along(a, axis, _int_index(a.graph, indices))


def take_along(arr, indices, axis):
    """arr[..., indices, ...] pairing every other axis (np.take_along_axis), as one
    gather from the flattened array: the flat position of each element is a
    constant offset plus the (bounds-checked, wrapped) index times its stride,
    a form the kernels index with one traced array."""
    graph = arr.graph
    indices = _int_index(graph, indices)
    if axis is None:
        return O.index(O.ravel(arr), indices)
    axis = normalize_axis_index(axis, arr.ndim)
    if indices.ndim != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    shape = np.broadcast_shapes(tuple(1 if k == axis else s for k, s in enumerate(arr.shape)),
                                tuple(1 if k == axis else s for k, s in enumerate(indices.shape)))
    if any(shape[k] != arr.shape[k] for k in range(arr.ndim) if k != axis):
        arr = O.broadcast_to(arr, tuple(arr.shape[axis] if k == axis else shape[k]
                                        for k in range(arr.ndim)))
    strides = [int(np.prod(arr.shape[k + 1:], dtype=np.int64)) for k in range(arr.ndim)]
    offsets = np.zeros((), dtype=np.intp)
    for k in range(arr.ndim):
        if k != axis:
            grid = np.arange(arr.shape[k], dtype=np.intp).reshape(
                [-1 if j == k else 1 for j in range(arr.ndim)])
            offsets = offsets + grid * strides[k]
    (checked,) = O.check_index((("array", 0),), [indices], (arr.shape[axis],))
    if checked.dtype != np.intp:
        checked = O.cast(checked, np.intp)
    flat = checked * strides[axis] if strides[axis] != 1 else checked
    if arr.ndim > 1:
        flat = flat + graph.const(offsets)
    return O.index(O.ravel(arr), flat)


entry(np.take_along_axis)(lambda arr, indices, axis=-1: take_along(arr, indices, axis))


@entry(np.select)
def _select(condlist, choicelist, default=0):
    graph = _graph((condlist, choicelist, default))
    conds = [value(graph, c) for c in condlist]
    choices = _promote([value(graph, c) for c in choicelist] + [value(graph, default)])
    out = choices[-1]
    for c, v in reversed(list(zip(conds, choices[:-1]))):
        out = O.where(c if c.dtype == np.bool_ else O.not_equal(c, 0), v, out)
    return out


@entry(np.choose)
def _choose(a, choices, mode="raise"):
    if mode != "raise":
        raise _refused("np.choose", "mode", mode)
    graph = _graph((a, choices))
    a = constant(a)
    if isinstance(a, Value):
        raise UnsupportedOperationError("np.choose with a traced index array is not supported "
                                        "(use np.select or np.where)")
    if np.any((np.asarray(a) < 0) | (np.asarray(a) >= len(choices))):
        raise ValueError("invalid entry in choice array")
    a = value(graph, a)
    choices = _promote([value(graph, c) for c in choices])
    out = choices[-1]
    for k in range(len(choices) - 2, -1, -1):
        out = O.where(O.equal(a, k), choices[k], out)
    return out


@entry(np.compress)
def _compress(condition, a, axis=None):
    if isinstance(condition, Value):
        raise UnsupportedOperationError("np.compress with a traced condition has a "
                                        "data-dependent shape; use np.where")
    a, axis = _flat_axis(a, axis)
    keep = np.flatnonzero(np.asarray(condition))
    return _index_along(a, axis, a.graph.const(keep))


@entry(np.extract)
def _extract(condition, arr):
    if isinstance(condition, Value):
        raise UnsupportedOperationError("np.extract with a traced condition has a "
                                        "data-dependent shape; use np.where")
    return O.index(O.ravel(arr), arr.graph.const(np.flatnonzero(np.ravel(condition))))


def put_inplace(a: Tracer, ind, v, mode="raise"):
    """np.put on a traced array (a copy): a functional update of its flat view."""
    if mode != "raise":
        raise _refused("np.put", "mode", mode)
    if not isinstance(a, Tracer):
        raise UnsupportedOperationError(
            "np.put: the array updated in place must be traced (a NumPy array cannot hold "
            "traced values); start from a traced copy")
    flat = O.ravel(a.value)
    ind = to_value(ind)
    ind = ind if isinstance(ind, Value) else np.asarray(ind)
    vals = to_value(a.ctx.lift(v))
    n = np.size(ind) if not isinstance(ind, Value) else ind.size
    vals = O.cast(O.ravel(vals), flat.dtype) if vals.dtype != flat.dtype else O.ravel(vals)
    if vals.size != n:
        vals = O.index(vals, flat.graph.const(np.arange(n) % vals.size))
    updated = O.setitem(flat, _int_index(flat.graph, ind), vals)
    a._update(O.reshape(updated, a.shape), "np.put")


@entry(np.searchsorted)
def _searchsorted(a, v, side="left", sorter=None):
    if isinstance(a, Value) or isinstance(v, Value) or isinstance(sorter, Value):
        raise UnsupportedOperationError(
            "np.searchsorted of traced values is not supported (its result is an integer "
            "index, with no gradient): search constants, or compare and count instead")
    return np.searchsorted(a, v, side, sorter)


def _argsort_last(x):
    return O.argsort(x)


def argsort_axis(a, axis=-1):
    a, axis = _flat_axis(a, axis)
    return _from_last(_argsort_last(_to_last(a, axis)), axis)


def _stable(what, kind, stable):
    if kind not in (None, "quicksort", "mergesort", "stable", "heapsort", "introselect"):
        raise _refused(what, "kind", kind)


@entry(np.argsort)
def _argsort(a, axis=-1, kind=None, order=None, stable=None):
    _stable("np.argsort", kind, stable)
    if order is not None:
        raise _refused("np.argsort", "order", order)
    return argsort_axis(a, axis)


@entry(np.sort)
def _sort(a, axis=-1, kind=None, order=None, stable=None):
    _stable("np.sort", kind, stable)
    if order is not None:
        raise _refused("np.sort", "order", order)
    a, axis = _flat_axis(a, axis)
    return take_along(a, argsort_axis(a, axis), axis)


@entry(np.partition)
def _partition(a, kth, axis=-1, kind="introselect", order=None):
    # A full sort is one valid partition (NumPy leaves the order within each
    # side unspecified).
    return _sort(a, axis)


def _arg_extremum(a, axis, keepdims, largest):
    flat, ax = _flat_axis(a, axis)
    if flat.dtype == np.bool_:
        flat = O.cast(flat, np.int8)
    key = O.neg(flat) if largest else flat
    if key.dtype.kind == "f":  # the first NaN wins, as in NumPy
        key = O.where(O.not_equal(flat, flat), -np.inf, key)
    order = argsort_axis(key, ax)
    out = _index_along(order, ax, slice(0, 1))
    if keepdims and axis is not None:
        return out
    if keepdims:
        return O.reshape(out, (1,) * a.ndim)
    return O.squeeze(out, ax)


entry(np.argmax)(lambda a, axis=None, keepdims=False: _arg_extremum(
    a, axis, keepdims is True, True))
entry(np.argmin)(lambda a, axis=None, keepdims=False: _arg_extremum(
    a, axis, keepdims is True, False))


def _quantile_impl(what, a, q, axis, method, keepdims, percent, nan=False):
    """np.quantile / np.percentile (``what``, for errors) by linear interpolation
    between the sorted values; ``nan``: NaNs do not count (np.nanquantile),
    so the positions depend on how many there are."""
    if method != "linear":
        raise _refused(what, "method", method)
    if isinstance(q, Value):
        raise UnsupportedOperationError(f"{what}: a traced q is not supported")
    result_dtype = np.result_type(_floating(a).dtype, q if isinstance(q, (int, float))
                                  else np.asarray(q).dtype)
    q = np.asarray(q, dtype=np.float64) / (100.0 if percent else 1.0)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("Percentiles must be in the range [0, 100]" if percent
                         else "Quantiles must be in the range [0, 1]")
    a = _floating(a)
    axes = normalize_axis_tuple(axis, a.ndim) if axis is not None else tuple(range(a.ndim))
    kept = [k for k in range(a.ndim) if k not in axes]
    moved = O.transpose(a, tuple(kept + list(axes)))
    n = int(np.prod([a.shape[k] for k in axes], dtype=np.int64))
    rows = O.reshape(moved, tuple(a.shape[k] for k in kept) + (n,))
    s = _sort(rows, -1)     # NaNs sort last
    qs = np.ravel(q)
    if nan:
        count = O.sum(O.cast(O.equal(rows, rows), a.dtype), axis=-1, keepdims=True)
        pos = (count - 1) * a.graph.const(qs.astype(a.dtype))          # (..., len(q))
        lo_f = O.floor(pos)
        lo = O.cast(lo_f, np.intp)
        hi = O.cast(O.minimum(lo_f + 1, O.maximum(count - 1, 0)), np.intp)
        frac = pos - lo_f
        lo_v, hi_v = take_along(s, lo, -1), take_along(s, hi, -1)
    else:
        pos = qs * (n - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        frac = a.graph.const((pos - lo).astype(a.dtype))
        lo_v = O.index(s, (Ellipsis, a.graph.const(lo)))
        hi_v = O.index(s, (Ellipsis, a.graph.const(hi)))
    out = lo_v + (hi_v - lo_v) * frac  # (..., len(q))
    out = O.moveaxis(out, -1, 0)    # q axis first, as NumPy
    if keepdims:
        shape = tuple(1 if k in axes else s_ for k, s_ in enumerate(a.shape))
        out = O.reshape(out, (out.shape[0],) + shape)
    out = O.reshape(out, q.shape + out.shape[1:])
    return O.cast(out, result_dtype) if out.dtype != result_dtype else out


@entry(np.quantile)
def _quantile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False):
    return _quantile_impl("np.quantile", a, q, axis, method, keepdims, False)


@entry(np.percentile)
def _percentile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False):
    return _quantile_impl("np.percentile", a, q, axis, method, keepdims, True)


@entry(np.median)
def _median(a, axis=None, overwrite_input=False, keepdims=False):
    return _quantile_impl("np.median", a, 0.5, axis, "linear", keepdims, False)


# -- reductions and statistics ------------------------------------------------------------------------
def _keep(keepdims):
    return False if keepdims is np._NoValue else bool(keepdims)


@entry(np.ptp)
def _ptp(a, axis=None, keepdims=np._NoValue):
    k = _keep(keepdims)
    return O.amax(a, axis=axis, keepdims=k) - O.amin(a, axis=axis, keepdims=k)


@entry(np.average)
def _average(a, axis=None, weights=None, returned=False, keepdims=np._NoValue):
    k = _keep(keepdims)
    graph = _graph((a, weights))
    a = _floating(value(graph, a))
    if weights is None:
        avg = O.mean(a, axis=axis, keepdims=k)
        count = float(a.size / max(avg.size, 1))
        scl = O.full(graph, avg.shape, count, avg.dtype)
    else:
        w = value(graph, weights)
        if w.shape != a.shape:
            if axis is None or w.ndim != 1:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            ax = normalize_axis_index(axis, a.ndim)
            w = O.reshape(w, tuple(w.shape[0] if j == ax else 1 for j in range(a.ndim)))
            w = O.broadcast_to(w, a.shape)
        scl = O.sum(w, axis=axis, keepdims=k)
        avg = O.sum(a * w, axis=axis, keepdims=k) / scl
    return (avg, scl) if returned else avg


def _where_all(what, where):
    """Refuse a ``where=`` mask; ``True`` (every element) is the default."""
    if where is not np._NoValue and where is not True:
        raise _refused(what, "where", where)


def _nan_free(a, fill):
    return O.where(O.not_equal(a, a), fill, a)


def _nan_count(a, axis, keepdims):
    return O.sum(O.cast(O.equal(a, a), a.dtype), axis=axis, keepdims=keepdims)


@entry(np.nansum)
def _nansum(a, axis=None, dtype=None, keepdims=np._NoValue, initial=np._NoValue,
            where=np._NoValue):
    _where_all("np.nansum", where)
    out = O.sum(_dtype_cast(_nan_free(a, 0), dtype), axis=axis, keepdims=_keep(keepdims))
    return out if initial is np._NoValue else out + initial


@entry(np.nanprod)
def _nanprod(a, axis=None, dtype=None, keepdims=np._NoValue, initial=np._NoValue,
             where=np._NoValue):
    _where_all("np.nanprod", where)
    out = O.prod(_dtype_cast(_nan_free(a, 1), dtype), axis=axis, keepdims=_keep(keepdims))
    return out if initial is np._NoValue else out * initial


@entry(np.nanmean)
def _nanmean(a, axis=None, dtype=None, keepdims=np._NoValue, where=np._NoValue):
    _where_all("np.nanmean", where)
    a = _floating(_dtype_cast(a, dtype))
    k = _keep(keepdims)
    return O.sum(_nan_free(a, 0), axis=axis, keepdims=k) / _nan_count(a, axis, k)


def _nanmoment(root):
    def fn(a, axis=None, dtype=None, ddof=0, keepdims=np._NoValue, where=np._NoValue,
           correction=np._NoValue):
        _where_all("np.nanstd" if root else "np.nanvar", where)
        if correction is not np._NoValue:
            ddof = correction
        a = _floating(_dtype_cast(a, dtype))
        k = _keep(keepdims)
        count = _nan_count(a, axis, True)
        centred = _nan_free(a - O.sum(_nan_free(a, 0), axis=axis, keepdims=True) / count, 0)
        out = O.sum(centred * centred, axis=axis, keepdims=k) / (
            _nan_count(a, axis, k) - ddof)
        return O.sqrt(out) if root else out
    return fn


entry(np.nanvar)(_nanmoment(False))
entry(np.nanstd)(_nanmoment(True))


def _nanextremum(name, reduce, fill):
    def fn(a, axis=None, keepdims=np._NoValue, where=np._NoValue):
        _where_all(name, where)
        k = _keep(keepdims)
        out = reduce(_nan_free(a, fill), axis=axis, keepdims=k)
        if a.dtype.kind not in "fc":
            return out
        # an all-NaN slice is NaN (NumPy warns), not the fill
        return O.where(O.equal(_nan_count(a, axis, k), 0), np.nan, out)
    return fn


entry(np.nanmax)(_nanextremum("np.nanmax", O.amax, -np.inf))
entry(np.nanmin)(_nanextremum("np.nanmin", O.amin, np.inf))


@entry(np.nanmedian)
def _nanmedian(a, axis=None, overwrite_input=False, keepdims=np._NoValue):
    return _quantile_impl("np.nanmedian", a, 0.5, axis, "linear", _keep(keepdims), False, True)


@entry(np.nanpercentile)
def _nanpercentile(a, q, axis=None, overwrite_input=False, method="linear",
                   keepdims=np._NoValue, weights=None):
    if weights is not None:
        raise _refused("np.nanpercentile", "weights", weights)
    return _quantile_impl("np.nanpercentile", a, q, axis, method, _keep(keepdims), True, True)


@entry(np.nanquantile)
def _nanquantile(a, q, axis=None, overwrite_input=False, method="linear",
                 keepdims=np._NoValue, weights=None):
    if weights is not None:
        raise _refused("np.nanquantile", "weights", weights)
    return _quantile_impl("np.nanquantile", a, q, axis, method, _keep(keepdims), False, True)


@entry(np.cov)
def _cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
         dtype=None):
    if fweights is not None or aweights is not None:
        raise _refused("np.cov", "fweights" if fweights is not None else "aweights",
                       fweights if fweights is not None else aweights)
    graph = _graph((m, y))
    x = _floating(value(graph, m))
    x = O.reshape(x, (1, x.size)) if x.ndim == 1 else x
    if not rowvar and x.shape[0] != 1:
        x = O.transpose(x)
    if y is not None:
        yv = _floating(value(graph, y))
        yv = O.reshape(yv, (1, yv.size)) if yv.ndim == 1 else yv
        if not rowvar and yv.shape[0] != 1:
            yv = O.transpose(yv)
        x = O.concatenate(_promote([x, yv]), axis=0)
    x = O.cast(x, np.result_type(x.dtype, np.float64)) if dtype is None else O.cast(x, dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    n = x.shape[1]
    centred = x - O.mean(x, axis=1, keepdims=True)
    c = (centred @ O.transpose(centred)) / (n - ddof)
    return O.reshape(c, ()) if c.shape == (1, 1) else c


@entry(np.corrcoef)
def _corrcoef(x, y=None, rowvar=True, bias=np._NoValue, ddof=np._NoValue, dtype=None):
    c = _cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = O.sqrt(O.diagonal(c))
    c = c / O.reshape(d, (-1, 1)) / O.reshape(d, (1, -1))
    return O.clip(c, -1, 1)


@entry(np.count_nonzero)
def _count_nonzero(a, axis=None, keepdims=False):
    return O.sum(O.cast(O.not_equal(a, 0), np.intp), axis=axis, keepdims=bool(keepdims))


# -- contractions -------------------------------------------------------------------------------------
@entry(np.tensordot)
def _tensordot(a, b, axes=2):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    if np.ndim(axes) == 0:
        n = int(axes)
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
        axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    axes_a = [normalize_axis_index(k, a.ndim) for k in axes_a]
    axes_b = [normalize_axis_index(k, b.ndim) for k in axes_b]
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError("shape-mismatch for sum")
    free_a = [k for k in range(a.ndim) if k not in axes_a]
    free_b = [k for k in range(b.ndim) if k not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a], dtype=np.int64))
    at = O.reshape(O.transpose(a, tuple(free_a + axes_a)),
                   (int(np.prod([a.shape[i] for i in free_a], dtype=np.int64)), k))
    bt = O.reshape(O.transpose(b, tuple(axes_b + free_b)),
                   (k, int(np.prod([b.shape[i] for i in free_b], dtype=np.int64))))
    return O.reshape(at @ bt, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i]
                                                                       for i in free_b))


@entry(np.inner)
def _inner(a, b):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


@entry(np.dot)
def _dot(a, b):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    if max(a.ndim, b.ndim) <= 2 or min(a.ndim, b.ndim) == 0:
        return O.dot(a, b)
    # the last axis of a with the second-to-last of b (its only one when 1-D)
    return _tensordot(a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]))


@entry(np.kron)
def _kron(a, b):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    ndim = max(a.ndim, b.ndim)
    a = O.reshape(a, (1,) * (ndim - a.ndim) + a.shape)
    b = O.reshape(b, (1,) * (ndim - b.ndim) + b.shape)
    ae = O.reshape(a, tuple(x for s in a.shape for x in (s, 1)))
    be = O.reshape(b, tuple(x for s in b.shape for x in (1, s)))
    return O.reshape(ae * be, tuple(p * q for p, q in zip(a.shape, b.shape)))


@entry(np.cross)
def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = O.moveaxis(a, axisa, -1), O.moveaxis(b, axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise UnsupportedOperationError("np.cross: only 3-vectors are supported on traced values")
    a0, a1, a2 = (a[..., k] for k in range(3))
    b0, b1, b2 = (b[..., k] for k in range(3))
    out = O.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return O.moveaxis(out, -1, axisc)


def _einsum_parse(subscripts, shapes):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
        explicit = True
    else:
        ins, out, explicit = subscripts, None, False
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError("einsum: the number of operands does not match the subscripts")
    used = set(c for t in terms for c in t if c.isalpha())
    spare = [c for c in string.ascii_letters if c not in used]
    ell_ndim = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                    if "..." in t] or [0])
    ell = "".join(spare[:ell_ndim])
    full = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_ndim - k:])
        if len(t) != len(s):
            raise ValueError(f"einsum: operand with subscripts {t!r} has shape {s}")
        full.append(t)
    if explicit:
        out = out.replace("...", ell)
    else:
        counts = {}
        for t in full:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return full, out


def einsum_values(subscripts, operands):
    """einsum as diagonal reads, broadcast products and sums: each operand's
    repeated letters become a diagonal, pairs of operands contract through
    matmul when a letter is shared and summed away."""
    full, out = _einsum_parse(subscripts, [o.shape for o in operands])
    sizes = {}
    terms = []
    for t, v in zip(full, operands):
        # take diagonals of repeated letters within one operand
        while len(set(t)) != len(t):
            c = next(c for c in t if t.count(c) > 1)
            i = t.index(c)
            j = t.index(c, i + 1)
            v = O.diagonal(v, 0, i, j)  # the diagonal becomes the last axis
            t = "".join(x for k, x in enumerate(t) if k not in (i, j)) + c
        for c, n in zip(t, v.shape):
            known = sizes.get(c)
            if known is None or known == 1:
                sizes[c] = n
            elif n != 1 and n != known:
                raise ValueError(f"einsum: dimension {c!r} has sizes {known} and {n}")
        terms.append((t, v))

    def remaining(k, pool):
        rest = set(out)
        for t, _ in pool[:k] + pool[k + 1:]:
            rest |= set(t)
        return rest

    # sum out letters that appear in one operand only
    def reduce_own(pool, k):
        t, v = pool[k]
        keep = remaining(k, pool)
        drop = [i for i, c in enumerate(t) if c not in keep]
        if drop:
            v = O.sum(v, axis=tuple(drop))
            t = "".join(c for i, c in enumerate(t) if i not in drop)
        pool[k] = (t, v)

    pool = list(terms)
    for k in range(len(pool)):
        reduce_own(pool, k)
    while len(pool) > 1:
        (t1, v1), (t2, v2) = pool[0], pool[1]
        rest = remaining(0, [pool[0]] + pool[2:]) | set()
        others = set(out)
        for t, _ in pool[2:]:
            others |= set(t)
        shared = [c for c in t1 if c in t2]
        contract = [c for c in shared if c not in others]
        batch = [c for c in shared if c in others]
        left = [c for c in t1 if c not in shared]
        right = [c for c in t2 if c not in shared]
        # (batch, left, contract) @ (batch, contract, right)
        a = O.transpose(v1, tuple(t1.index(c) for c in batch + left + contract))
        b = O.transpose(v2, tuple(t2.index(c) for c in batch + contract + right))
        bs = tuple(sizes[c] for c in batch)
        ls, rs = tuple(sizes[c] for c in left), tuple(sizes[c] for c in right)
        cs = int(np.prod([sizes[c] for c in contract], dtype=np.int64))
        a = O.reshape(O.broadcast_to(a, bs + ls + tuple(sizes[c] for c in contract)),
                      bs + (int(np.prod(ls, dtype=np.int64)), cs))
        b = O.reshape(O.broadcast_to(b, bs + tuple(sizes[c] for c in contract) + rs),
                      bs + (cs, int(np.prod(rs, dtype=np.int64))))
        v = O.reshape(a @ b, bs + ls + rs)
        pool = [("".join(batch + left + right), v)] + pool[2:]
        del rest
        reduce_own(pool, 0)
    t, v = pool[0]
    v = O.transpose(v, tuple(t.index(c) for c in out)) if t else v
    target = tuple(sizes[c] for c in out)
    return O.broadcast_to(v, target) if v.shape != target else v


@entry(np.einsum)
def _einsum(operands, optimize=False, kwargs=None):
    for k, v in (kwargs or {}).items():
        if k == "dtype" and v is None or k == "order" or k == "casting" and v == "safe":
            continue
        raise _refused("np.einsum", k, v)
    subscripts, *arrays = operands
    if not isinstance(subscripts, str):
        raise UnsupportedOperationError("np.einsum: the interleaved (operand, sublist) form is "
                                        "not supported on traced values; use a subscripts "
                                        "string")
    graph = _graph(arrays)
    arrays = _promote([value(graph, a) for a in arrays])
    return einsum_values(subscripts, arrays)


@entry(np.convolve)
def _convolve(a, v, mode="full"):
    graph = _graph((a, v))
    a, v = value(graph, a), value(graph, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("object too deep for desired array")
    if a.size < v.size:
        a, v = v, a
    n, m = a.size, v.size
    full_len = n + m - 1
    # out[k] = sum_j a[k - j] v[j]: gather a zero-padded a with a constant index table
    padded = O.concatenate(_promote([_zeros(graph, (m - 1,), a.dtype), a,
                                     _zeros(graph, (m - 1,), a.dtype)]))
    k = np.arange(full_len)[:, None]
    j = np.arange(m)[None, :]
    window = O.index(padded, graph.const(k - j + m - 1))   # (full_len, m)
    out = O.sum(window * v, axis=1)
    if mode == "full":
        return out
    if mode == "same":
        start = (m - 1) // 2
        return out[start:start + n]
    if mode == "valid":
        return out[m - 1:n]
    raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")


@entry(np.correlate)
def _correlate(a, v, mode="valid"):
    graph = _graph((a, v))
    a, v = value(graph, a), value(graph, v)
    if a.size < v.size:  # NumPy swaps the operands and reverses the result
        out = _convolve(v, O.index(a, (slice(None, None, -1),)), mode)
        return O.index(out, (slice(None, None, -1),))
    return _convolve(a, O.index(v, (slice(None, None, -1),)), mode)


@entry(np.interp)
def _interp(x, xp, fp, left=None, right=None, period=None):
    if period is not None:
        raise _refused("np.interp", "period", period)
    graph = _graph((x, xp, fp))
    if isinstance(xp, Value):
        raise UnsupportedOperationError("np.interp: traced sample points xp are not supported; "
                                        "x and fp may be traced")
    xp = np.asarray(xp, dtype=np.float64)
    fp = _floating(value(graph, fp))
    xv = _floating(value(graph, x))
    n = xp.size
    # segment of each x: the count of xp[1:-1] below or at it (constant xp)
    inner = graph.const(xp[1:-1]) if n > 2 else None
    if inner is not None:
        seg = O.sum(O.cast(O.greater_equal(O.expand_dims(xv, -1), inner), np.intp), axis=-1)
    else:
        seg = O.full(graph, xv.shape, 0, np.intp)
    x0 = O.index(graph.const(xp[:-1]), seg)
    dx = O.index(graph.const(np.diff(xp)), seg)
    f0 = O.index(fp, seg)
    f1 = O.index(fp, seg + 1)
    t = (xv - x0) / dx
    out = f0 + t * (f1 - f0)
    lo = fp[0] if left is None else value(graph, left, fp.dtype)
    hi = fp[-1] if right is None else value(graph, right, fp.dtype)
    out = O.where(O.less(xv, float(xp[0])), lo, out)
    out = O.where(O.greater(xv, float(xp[-1])), hi, out)
    return out


@entry(np.polyval)
def _polyval(p, x):
    graph = _graph((p, x))
    p, x = value(graph, p), value(graph, x)
    out = O.zeros_like(x) if x.dtype.kind == "f" else O.cast(O.zeros_like(x), p.dtype)
    for k in range(p.shape[0]):
        out = out * x + p[k]
    return out


@entry(np.polyfit)
def _polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    if full or cov or w is not None:
        name = "full" if full else "cov" if cov else "w"
        raise _refused("np.polyfit", name, {"full": full, "cov": cov, "w": w}[name])
    graph = _graph((x, y))
    x, y = _floating(value(graph, x)), _floating(value(graph, y))
    a = _vander(x, deg + 1)
    # scale the columns as NumPy does, then least squares by the normal equations
    return lstsq_values(a, y)


# -- linear algebra ---------------------------------------------------------------------------------------
def _mat_rhs(a, b):
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and False)


@entry(np.linalg.solve)
def _solve(a, b):
    graph = _graph((a, b))
    a, b = _promote([_floating(value(graph, a)), _floating(value(graph, b))])
    if b.ndim == 1:
        return O.solve(a, O.reshape(b, b.shape + (1,)))[..., 0]
    return O.solve(a, b)


def inv_values(a):
    a = _floating(a)
    return O.solve(a, O.broadcast_to(O.eye_like(a), a.shape))


entry(np.linalg.inv)(lambda a: inv_values(a))
entry(np.linalg.det)(lambda a: O.det(_floating(a)))


@entry(np.linalg.slogdet)
def _slogdet(a):
    a = _floating(a)
    return O.slogdet_sign(a), O.slogdet_abs(a)


@entry(np.linalg.cholesky)
def _cholesky(a, upper=False):
    # LAPACK reads the triangle it returns: the upper one for upper=True
    if upper:
        return O.swap_last(O.cholesky(O.swap_last(_floating(a))))
    return O.cholesky(_floating(a))


def _uplo(what, UPLO, a):
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return a if UPLO == "L" else O.swap_last(a)


@entry(np.linalg.eigh)
def _eigh(a, UPLO="L"):
    a = _uplo("np.linalg.eigh", UPLO, _floating(a))
    return O.eigvalsh(a), O.eigh_vectors(a)


entry(np.linalg.eigvalsh)(lambda a, UPLO="L": O.eigvalsh(_uplo("eigvalsh", UPLO, _floating(a))))


def svd_values(a, compute_uv=True, full_matrices=False):
    """SVD through the symmetric eigenproblem of the smaller Gram matrix."""
    a = _floating(a)
    m, n = a.shape[-2:]
    wide = m < n
    at = O.swap_last(a)
    gram = (a @ at) if wide else (at @ a)
    w = O.eigvalsh(gram)[..., ::-1]
    s = O.sqrt(O.maximum(w, 0))
    if not compute_uv:
        return s
    if full_matrices and m != n:
        raise UnsupportedOperationError("np.linalg.svd(full_matrices=True) of a non-square "
                                        "matrix is not supported on traced values; pass "
                                        "full_matrices=False")
    vecs = O.eigh_vectors(gram)[..., ::-1]
    if wide:
        u = vecs
        vt = O.swap_last((at @ u) / O.expand_dims(s, -2))
    else:
        v = vecs
        u = (a @ v) / O.expand_dims(s, -2)
        vt = O.swap_last(v)
    return u, s, vt


@entry(np.linalg.svd)
def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if hermitian:
        raise _refused("np.linalg.svd", "hermitian", hermitian)
    return svd_values(a, compute_uv, full_matrices)


if hasattr(np.linalg, "svdvals"):
    entry(np.linalg.svdvals)(lambda x: svd_values(x, False))


@entry(np.linalg.qr)
def _qr(a, mode="reduced"):
    if mode not in ("reduced", "r", "complete"):
        raise _refused("np.linalg.qr", "mode", mode)
    a = _floating(a)
    m, n = a.shape[-2:]
    if m < n or (mode == "complete" and m != n):
        raise UnsupportedOperationError("np.linalg.qr of a wide matrix (or mode='complete' of a "
                                        "non-square one) is not supported on traced values")
    L = O.cholesky(O.swap_last(a) @ a)
    r = O.swap_last(L)
    if mode == "r":
        return r
    q = O.swap_last(O.solve(L, O.swap_last(a)))  # a R^-1
    return q, r


def lstsq_values(a, b):
    at = O.swap_last(a)
    if b.ndim == 1:
        return O.solve(at @ a, O.reshape(at @ b, (a.shape[-1], 1)))[..., 0]
    return O.solve(at @ a, at @ b)


@entry(np.linalg.lstsq)
def _lstsq(a, b, rcond=None):
    graph = _graph((a, b))
    a, b = _promote([_floating(value(graph, a)), _floating(value(graph, b))])
    m, n = a.shape
    if m < n:
        raise UnsupportedOperationError("np.linalg.lstsq of an underdetermined system is not "
                                        "supported on traced values")
    x = lstsq_values(a, b)
    r = (a @ x) - b
    residuals = O.sum(r * r, axis=0)
    residuals = O.reshape(residuals, (1,)) if residuals.ndim == 0 else residuals
    return x, residuals, n, svd_values(a, False)


@entry(np.linalg.pinv)
def _pinv(a, rcond=None, hermitian=False, rtol=np._NoValue):
    a = _floating(a)
    at = O.swap_last(a)
    m, n = a.shape[-2:]
    if m >= n:
        return O.solve(at @ a, at)
    return O.swap_last(O.solve(a @ at, a))


@entry(np.linalg.matrix_power)
def _matrix_power(a, n):
    n = int(n)
    if n < 0:
        a, n = inv_values(a), -n
    if n == 0:
        return O.broadcast_to(O.eye_like(a), a.shape)
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


@entry(np.linalg.multi_dot)
def _multi_dot(arrays):
    graph = _graph(arrays)
    arrays = [value(graph, a) for a in arrays]
    out = arrays[0]
    for a in arrays[1:]:
        out = out @ a
    return out


def _matrix_norm_spectral(x, ord, axes, keepdims):
    row, col = axes
    moved = O.moveaxis(x, (row, col), (-2, -1))
    s = svd_values(moved, False)
    out = O.amax(s, axis=-1) if ord == 2 else O.amin(s, axis=-1) if ord == -2 else \
        O.sum(s, axis=-1)
    if keepdims:
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        out = O.reshape(out, tuple(shape))
    return out


@entry(np.linalg.norm)
def _norm(x, ord=None, axis=None, keepdims=False):
    x = _floating(x)
    if ord in (2, -2, "nuc"):
        if axis is None and x.ndim == 2:
            axis = (0, 1)
        if axis is not None and np.ndim(axis) == 1 and len(axis) == 2:
            axes = normalize_axis_tuple(axis, x.ndim)
            return _matrix_norm_spectral(x, ord, axes, bool(keepdims))
    return O.norm(x, ord=ord, axis=axis, keepdims=bool(keepdims))


@entry(np.linalg.vector_norm)
def _vector_norm(x, axis=None, keepdims=False, ord=2):
    x = _floating(x)
    if axis is None:
        out = O.norm(O.ravel(x), ord=ord, axis=0)
        return O.reshape(out, (1,) * x.ndim) if keepdims else out
    return O.norm(x, ord=ord, axis=axis, keepdims=bool(keepdims))


@entry(np.linalg.matrix_norm)
def _matrix_norm(x, keepdims=False, ord="fro"):
    return _norm(x, ord, (-2, -1), keepdims)


@entry(np.linalg.cond)
def _cond(x, p=None):
    if p not in (None, 2, -2):
        raise _refused("np.linalg.cond", "p", p)
    s = svd_values(x, False)
    return (O.amax(s, axis=-1) / O.amin(s, axis=-1)) if p != -2 else \
        (O.amin(s, axis=-1) / O.amax(s, axis=-1))


entry(np.linalg.matrix_transpose, view=True)(lambda x: O.swap_last(x))
entry(np.linalg.outer)(lambda x1, x2: O.outer(x1, x2))
entry(np.linalg.trace)(lambda x, offset=0, dtype=None: _dtype_cast(
    O.trace(x, offset, -2, -1), dtype))
entry(np.linalg.diagonal)(lambda x, offset=0: O.diagonal(x, offset, -2, -1))


@entry(np.linalg.vecdot)
def _vecdot(x1, x2, axis=-1):
    graph = _graph((x1, x2))
    x1, x2 = value(graph, x1), value(graph, x2)
    return O.sum(x1 * x2, axis=axis)


@entry(np.linalg.tensordot)
def _la_tensordot(x1, x2, axes=2):
    return _tensordot(x1, x2, axes)


entry(np.linalg.matmul)(lambda x1, x2: O.matmul(x1, x2))


# -- elementwise functions (not ufuncs) --------------------------------------------------------------
def _real_only(what, x):
    if x.dtype.kind == "c":
        raise UnsupportedOperationError(f"{what} of complex traced values is not supported")
    return x


entry(np.real)(lambda val: _real_only("np.real", val))
entry(np.imag)(lambda val: O.zeros_like(_real_only("np.imag", val)))


@entry(np.round, np.around)
def _round(a, decimals=0):
    if a.dtype.kind not in "fc":
        return a if decimals >= 0 else O.cast(rounded_values(O.cast(a, np.float64), decimals),
                                              a.dtype)
    return rounded_values(a, decimals)


def rounded_values(a, decimals):
    if decimals == 0:
        return O.rint(a)
    scale = float(10.0 ** decimals)
    return O.rint(a * scale) / scale


entry(np.fix)(lambda x: O.trunc(x))


@entry(np.sinc)
def _sinc(x):
    x = _floating(x)
    y = x * float(np.pi)
    small = O.less(O.abs(y), 1e-3)
    safe = O.where(small, 1, y)
    y2 = y * y
    # Taylor series near 0: exact in float64 there and right to every order at 0
    series = 1 - y2 / 6 + y2 * y2 / 120
    return O.where(small, series, O.sin(safe) / safe)


@entry(np.nan_to_num)
def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind not in "fc":
        return x
    info = np.finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = O.where(O.not_equal(x, x), nan, x)
    out = O.where(O.equal(x, np.inf), hi, out)
    return O.where(O.equal(x, -np.inf), lo, out)


@entry(np.isclose)
def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    graph = _graph((a, b))
    a, b = value(graph, a), value(graph, b)
    close = O.less_equal(O.abs(a - b), atol + rtol * O.abs(b))
    if equal_nan:
        close = O.logical_or(close, O.logical_and(O.not_equal(a, a), O.not_equal(b, b)))
    return close


entry(np.iscomplexobj)(lambda x: x.dtype.kind == "c")
entry(np.isrealobj)(lambda x: x.dtype.kind != "c")
entry(np.isreal)(lambda x: O.full(x.graph, x.shape, True, np.bool_) if x.dtype.kind != "c"
                 else _real_only("np.isreal", x))
entry(np.iscomplex)(lambda x: O.full(x.graph, x.shape, False, np.bool_) if x.dtype.kind != "c"
                    else _real_only("np.iscomplex", x))


@entry(np.piecewise)
def _piecewise(x, condlist, funclist, args=(), kw=None):
    raise UnsupportedOperationError("np.piecewise calls its functions on masked selections "
                                    "(data-dependent shapes); use np.select or np.where")


@entry(np.trim_zeros)
def _trim_zeros(filt, trim="fb", axis=None):
    raise UnsupportedOperationError("np.trim_zeros has a data-dependent shape")


@entry(np.unique)
def _unique(ar, **kwargs):
    raise UnsupportedOperationError("np.unique of traced values has a data-dependent shape")


# -- ufuncs ------------------------------------------------------------------------------------------
_DEG = float(np.pi / 180)
_LN2 = float(np.log(2))


def _conj(x):
    return _real_only("np.conjugate", x)


def _heaviside(x, h0):
    graph = _graph((x, h0))
    x = value(graph, x)
    dtype = np.result_type(x.dtype, h0.dtype if isinstance(h0, Value) else h0)
    h0 = value(graph, h0)
    out = O.where(O.less(x, 0), 0, O.where(O.equal(x, 0), h0, 1))
    out = O.where(O.not_equal(x, x), x, out)
    return O.cast(out, dtype) if out.dtype != dtype else out


UFUNCS.update({
    np.arcsinh: O.arcsinh, np.arccosh: O.arccosh, np.arctanh: O.arctanh, np.cbrt: O.cbrt,
    np.hypot: O.hypot, np.copysign: O.copysign, np.fmod: O.fmod, np.remainder: O.mod,
    np.floor_divide: O.floor_divide, np.trunc: O.trunc, np.rint: O.rint,
    np.deg2rad: lambda x: _floating(x) * _DEG, np.radians: lambda x: _floating(x) * _DEG,
    np.rad2deg: lambda x: _floating(x) * (1 / _DEG), np.degrees: lambda x: _floating(x) * (1 / _DEG),
    np.logaddexp2: lambda x, y: O.logaddexp(x * _LN2, y * _LN2) * (1 / _LN2),
    np.conjugate: _conj, np.heaviside: _heaviside,
    np.divmod: lambda x, y: (O.floor_divide(x, y), O.mod(x, y)),
    np.isnan: lambda x: O.not_equal(x, x),
    np.isinf: lambda x: O.equal(O.abs(x), np.inf),
    np.isfinite: lambda x: O.less(O.abs(x), np.inf),
})


def _logsumexp_reduce(x, axis=0, keepdims=False):
    return O.logsumexp(x, axis=axis, keepdims=keepdims)


api.REDUCERS[np.logaddexp] = _logsumexp_reduce
api.REDUCERS[np.logaddexp2] = lambda x, axis=0, keepdims=False: \
    O.logsumexp(x * _LN2, axis=axis, keepdims=keepdims) * (1 / _LN2)
api.ACCUMULATORS.update({u: functools.partial(accumulate, u) for u in ACCUMULATE})


# -- SciPy's special-function ufuncs -----------------------------------------------------------------
def _scipy_ufuncs():
    try:
        import scipy.special as sp
    except ImportError:  # SciPy is optional
        return

    def xlogy(x, y):
        graph = _graph((x, y))
        x, y = value(graph, x), value(graph, y)
        zero = O.equal(x, 0)
        return O.where(zero, 0, x * O.log(O.where(zero, 1, y)))

    def xlog1py(x, y):
        graph = _graph((x, y))
        x, y = value(graph, x), value(graph, y)
        zero = O.equal(x, 0)
        return O.where(zero, 0, x * O.log1p(O.where(zero, 0, y)))

    def like(out, *xs):
        dtype = np.result_type(*[v.dtype for v in xs], 1.0)  # float32 stays float32
        return O.cast(out, dtype) if out.dtype != dtype else out

    def entr(x):
        pos = O.greater(x, 0)
        safe = O.where(pos, x, 1)
        return like(O.where(pos, -(safe * O.log(safe)), O.where(O.equal(x, 0), 0, -np.inf)), x)

    def rel_entr(x, y):
        graph = _graph((x, y))
        x, y = value(graph, x), value(graph, y)
        ok = O.logical_and(O.greater(x, 0), O.greater(y, 0))
        sx, sy = O.where(ok, x, 1), O.where(ok, y, 1)
        other = O.where(O.logical_and(O.equal(x, 0), O.greater_equal(y, 0)), 0, np.inf)
        return like(O.where(ok, sx * O.log(sx / sy), other), x, y)

    def kl_div(x, y):
        graph = _graph((x, y))
        x, y = value(graph, x), value(graph, y)
        return rel_entr(x, y) - x + y

    def betaln(a, b):
        graph = _graph((a, b))
        a, b = value(graph, a), value(graph, b)
        return O.gammaln(a) + O.gammaln(b) - O.gammaln(a + b)

    def ndtr(x):
        return O.erfc(-x * float(1 / np.sqrt(2))) * 0.5

    def logit(x):
        return O.log(x / (1 - x))

    def log_expit(x):
        return -O.logaddexp(0, -x)

    UFUNCS.update({
        sp.expit: lambda x: O.sigmoid(_floating(x)), sp.logit: logit, sp.log_expit: log_expit,
        sp.erf: O.erf, sp.erfc: O.erfc, sp.gammaln: O.gammaln,
        sp.psi: lambda x: O.polygamma(_floating(x), n=0),
        sp.ndtr: ndtr, sp.log_ndtr: O.log_ndtr, sp.erfinv: O.erfinv, sp.ndtri: O.ndtri,
        sp.xlogy: xlogy, sp.xlog1py: xlog1py, sp.entr: entr, sp.rel_entr: rel_entr,
        sp.kl_div: kl_div, sp.betaln: betaln, sp.gamma: O.gamma, sp.beta: O.beta,
    })


_scipy_ufuncs()


# -- ndarray methods ---------------------------------------------------------------------------------
def _method(func):
    return lambda self, *a, **k: api.apply_function(func, (self,) + a, k)


def _sort_method(self, axis=-1, kind=None, order=None, stable=None):
    if order is not None:
        raise _refused("ndarray.sort", "order", order)
    self._update(_sort(self.value, axis), "ndarray.sort")


def _partition_method(self, kth, axis=-1, kind="introselect", order=None):
    # a full sort is one valid partition
    if order is not None:
        raise _refused("ndarray.partition", "order", order)
    self._update(_sort(self.value, axis), "ndarray.partition")


def _fill_method(self, value_):
    v = to_value(self.ctx.lift(value_))
    self._update(O.broadcast_to(O.cast(v, self.dtype), self.shape), "ndarray.fill")


def _any_all(reduce_any):
    def fn(self, axis=None, out=None, keepdims=False, where=True):
        if out is not None or where is not True:
            raise _refused("ndarray.any" if reduce_any else "ndarray.all",
                           "out" if out is not None else "where", out if out is not None
                           else where)
        nz = O.cast(O.not_equal(self.value, 0), np.int8)
        r = (O.amax if reduce_any else O.amin)(nz, axis=axis, keepdims=bool(keepdims))
        return api._wrap(self, O.greater(r, 0))
    return fn


def _put_method(self, indices, values, mode="raise"):
    put_inplace(self, indices, values, mode)


def _dot_method(self, b, out=None):
    if out is not None:
        raise _refused("ndarray.dot", "out", out)
    return api.apply_function(np.dot, (self, b), {})


METHODS.update({
    "cumsum": _method(np.cumsum), "cumprod": _method(np.cumprod),
    "conj": lambda self: np.conjugate(self), "conjugate": lambda self: np.conjugate(self), "round": _method(np.round), "repeat": _method(np.repeat),
    "take": _method(np.take), "argsort": _method(np.argsort), "argmax": _method(np.argmax),
    "argmin": _method(np.argmin), "ptp": _method(np.ptp), "sort": _sort_method,
    "fill": _fill_method, "any": _any_all(True), "all": _any_all(False), "put": _put_method,
    "dot": _dot_method, "swapaxes": _method(np.swapaxes),
    "searchsorted": _method(np.searchsorted), "partition": _partition_method,
    "nonzero": lambda self: (_ for _ in ()).throw(UnsupportedOperationError(
        "ndarray.nonzero of a traced value has a data-dependent shape; use np.where(c, x, y)")),
})
api.ATTRIBUTES.update({
    "real": lambda self: api.apply_function(np.real, (self,), {}),
    "imag": lambda self: api.apply_function(np.imag, (self,), {}),
    "flat": lambda self: api.apply_function(np.ravel, (self,), {}),
    "mT": lambda self: api.apply_function(np.linalg.matrix_transpose, (self,), {}),
})


def fill_diagonal_inplace(a, val, wrap=False):
    """np.fill_diagonal on a traced array (a copy): a functional update."""
    if not isinstance(a, Tracer):
        raise UnsupportedOperationError(
            "np.fill_diagonal: the array updated in place must be traced (a NumPy array cannot "
            "hold traced values); start from a traced copy")
    if wrap and a.ndim == 2 and a.shape[0] > a.shape[1] + 1:
        raise _refused("np.fill_diagonal", "wrap", wrap)
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    n = builtins.min(a.shape)
    idx = a.value.graph.const(np.arange(n))
    v = to_value(a.ctx.lift(val))
    v = O.cast(v, a.dtype) if v.dtype != a.dtype else v
    if v.ndim:
        v = O.index(O.ravel(v), a.value.graph.const(np.arange(n) % v.size))
    a._update(O.setitem(a.value, (idx,) * a.ndim, v), "np.fill_diagonal")


api.INPLACE.update({np.put: put_inplace, np.fill_diagonal: fill_diagonal_inplace})

"""Indexing: reads (basic and advanced), scatter-add (its adjoint) and the
functional index update ``setitem`` (``y = x.copy(); y[idx] = v``).

An index is kept as a static ``spec``: a tuple whose items are
``("slice", start, stop, step)``, ``("int", i)``, ``("newaxis",)``,
``("ellipsis",)`` or ``("array", k)`` -- the k-th integer-array operand after
the indexed value (and the update, for setitem / scatter_add).
"""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.errors import ShapeError, UnsupportedOperationError
from compiler.ops import Op

__all__ = ["index", "scatter_add", "setitem", "index_spec", "spec_to_index"]


def index_spec(key, graph):
    """Split a NumPy index into a static spec and integer-array operands."""
    if not isinstance(key, tuple):
        key = (key,)
    spec, arrays = [], []
    for item in key:
        if isinstance(item, slice):
            spec.append(("slice", *(None if v is None else int(v)
                                     for v in (item.start, item.stop, item.step))))
        elif item is None:
            spec.append(("newaxis",))
        elif item is Ellipsis:
            spec.append(("ellipsis",))
        elif isinstance(item, (bool, np.bool_)):
            raise UnsupportedOperationError("indexing with a Python bool is not supported")
        elif isinstance(item, (int, np.integer)):
            spec.append(("int", int(item)))
        else:
            if not isinstance(item, O.Value):
                item = np.asarray(item)
                if item.dtype == bool:
                    # A constant mask is a constant set of positions.
                    spec.extend(("array", len(arrays) + k) for k in range(item.ndim))
                    arrays.extend(graph.const(ix) for ix in np.nonzero(item))
                    continue
                item = graph.const(item)
            if item.dtype.kind not in "iu":
                raise UnsupportedOperationError(
                    f"index arrays must be integers (got {item.dtype}); boolean masks "
                    "that depend on traced values have data-dependent shapes: use np.where")
            spec.append(("array", len(arrays)))
            arrays.append(item)
    return tuple(spec), arrays


def spec_to_index(spec, arrays):
    out = []
    for item in spec:
        kind = item[0]
        if kind == "slice":
            out.append(slice(*item[1:]))
        elif kind == "int":
            out.append(item[1])
        elif kind == "newaxis":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(arrays[item[1]])
    return tuple(out)


def _probe(shape, dtype, spec, array_shapes):
    """Index a zero-strided stand-in to learn the result's shape (no data)."""
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))
    arrays = [np.zeros(s, dtype=np.intp) for s in array_shapes]
    try:
        return stand_in[spec_to_index(spec, arrays)].shape
    except IndexError as e:
        raise ShapeError(f"index: {e} (indexing shape {shape})") from None


def _index_infer(shapes, dtypes, attrs):
    return _probe(shapes[0], dtypes[0], attrs["spec"], shapes[1:]), dtypes[0]


INDEX = Op("index", lambda x, *arrays, spec: x[spec_to_index(spec, arrays)],
           infer=_index_infer, linear=True,
           vjp=lambda g, out, x, *arrays, spec:
               (scatter_add(O.zeros_like(x), g, arrays, spec),) + (None,) * len(arrays),
           jvp=lambda ts, out, x, *arrays, spec:
               INDEX(ts[0], *arrays, spec=spec) if ts[0] is not None else None, cost=0)


def index(x, key):
    spec, arrays = index_spec(key, x.graph)
    return INDEX(x, *arrays, spec=spec)


def _scatter_add_impl(base, update, *arrays, spec):
    out = np.array(base, copy=True)
    np.add.at(out, spec_to_index(spec, arrays), update)
    return out


def _update_infer(name):
    def infer(shapes, dtypes, attrs):
        target = _probe(shapes[0], dtypes[0], attrs["spec"], shapes[2:])
        if O.broadcast_shapes(name, [shapes[1], target]) != tuple(target):
            raise ShapeError(f"{name}: value of shape {shapes[1]} cannot be broadcast to "
                             f"the indexed shape {target}")
        return shapes[0], dtypes[0]
    return infer


SCATTER_ADD = Op("scatter_add", _scatter_add_impl, infer=_update_infer("scatter_add"),
                 linear=True,
                 vjp=lambda g, out, base, upd, *arrays, spec:
                     (g, INDEX(g, *arrays, spec=spec)) + (None,) * len(arrays),
                 jvp=lambda ts, out, base, upd, *arrays, spec: SCATTER_ADD(
                     ts[0] if ts[0] is not None else O.zeros_like(base),
                     ts[1] if ts[1] is not None else O.zeros_like(upd), *arrays, spec=spec))


def scatter_add(base, update, arrays, spec):
    return SCATTER_ADD(base, update, *arrays, spec=spec)


def _setitem_impl(base, update, *arrays, spec):
    out = np.array(base, copy=True)
    out[spec_to_index(spec, arrays)] = update
    return out


def _setitem_vjp(g, out, base, upd, *arrays, spec):
    read = INDEX(g, *arrays, spec=spec)
    if arrays:
        # Repeated indices write one element several times and only the write
        # NumPy keeps may receive the gradient: number the writes, apply them
        # to an array of -1, and see which numbers landed.
        ids = g.graph.const(np.arange(read.size).reshape(read.shape))
        landed = SETITEM(O.full(g.graph, base.shape, -1, ids.dtype), ids, *arrays, spec=spec)
        read = O.where(O.equal(INDEX(landed, *arrays, spec=spec), ids), read, 0)
    return (SETITEM(g, O.zeros_like(upd), *arrays, spec=spec), read) + (None,) * len(arrays)


SETITEM = Op("setitem", _setitem_impl, infer=_update_infer("setitem"), linear=True,
             vjp=_setitem_vjp,
             jvp=lambda ts, out, base, upd, *arrays, spec: SETITEM(
                 ts[0] if ts[0] is not None else O.zeros_like(base),
                 ts[1] if ts[1] is not None else O.zeros_like(upd), *arrays, spec=spec))


def setitem(x, key, value):
    """Functional ``x[key] = value``: a new value, x itself unchanged."""
    spec, arrays = index_spec(key, x.graph)
    value = O.as_value(x.graph, value, [x])
    if value.dtype != x.dtype:
        value = O.cast(value, x.dtype)
    return SETITEM(x, value, *arrays, spec=spec)

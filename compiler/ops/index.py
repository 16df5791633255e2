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
from compiler.ops.lowering import (Loop, affine, all_of, as_int, broadcast_index, divides, floordiv,
                                   index_text, plus, select, shift)
from compiler.errors import ShapeError, UnsupportedOperationError
from compiler.ops import Op

__all__ = ["index", "scatter_add", "setitem", "add_at", "index_spec", "spec_to_index",
           "check_index"]


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


# -- Numba emitters -----------------------------------------------------------
# Basic indexes (slices, ints, newaxis) are affine maps of loop indices, so
# loops read through them and scatter into them without copies. Indexes with
# constant arrays become constant coordinate arrays (computed once, here, with
# NumPy itself); a traced index array is supported in the leading position.

def _basic_layout(spec, shape):
    """Per result axis ("slice", axis, start, step, size) or ("new",), and the
    (axis, i) of int items, for an index without arrays."""
    used = sum(item[0] in ("slice", "int") for item in spec)
    items = []
    for item in spec:
        items += [("slice", None, None, None)] * (len(shape) - used) if item[0] == "ellipsis" \
            else [item]
    items += [("slice", None, None, None)] * (len(shape) - sum(i[0] in ("slice", "int")
                                                               for i in items))
    layout, fixed, axis = [], [], 0
    for item in items:
        if item[0] == "newaxis":
            layout.append(("new",))
            continue
        if item[0] == "int":
            fixed.append((axis, item[1] % shape[axis]))
        else:
            start, stop, step = slice(*item[1:]).indices(shape[axis])
            layout.append(("slice", axis, start, step, len(range(start, stop, step))))
        axis += 1
    return layout, fixed


def _leading_array(spec):
    """An index ``x[ind, <basic items>]``: one traced array, in front."""
    return spec[0] == ("array", 0) and all(s[0] != "array" for s in spec[1:])


def _leading_source(n, shape, ind, k, j):
    """Index expressions into an array of ``shape`` for ``x[ind, rest][j]``."""
    layout, fixed = _basic_layout(n.attrs["spec"][1:], shape[1:])
    src = ["0"] * (len(shape) - 1)
    for axis, i in fixed:
        src[axis] = str(i)
    for p, item in enumerate(layout):
        if item[0] == "slice":
            src[item[1]] = affine(item[2], item[3], j[k + p])
    return [f"{ind}[{index_text(j[:k])}]" if k else ind] + src


def _positions(n, shape, arrays):
    """The flat positions an index with constant arrays selects, as an array."""
    flat = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.intp).reshape(shape)
    return flat[spec_to_index(n.attrs["spec"], arrays)]


def _index_map(n, idx):
    arrays = [n.const_value(k) for k in range(1, len(n.shapes))]
    if any(a is None for a in arrays):
        return None
    shape = n.shapes[0]
    if arrays:
        coords = np.unravel_index(_positions(n, shape, arrays), shape)
        at = [as_int(i) for i in idx]
        if None not in at:   # literal indices: the coordinates are known now
            return n.read(0, [str(int(c[tuple(at)])) for c in coords])
        return n.read(0, [f"{n.const(c)}[{index_text(idx)}]" for c in coords])
    layout, fixed = _basic_layout(n.attrs["spec"], shape)
    src = ["0"] * len(shape)
    for axis, i in fixed:
        src[axis] = str(i)
    for p, item in enumerate(layout):
        if item[0] == "slice":
            src[item[1]] = affine(item[2], item[3], idx[p])
    return n.read(0, src)


def _index_statement(n):
    if not _leading_array(n.attrs["spec"]):
        raise UnsupportedOperationError(f"index {n.attrs['spec']} with a traced index array "
                                        "has no Numba emitter (only x[ind, ...] does)")
    x, ind = n.args[:2]
    if not n.shape:  # a 0-d result is a scalar variable
        src = _leading_source(n, n.shapes[0], ind, 0, [])
        n.line(f"{n.out} = {x}[{index_text(src)}]")
        return
    n.line(f"{n.out} = {n.empty()}")
    with n.loops(n.shape) as j:
        src = _leading_source(n, n.shapes[0], ind, len(n.shapes[1]), j)
        n.line(f"{n.out}[{index_text(j)}] = {x}[{index_text(src)}]")


def _update_index(combine):
    """out = base, combined with the update on the region a basic index selects."""
    def index_map(n, idx):
        if len(n.shapes) > 2:
            return None
        layout, fixed = _basic_layout(n.attrs["spec"], n.shape)
        conds = [n.within(idx[axis], i, i) for axis, i in fixed]
        sub, region = [], []
        for item in layout:
            if item[0] == "new":
                sub.append("0")
                region.append(1)
                continue
            _, axis, start, step, size = item
            if size == 0:
                return n.read(0, idx)
            j, last = idx[axis], start + step * (size - 1)
            if step == 1:
                if size != n.shape[axis]:
                    conds.append(n.within(j, start, last))
            else:
                conds.append(n.within(j, min(start, last), max(start, last)))
                conds.append(divides(step, shift(j, -start)))
            if step == 1:
                sub.append(shift(j, -start))
            else:
                sub.append(floordiv(shift(j, -start), step))
            region.append(size)
        if conds:
            sub = [n.clamp(s, size, conds) if s != "0" else s for s, size in zip(sub, region)]
        base = n.read(0, idx)
        cond = all_of(conds)
        if cond == "False":
            return base
        value = combine(base, n.read(1, broadcast_index(sub, tuple(region), n.shapes[1])))
        return select(cond, value, base)
    return index_map


def _update_statement(op):
    """Scatter with constant or leading traced index arrays: a loop over the update."""
    def emit(n):
        base, upd = n.args[:2]
        arrays = [n.const_value(k) for k in range(2, len(n.shapes))]
        n.line(f"{n.out} = np.copy({base})")
        if all(a is not None for a in arrays):
            pos = _positions(n, n.shape, arrays)
            flat = n.fresh("flat")
            n.line(f"{flat} = {n.out}.reshape({int(np.prod(n.shape, dtype=np.int64))})")
            where = n.const(pos) if pos.ndim else None
            with n.loops(pos.shape) as j:
                value = f"{upd}[{index_text(broadcast_index(j, pos.shape, n.shapes[1]))}]" \
                    if n.shapes[1] else upd
                at = f"{where}[{index_text(j)}]" if j else str(int(pos))
                n.line(f"{flat}[{at}] {op} {value}")
            return
        if not _leading_array(n.attrs["spec"]):
            raise UnsupportedOperationError(f"index update {n.attrs['spec']} with traced index "
                                            "arrays has no Numba emitter (only x[ind, ...] does)")
        ind = n.args[2]
        target = _probe(n.shape, n.dtype, n.attrs["spec"], n.shapes[2:])
        with n.loops(target) as j:
            value = f"{upd}[{index_text(broadcast_index(j, target, n.shapes[1]))}]" \
                if n.shapes[1] else upd
            src = _leading_source(n, n.shape, ind, len(n.shapes[2]), j)
            n.line(f"{n.out}[{index_text(src)}] {op} {value}")
    return emit


# -- bounds: an index out of range raises IndexError as in NumPy ----------------
# Numba does not check bounds (a wrong index would read or write outside the
# array), so every integer-array operand of index/setitem goes through
# ``check_index`` first: constants here, once; traced ones by an op that checks
# each element in the kernel and wraps negative indices (-1 -> size - 1), so
# the ops after it only ever see indices in [0, size).

def _out_of_bounds(value, axis: int, size: int) -> IndexError:
    return IndexError(f"index {value} is out of bounds for axis {axis} with size {size}")


def _wrap_indices(ind, size: int, axis: int) -> np.ndarray:
    ind = np.asarray(ind)
    bad = (ind < -size) | (ind >= size)
    if bad.any():
        raise _out_of_bounds(ind[bad].flat[0], axis, size)
    return np.where(ind < 0, ind + size, ind).astype(ind.dtype) if ind.dtype.kind == "i" else ind


def _emit_check(n):
    (ind,) = n.args
    size, axis = n.attrs["size"], n.attrs["axis"]
    message = f"is out of bounds for axis {axis} with size {size}"
    v = n.fresh("i")
    if n.shape:
        n.line(f"{n.out} = {n.empty()}")
    with n.loops(n.shape) as j:
        n.line(f"{v} = {ind}[{index_text(j)}]" if j else f"{v} = {ind}")
        if n.dtype.kind == "i":
            n.line(f"if {v} < 0:")
            n.line(f"    {v} += {size}")
            n.line(f"if {v} < 0 or {v} >= {size}:")
        else:
            n.line(f"if {v} >= {size}:")
        original = f"{ind}[{index_text(j)}]" if j else ind
        n.line(f"    raise IndexError('index ' + str({original}) + ' {message}')")
        n.line(f"{n.out}[{index_text(j)}] = {v}" if j else f"{n.out} = {v}")


CHECK_INDEX = Op("check_index", _wrap_indices, infer=lambda s, d, a: (s[0], d[0]),
                 emit=_emit_check, differentiable=False, effect=True)


def _array_axes(spec, ndim: int) -> dict:
    """The axis of the indexed array that each ("array", k) item indexes."""
    used = sum(item[0] in ("slice", "int", "array") for item in spec)
    axes, axis = {}, 0
    for item in spec:
        if item[0] == "ellipsis":
            axis += ndim - used
        elif item[0] != "newaxis":
            if item[0] == "array":
                axes[item[1]] = axis
            axis += 1
    return axes


def check_index(spec, arrays, shape):
    """The index arrays of ``spec`` into ``shape``, checked and wrapped (see above)."""
    used = sum(item[0] in ("slice", "int", "array") for item in spec)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {used} were indexed")
    axes = _array_axes(spec, len(shape))
    out = list(arrays)
    for k, a in enumerate(arrays):
        axis = axes[k]
        graph = a.graph
        if graph.is_const(a.node):
            known = graph.const_value(a.node)
            wrapped = _wrap_indices(known, shape[axis], axis)
            out[k] = a if np.array_equal(wrapped, known) else graph.const(wrapped)
        elif graph.op(a.node) != "check_index":
            out[k] = CHECK_INDEX(a, size=int(shape[axis]), axis=axis)
    axis = 0
    for item in spec:  # integer items: known now
        if item[0] == "ellipsis":
            axis += len(shape) - used
        elif item[0] != "newaxis":
            if item[0] == "int" and not -shape[axis] <= item[1] < shape[axis]:
                raise _out_of_bounds(item[1], axis, shape[axis])
            axis += 1
    return out


INDEX = Op("index", lambda x, *arrays, spec: x[spec_to_index(spec, arrays)],
           emit=Loop(_index_map, _index_statement),
           infer=_index_infer, linear=True,
           vjp=lambda g, out, x, *arrays, spec:
               (scatter_add(O.zeros_like(x), g, arrays, spec),) + (None,) * len(arrays), cost=0)


def index(x, key):
    spec, arrays = index_spec(key, x.graph)
    arrays = check_index(spec, arrays, x.shape)
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
                 linear=True, emit=Loop(_update_index(plus),
                                        _update_statement("+=")),
                 vjp=lambda g, out, base, upd, *arrays, spec:
                     (g, INDEX(g, *arrays, spec=spec)) + (None,) * len(arrays))


def scatter_add(base, update, arrays, spec):
    return SCATTER_ADD(base, update, *arrays, spec=spec)


def _setitem_impl(base, update, *arrays, spec):
    out = np.array(base, copy=True)
    out[spec_to_index(spec, arrays)] = update
    return out


def _setitem_vjp(g, out, base, upd, *arrays, spec):
    read = INDEX(g, *arrays, spec=spec)
    if arrays:
        read = _only_kept_writes(read, base, arrays, spec)
    return (SETITEM(g, O.zeros_like(upd), *arrays, spec=spec), read) + (None,) * len(arrays)


def _only_kept_writes(read, base, arrays, spec):
    """Repeated indices write one element several times; only the write NumPy
    keeps may receive the gradient. Number the writes, apply them to an array
    of -1 and see which numbers landed: now for constant indices (which
    usually repeat nothing, and then nothing is added), else in the graph."""
    graph = read.graph
    ids = np.arange(read.size).reshape(read.shape)
    if all(graph.is_const(a.node) for a in arrays):
        known = [graph.const_value(a.node) for a in arrays]
        landed = _setitem_impl(np.full(base.shape, -1), ids, *known, spec=spec)
        kept = landed[spec_to_index(spec, known)] == ids
        return read if kept.all() else O.where(graph.const(kept), read, 0)
    ids = graph.const(ids)
    landed = SETITEM(O.full(graph, base.shape, -1, ids.dtype), ids, *arrays, spec=spec)
    return O.where(O.equal(INDEX(landed, *arrays, spec=spec), ids), read, 0)


SETITEM = Op("setitem", _setitem_impl, infer=_update_infer("setitem"), linear=True,
             emit=Loop(_update_index(lambda b, u: u), _update_statement("=")),
             vjp=_setitem_vjp)


def _indexed_update(op, x, key, value):
    """``op`` applied to x, value (cast to x's dtype) and the index arrays of key."""
    spec, arrays = index_spec(key, x.graph)
    arrays = check_index(spec, arrays, x.shape)
    value = O.as_value(x.graph, value, [x])
    if value.dtype != x.dtype:
        value = O.cast(value, x.dtype)
    return op(x, value, *arrays, spec=spec)


def setitem(x, key, value):
    """Functional ``x[key] = value``: a new value, x itself unchanged."""
    return _indexed_update(SETITEM, x, key, value)


def add_at(x, key, value):
    """Functional ``np.add.at(x, key, value)``: repeated indices accumulate."""
    return _indexed_update(SCATTER_ADD, x, key, value)

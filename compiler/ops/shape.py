"""Shape ops: reshape, transpose, broadcast_to, concatenate. All are linear,
so their JVP is the op applied to the tangents."""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops.lowering import FALSE, Loop, broadcast_index, index_text, select, shift
from compiler.errors import ShapeError
from compiler.ops import Op

__all__ = ["reshape", "transpose", "broadcast_to", "concatenate"]


def _reshape_canon(shapes, dtypes, attrs):
    (shape,) = shapes
    target = attrs["shape"]
    target = (int(target),) if isinstance(target, (int, np.integer)) else tuple(int(s) for s in target)
    size = int(np.prod(shape, dtype=np.int64))
    if target.count(-1) == 1:
        known = int(np.prod([s for s in target if s != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape array of shape {shape} into {target}")
        target = tuple(size // known if s == -1 else s for s in target)
    if int(np.prod(target, dtype=np.int64)) != size or any(s < 0 for s in target):
        raise ShapeError(f"reshape: cannot reshape array of shape {shape} into {target}")
    return {"shape": target}


def _reshape_index(n, idx):
    # A reshape that only inserts or drops 1s is a renaming of loop indices.
    shape = n.shapes[0]
    src = [k for k, s in enumerate(shape) if s != 1]
    dst = [k for k, s in enumerate(n.shape) if s != 1]
    if [shape[k] for k in src] != [n.shape[k] for k in dst]:
        return None
    to = dict(zip(src, dst))
    return n.read(0, [idx[to[k]] if k in to else "0" for k in range(len(shape))])


def _reshape_statement(n):
    n.line(f"{n.out} = np.ascontiguousarray({n.args[0]}).reshape({n.shape!r})")


RESHAPE = Op("reshape", lambda x, shape: np.reshape(x, shape), canon=_reshape_canon,
             infer=lambda s, d, a: (a["shape"], d[0]),
             emit=Loop(_reshape_index, _reshape_statement),
             vjp=lambda g, out, x, shape: (reshape(g, x.shape),), linear=True, cost=0)


def reshape(x, shape):
    return RESHAPE(x, shape=shape)


def _transpose_canon(shapes, dtypes, attrs):
    ndim = len(shapes[0])
    axes = attrs.get("axes")
    axes = tuple(reversed(range(ndim))) if axes is None else tuple(int(a) % max(ndim, 1) for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ShapeError(f"transpose: axes {attrs.get('axes')} do not match shape {shapes[0]}")
    return {"axes": axes}


def _transpose_index(n, idx):
    src = [None] * len(idx)
    for p, a in enumerate(n.attrs["axes"]):
        src[a] = idx[p]
    return n.read(0, src)


TRANSPOSE = Op("transpose", lambda x, axes: np.transpose(x, axes), canon=_transpose_canon,
               emit=Loop(_transpose_index,
                         alias=lambda n: f"{n.args[0]}.T" if len(n.shape) == 2 else None),
               infer=lambda s, d, a: (tuple(s[0][i] for i in a["axes"]), d[0]),
               vjp=lambda g, out, x, axes: (transpose(g, tuple(np.argsort(axes))),),
               linear=True, cost=0)


def transpose(x, axes=None):
    return TRANSPOSE(x, axes=axes)


def _broadcast_infer(shapes, dtypes, attrs):
    shape = attrs["shape"]
    if O.broadcast_shapes("broadcast_to", [shapes[0], shape]) != shape:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {shapes[0]} to {shape}")
    return shape, dtypes[0]


BROADCAST_TO = Op("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                  canon=lambda s, d, a: {"shape": tuple(int(n) for n in a["shape"])},
                  infer=_broadcast_infer,
                  emit=Loop(lambda n, idx: n.read(0, broadcast_index(idx, n.shape, n.shapes[0]))),
                  vjp=lambda g, out, x, shape: (O.sum_to(g, x.shape),), linear=True, cost=0)


def broadcast_to(x, shape):
    shape = tuple(shape)
    if isinstance(x, O.Value) and x.shape == shape:
        return x
    return BROADCAST_TO(x, shape=shape)


def _concat_canon(shapes, dtypes, attrs):
    ndim = len(shapes[0])
    if ndim == 0:
        raise ShapeError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = int(attrs.get("axis", 0))
    if not -ndim <= axis < ndim:
        raise ShapeError(f"concatenate: axis {axis} is out of bounds for {ndim} dimensions")
    return {"axis": axis % ndim}


def _concat_infer(shapes, dtypes, attrs):
    axis = attrs["axis"]
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for k, (a, b) in enumerate(zip(s, first)) if k != axis):
            raise ShapeError("concatenate: shapes " + ", ".join(map(str, shapes))
                             + f" do not match outside axis {axis}")
    shape = list(first)
    shape[axis] = sum(s[axis] for s in shapes)
    return tuple(shape), np.result_type(*dtypes)


def _concat_vjp(g, out, *xs, axis):
    cts, start = [], 0
    for x in xs:
        index = [slice(None)] * g.ndim
        index[axis] = slice(start, start + x.shape[axis])
        cts.append(g[tuple(index)])
        start += x.shape[axis]
    return tuple(cts)


def _concat_index(n, idx):
    # out[.., j, ..] = x_k[.., j - start_k, ..] for the part holding j; the reads
    # of other parts are clamped into their bounds, then discarded.
    axis = n.attrs["axis"]
    if len(n.shapes) > _CONCAT_READ_PARTS:
        return None
    j = idx[axis]
    parts, start = [], 0
    for k, s in enumerate(n.shapes):
        if s[axis]:
            parts.append((k, start, s[axis]))
        start += s[axis]
    expr = None
    for k, start, size in reversed(parts):
        local = list(idx)
        local[axis] = shift(j, -start)
        cond = n.within(j, start, start + size - 1)
        if cond == FALSE:
            continue
        if len(parts) > 1:
            local[axis] = n.clamp(local[axis], size, [cond])
        value = n.read(k, local)
        expr = value if expr is None else select(cond, value, expr)
    return expr


# Reading through a concatenation selects among its parts with a chain of
# conditionals, one per part: right for a few parts, quadratic for a trajectory
# of hundreds (np.stack of a list built in a loop). Those are copied instead.
_CONCAT_READ_PARTS = 8


def _concat_statement(n):
    axis = n.attrs["axis"]
    n.line(f"{n.out} = {n.empty()}")
    start = 0
    for x, shape in zip(n.args, n.shapes):
        if shape[axis]:
            with n.loops(shape) as j:
                at = list(j)
                at[axis] = shift(j[axis], start)
                n.line(f"{n.out}[{index_text(at)}] = {x}[{index_text(j)}]")
        start += shape[axis]


CONCATENATE = Op("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
                 canon=_concat_canon, infer=_concat_infer, vjp=_concat_vjp, linear=True,
                 emit=Loop(_concat_index, _concat_statement))


def concatenate(xs, axis=0):
    return CONCATENATE(*xs, axis=axis)

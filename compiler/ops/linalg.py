"""matmul with NumPy's semantics: 1-D, 2-D and batched (broadcast) operands."""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops.lowering import Product, broadcast_index, index_text
from compiler.errors import ShapeError
from compiler.ops import Op

__all__ = ["matmul"]


def _matmul_infer(shapes, dtypes, attrs):
    a, b = shapes
    if not a or not b:
        raise ShapeError(f"matmul: operands must be at least 1-D, got shapes {a} and {b}")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(f"matmul: shapes {a} and {b} are not aligned "
                         f"({a2[-1]} (dim {len(a) - 1}) != {b2[-2]} (dim {max(len(b) - 2, 0)}))")
    batch = O.broadcast_shapes("matmul", [a2[:-2], b2[:-2]])
    out = batch + ((a2[-2],) if len(a) > 1 else ()) + ((b2[-1],) if len(b) > 1 else ())
    return out, np.result_type(*dtypes)


def _swap(v):
    axes = list(range(v.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return O.transpose(v, tuple(axes))


def _matmul_vjp(g, out, a, b):
    # Promote 1-D operands to matrices, as matmul itself does, then reduce back.
    a2 = O.reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = O.reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    g_shape = out.shape
    if a.ndim == 1:
        g_shape = g_shape[:-1] + (1,) + g_shape[-1:] if b.ndim > 1 else g_shape + (1,)
    if b.ndim == 1:
        g_shape = g_shape + (1,)
    g2 = O.reshape(g, g_shape)
    ga = O.reshape(O.sum_to(matmul(g2, _swap(b2)), a2.shape), a.shape)
    gb = O.reshape(O.sum_to(matmul(_swap(a2), g2), b2.shape), b.shape)
    return ga, gb


def _matmul_jvp(ts, out, a, b):
    ta, tb = ts
    parts = ([matmul(ta, b)] if ta is not None else []) + ([matmul(a, tb)] if tb is not None else [])
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def _matmul_loops(n):
    """out[b, i, j] += a[b, i, k] * b[b, k, j], k before j: the inner loop is contiguous."""
    (a, b), (sa, sb) = n.args, n.shapes
    batch = n.shape[:len(n.shape) - (len(sa) > 1) - (len(sb) > 1)]
    if not n.shape:
        n.line(f"{n.out} = {n.lit(0)}")
        with n.loops((sa[0],), "k") as (k,):
            n.line(f"{n.out} += {a}[{k}] * {b}[{k}]")
        return
    n.line(f"{n.out} = np.zeros({n.shape!r}, {n.np_dtype()})")
    with n.loops(batch, "b") as bj:
        ab = broadcast_index(bj, batch, sa[:-2]) if len(sa) > 2 else []
        bb = broadcast_index(bj, batch, sb[:-2]) if len(sb) > 2 else []
        with n.loops(sa[-2:-1], "i") as i, n.loops(sa[-1:], "k") as k, \
                n.loops(sb[-1:] if len(sb) > 1 else (), "j") as j:
            n.line(f"{n.out}[{index_text(bj + i + j)}] += "
                   f"{a}[{index_text(ab + i + k)}] * {b}[{index_text(bb + k + j)}]")


def _emit_matmul(n):
    # BLAS through compiler/codegen/blas.py, whose machine code is cached once
    # per machine: a kernel then compiles faster than with loops (0.4 s against
    # 1.2 s for the small logistic regression) and runs as fast even on 100x10.
    # Integer and mixed dtypes (no BLAS) get loops.
    (a, b), (sa, sb) = n.args, n.shapes
    if n.dtype.kind not in "fc" or n.dtypes[0] != n.dtypes[1]:
        _matmul_loops(n)
        return
    if len(sa) <= 2 and len(sb) <= 2:
        n.line(f"{n.out} = blas_dot({a}, {b})")
        return
    batch = n.shape[:len(n.shape) - (len(sa) > 1) - (len(sb) > 1)]
    n.line(f"{n.out} = {n.empty()}")
    with n.loops(batch) as j:
        ai = f"{a}[{index_text(broadcast_index(j, batch, sa[:-2]))}]" if len(sa) > 2 else a
        bi = f"{b}[{index_text(broadcast_index(j, batch, sb[:-2]))}]" if len(sb) > 2 else b
        n.line(f"{n.out}[{index_text(j)}] = blas_dot({ai}, {bi})")


matmul = Op("matmul", np.matmul, infer=_matmul_infer, vjp=_matmul_vjp, jvp=_matmul_jvp, cost=10,
            emit=Product(_emit_matmul))

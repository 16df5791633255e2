"""Dense linear algebra beyond matmul, and argsort.

``solve``, ``det``, ``slogdet`` (log |det|), ``cholesky``, ``eigvalsh`` and
``eigh_vectors`` act on the last two axes (leading axes are a batch, as in
``np.linalg``). Their derivative rules are written with these same ops, so
every order is available. ``cholesky`` and ``eigh`` read the lower triangle
only, as LAPACK does: their gradients are with respect to that triangle (the
upper one has gradient 0). ``eigh_vectors`` assumes distinct eigenvalues (its
derivative divides by their differences).

``argsort`` (no gradient) along the last axis is what ``np.sort`` reads its
result through, so a sort's gradient follows the permutation.

Their Numba emitters call ``np.linalg``/``np.argsort`` on each matrix (row)
of the batch; Numba's linear algebra needs SciPy's LAPACK, so without SciPy
a graph holding one runs on the interpreter (``staticgrad.specialize.backend``
warns).
"""
from __future__ import annotations

import importlib.util

import numpy as np

import compiler.ops as O
from compiler.ops.lowering import broadcast_index, index_text
from compiler.errors import ShapeError, UnsupportedOperationError
from compiler.ops import Op

__all__ = ["solve", "det", "slogdet_abs", "slogdet_sign", "cholesky", "eigvalsh", "eigh_vectors", "argsort",
           "swap_last", "eye_like", "tril_mask", "lower_adjoint", "lower_symmetric"]


def _square(op, shape):
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"{op}: expects square matrices in the last two axes, got shape {shape}")


def swap_last(v):
    axes = list(range(v.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return O.transpose(v, tuple(axes))


def eye_like(a):
    n = a.shape[-1]
    return a.graph.const(np.eye(n, dtype=a.dtype))


def tril_mask(a, k=0):
    n = a.shape[-1]
    return a.graph.const(np.tril(np.ones((n, n), dtype=a.dtype), k))


def lower_symmetric(a):
    """The symmetric matrix LAPACK sees when it reads a's lower triangle."""
    return a * tril_mask(a) + swap_last(a * tril_mask(a, -1))


def lower_adjoint(s):
    """The adjoint of ``lower_symmetric``: a gradient with respect to the
    symmetric matrix, as one with respect to the input (upper triangle 0)."""
    return s * tril_mask(s) + swap_last(s) * tril_mask(s, -1)


def _float(dtypes):
    dtype = np.result_type(*dtypes)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def per_matrix(call: str, core_in: tuple, core_out: int, lapack: bool = True):
    """An emitter writing ``call`` (``{0}``, ``{1}``: the operands' matrices,
    made contiguous as Numba's LAPACK wrappers need) for each element of the
    batch; ``core_in``: the trailing axes of each operand one call takes,
    ``core_out``: those of the result."""
    def emit(n):
        if lapack and importlib.util.find_spec("scipy") is None:
            raise UnsupportedOperationError(f"the Numba backend needs SciPy for {call}")
        batch = n.shape[:len(n.shape) - core_out]

        def operand(k, j):
            shape, core = n.shapes[k], core_in[k]
            idx = broadcast_index(j, batch, shape[:len(shape) - core]) + [":"] * core
            return f"np.ascontiguousarray({n.args[k]}[{index_text(idx)}])" if idx else n.args[k]
        if not n.shape:
            n.line(f"{n.out} = {call.format(*(operand(k, []) for k in range(len(n.args))))}")
            return
        n.line(f"{n.out} = {n.empty()}")
        with n.loops(batch) as j:
            target = index_text(j + [":"] * core_out)
            n.line(f"{n.out}[{target}] = "
                   f"{call.format(*(operand(k, j) for k in range(len(n.args))))}")
    return emit


# -- solve ---------------------------------------------------------------------
def _solve_infer(shapes, dtypes, attrs):
    a, b = shapes
    _square("solve", a)
    if len(b) < 2 or b[-2] != a[-1]:
        raise ShapeError(f"solve: right-hand side of shape {b} does not match matrix {a}")
    batch = O.broadcast_shapes("solve", [a[:-2], b[:-2]])
    return batch + b[-2:], _float(dtypes)


def _solve_vjp(g, out, a, b):
    gb = solve(swap_last(a), g)
    return -(gb @ swap_last(out)), gb


def _solve_jvp(ts, out, a, b):
    ta, tb = ts
    rhs = None
    if tb is not None:
        rhs = tb
    if ta is not None:
        rhs = -(ta @ out) if rhs is None else rhs - ta @ out
    return solve(a, rhs)


SOLVE = Op("solve", lambda a, b: np.linalg.solve(a, b), infer=_solve_infer, vjp=_solve_vjp,
           jvp=_solve_jvp, cost=20, emit=per_matrix("np.linalg.solve({0}, {1})", (2, 2), 2))


def solve(a, b):
    """a x = b for a matrix right-hand side ``b`` (..., n, k)."""
    if b.ndim < 2:
        raise ShapeError("solve: the op takes a matrix right-hand side; expand a vector first")
    return SOLVE(a, b)


def _inverse(a):
    return solve(a, O.broadcast_to(eye_like(a), a.shape))


def _trace_last(m):
    return O.sum(O.diagonal(m, 0, -2, -1), axis=-1)


# -- determinants ------------------------------------------------------------------
def _det_infer(shapes, dtypes, attrs):
    _square("det", shapes[0])
    return shapes[0][:-2], _float(dtypes)


def _expand2(v):
    return O.reshape(v, v.shape + (1, 1))


det = Op("det", lambda a: np.linalg.det(a), infer=_det_infer, cost=20,
         emit=per_matrix("np.linalg.det({0})", (2,), 0),
         vjp=lambda g, out, a: (_expand2(g * out) * swap_last(_inverse(a)),),
         jvp=lambda ts, out, a: out * _trace_last(solve(a, ts[0])))
# the sign of the determinant, read from LAPACK's factorisation (the sign of
# det(a) itself is lost when det under- or overflows)
slogdet_sign = Op("slogdet_sign", lambda a: np.linalg.slogdet(a)[0], infer=_det_infer,
                  differentiable=False, cost=20,
                  emit=per_matrix("np.linalg.slogdet({0})[0]", (2,), 0))
slogdet_abs = Op("slogdet", lambda a: np.linalg.slogdet(a)[1], infer=_det_infer, cost=20,
                 emit=per_matrix("np.linalg.slogdet({0})[1]", (2,), 0),
                 vjp=lambda g, out, a: (_expand2(g) * swap_last(_inverse(a)),),
                 jvp=lambda ts, out, a: _trace_last(solve(a, ts[0])))


# -- cholesky ------------------------------------------------------------------------
def _same_square(op):
    def infer(shapes, dtypes, attrs):
        _square(op, shapes[0])
        return shapes[0], _float(dtypes)
    return infer


def _phi(x):
    """The lower triangle with the diagonal halved."""
    n = x.shape[-1]
    return x * x.graph.const(np.tril(np.ones((n, n), dtype=x.dtype)) - 0.5 * np.eye(n, dtype=x.dtype))


def _cholesky_vjp(g, out, a):
    # dL = L phi(L^-1 dS L^-T) for the symmetric dS the lower triangle stands for;
    # its adjoint is L^-T phi(L^T G) L^-1.
    s = _phi(swap_last(out) @ g)
    y = solve(swap_last(out), s)
    return (lower_adjoint(swap_last(solve(swap_last(out), swap_last(y)))),)


def _cholesky_jvp(ts, out, a):
    ds = lower_symmetric(ts[0])
    y = solve(out, ds)
    m = swap_last(solve(out, swap_last(y)))
    return out @ _phi(m)


cholesky = Op("cholesky", lambda a: np.linalg.cholesky(a), infer=_same_square("cholesky"),
              vjp=_cholesky_vjp, jvp=_cholesky_jvp, cost=20,
              emit=per_matrix("np.linalg.cholesky({0})", (2,), 2))


# -- symmetric eigenproblem ---------------------------------------------------------------
def _eigvalsh_infer(shapes, dtypes, attrs):
    _square("eigvalsh", shapes[0])
    return shapes[0][:-1], _float(dtypes)


def _eigvalsh_vjp(g, out, a):
    v = eigh_vectors(a)
    return (lower_adjoint((v * O.expand_dims(g, -2)) @ swap_last(v)),)


def _eigvalsh_jvp(ts, out, a):
    v = eigh_vectors(a)
    return O.sum(v * (lower_symmetric(ts[0]) @ v), axis=-2)


eigvalsh = Op("eigvalsh", lambda a: np.linalg.eigvalsh(a), infer=_eigvalsh_infer,
              vjp=_eigvalsh_vjp, jvp=_eigvalsh_jvp, cost=30,
              emit=per_matrix("np.linalg.eigvalsh({0})", (2,), 1))


def _gaps(a):
    """F[i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    w = eigvalsh(a)
    diff = O.expand_dims(w, -2) - O.expand_dims(w, -1)
    eye = O.greater(eye_like(a), 0)
    return O.where(eye, 0, 1 / O.where(eye, 1, diff))


def _eigh_vectors_vjp(g, out, a):
    v = out
    inner = _gaps(a) * (swap_last(v) @ g)
    return (lower_adjoint(v @ inner @ swap_last(v)),)


def _eigh_vectors_jvp(ts, out, a):
    v = out
    return v @ (_gaps(a) * (swap_last(v) @ lower_symmetric(ts[0]) @ v))


eigh_vectors = Op("eigh_vectors", lambda a: np.linalg.eigh(a)[1],
                  infer=_same_square("eigh_vectors"), vjp=_eigh_vectors_vjp,
                  jvp=_eigh_vectors_jvp, cost=30,
                  emit=per_matrix("np.linalg.eigh({0})[1]", (2,), 2))


# -- argsort ---------------------------------------------------------------------------------
argsort = Op("argsort", lambda x: np.argsort(x, axis=-1, kind="stable"),
             infer=lambda s, d, a: (s[0], np.dtype(np.intp)), differentiable=False, cost=10,
             emit=per_matrix('np.argsort({0}, kind="mergesort")', (1,), 1, lapack=False))

"""The op table: one row per primitive op of ``compiler.ops.REGISTRY``, and
rows for the composites users reach through NumPy.

A row is a function written with plain NumPy calls (it runs on ndarrays as
the reference and on traced values under staticgrad), the domain of each
argument, and flags. Other test files import ``ROWS`` (the Numba backend
tests compile a slice of it)::

    from op_table import ROWS, ROWS_BY_NAME
    args = row.inputs(np.float32)

Domains keep finite differences honest: away from kinks (``abs`` at 0,
``floor`` at integers), from ties (``maximum``, ``max``), and inside the
function's domain (``log`` of positives, ``arcsin`` in (-1, 1)). The points
where derivatives are conventions, not limits, are tested separately.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

import compiler.ops as O
from staticgrad.tracing import Tracer, find_context, to_value

# -- argument domains: (rng, shape, position) -> array ----------------------
Domain = Callable[[np.random.Generator, tuple, int], np.ndarray]


def uniform(lo: float, hi: float) -> Domain:
    return lambda rng, shape, k: rng.uniform(lo, hi, shape)


real = uniform(-2.0, 2.0)
positive = uniform(0.5, 2.0)
unit = uniform(-0.9, 0.9)            # inside (-1, 1): arcsin, arccos


def nonzero(rng, shape, k):
    """|x| in [0.3, 2]: away from the kinks of abs and sign and the pole of 1/x."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def distinct(rng, shape, k):
    """Values at least 0.1 apart within an argument and never equal across
    arguments (a per-argument offset): no ties for maximum, max, sort-like ops."""
    n = int(np.prod(shape, dtype=np.int64))
    grid = rng.choice(max(41, 2 * n), n, replace=False)
    return (grid * 0.1 - 2.0 + 0.037 * (k + 1)).reshape(shape)


def off_integer(rng, shape, k):
    """Away from the jumps of floor and ceil."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def with_zeros(count: int) -> Domain:
    """``count`` zeros in every row (last axis): prod's gradient at zeros."""
    def domain(rng, shape, k):
        x = nonzero(rng, shape, k)
        x[..., :count] = 0.0
        return rng.permuted(x, axis=-1)
    return domain


def ties(rng, shape, k):
    """Each row's maximum and minimum appear twice (max/min share the gradient)."""
    x = rng.integers(0, 3, shape).astype(np.float64)
    x[..., :2] = 3.0
    x[..., 2:4] = -1.0
    return rng.permuted(x, axis=-1)


def near_integer(rng, shape, k):
    """Within 0.3 of an integer, never at it: away from the jumps of rint and trunc."""
    return rng.integers(-3, 3, shape) + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 0.3, shape)


def well_conditioned(rng, shape, k):
    """Square matrices (last two axes) with a dominant diagonal: solve, det, inv."""
    n = shape[-1]
    return rng.uniform(-1, 1, shape) + 4 * np.eye(n)


def positive_definite(rng, shape, k):
    n = shape[-1]
    a = rng.uniform(-1, 1, shape)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def symmetric_distinct(rng, shape, k):
    """Symmetric with eigenvalues 1.3 apart: eigh's vectors are differentiable."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.normal(size=shape))
    return q @ np.diag(np.arange(1.0, n + 1) * 1.3) @ np.swapaxes(q, -1, -2)


def mask(rng, shape, k):
    return rng.random(shape) < 0.5


def indices(high: int) -> Domain:
    """Integer indices in [0, high) with a repeat (scatter must accumulate)."""
    def domain(rng, shape, k):
        i = rng.integers(0, high, shape)
        i.flat[-1] = i.flat[0]
        return i
    return domain


@dataclasses.dataclass(frozen=True)
class Arg:
    shape: tuple
    domain: Domain = real


@dataclasses.dataclass(frozen=True)
class Row:
    """One function under test.

    ``op``: the primitive this row is *the* row of (the meta-test checks that
    every registered op has one and that its graph contains it); ``None`` for
    composites. ``differentiable``: False when the output is not floating
    (comparisons) or the point is not differentiable (ties); such rows are
    checked for values only. ``numpy``: the reference when ``fun`` is not
    itself plain NumPy.
    """

    name: str
    fun: Callable
    args: tuple
    op: str | None = None
    differentiable: bool = True
    order: int = 2
    numpy: Callable | None = None
    compiled: bool = True  # False: an op with no Numba emitter yet (runs on the interpreter)

    def inputs(self, dtype: Any = np.float64, seed: int = 0) -> list[np.ndarray]:
        """Arguments for this row; floating ones in ``dtype``."""
        rng = np.random.default_rng([seed, sum(map(ord, self.name))])
        out = []
        for k, arg in enumerate(self.args):
            x = np.asarray(arg.domain(rng, tuple(arg.shape), k))
            out.append(x.astype(dtype) if x.dtype.kind == "f" else x)
        return out

    def reference(self, *args: Any) -> Any:
        return (self.numpy or self.fun)(*args)

    def __repr__(self) -> str:
        return self.name


def apply_op(name: str, *args: Any, **attrs: Any) -> Any:
    """Apply a registered op directly: its ``impl`` on arrays, a graph node on
    traced values and on Values (for ops NumPy has no spelling of, like
    ``scatter_add``, and inside derivative rules)."""
    if any(isinstance(a, O.Value) for a in args):
        return O.bind(name, args, attrs)
    ctx = find_context(args)
    if ctx is None:
        return O.REGISTRY[name].evaluate(*map(np.asarray, args), **attrs)
    return Tracer(ctx, O.bind(name, [to_value(a) for a in args], attrs).node)


def _scatter_add_numpy(base, update, idx):
    out = base.copy()
    np.add.at(out, idx, update)
    return out


def _setitem(x, v):
    y = x.copy()
    y[1:3] = v
    return y


def _setitem_fancy(x, v):
    y = x.copy()
    y[np.array([2, 0]), 1:] = v
    return y


def _setitem_repeated(x, v, i):
    # Repeated indices: only the write NumPy keeps may get a gradient.
    y = x.copy()
    y[i, 1:] = v
    return y


def _inplace_on_copy(x, y):
    z = x.copy()
    z += y
    z *= x
    z -= 1.0
    z /= y * y + 1
    return z


def _branch(x):
    # A Python branch on a traced value: a guard in the graph.
    return np.sin(x) * 2 if np.sum(x) > 0 else np.cos(x)


def _logsumexp(x):
    m = np.max(x, axis=-1, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=-1)) + m[..., 0]


def _softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _special(name):
    import scipy.special
    return getattr(scipy.special, name)


def _row(name, fun, *args, **flags) -> Row:
    return Row(name, fun, tuple(a if isinstance(a, Arg) else Arg(a) for a in args), **flags)


def _unary(op, fun, domain=real, **flags) -> Row:
    return _row(op, fun, Arg((3, 4), domain), op=op, **flags)


def _binary(op, fun, domains=(real, real), **flags) -> Row:
    # (3, 1) with (4,): both operands broadcast, both cotangents are summed back.
    return _row(op, fun, Arg((3, 1), domains[0]), Arg((4,), domains[1]), op=op, **flags)


# Ops with no row, and why.
SKIPPED = {
    "param": "graph input: bound by the caller, never evaluated",
    "const": "graph constant: has no inputs to differentiate",
    "guard": "control-flow check with no value or derivative; the 'branch' row and the "
             "control-flow tests exercise it",
    "stop_gradient": "its derivative is zero by design, so finite differences cannot check "
                     "it and NumPy has no spelling of it",
    # structured control flow holds sub-graphs: tests/test_loops.py checks it
    "loop": "structured loop (tests/test_loops.py)",
    "cond": "structured branch (tests/test_loops.py)",
    "tuple_item": "output of a loop or cond node (tests/test_loops.py)",
    "tape_add": "sum of loop tapes, in higher-order loop derivatives (tests/test_loops.py)",
    "placeholder": "stand-in while a loop body is traced, never in a traced graph's result",
}

IDX = np.array([2, 0, 2, 1])  # a constant index array with a duplicate

ROWS: list[Row] = [
    # -- elementwise, unary ---------------------------------------------------
    _unary("neg", lambda x: -x),
    _unary("exp", np.exp),
    _unary("log", np.log, positive),
    _unary("log1p", np.log1p, positive),
    _unary("expm1", np.expm1),
    _unary("sqrt", np.sqrt, positive),
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tan", np.tan, unit),
    _unary("tanh", np.tanh),
    _unary("arcsin", np.arcsin, unit),
    _unary("arccos", np.arccos, unit),
    _unary("arctan", np.arctan),
    _unary("sinh", np.sinh),
    _unary("cosh", np.cosh),
    _unary("abs", np.abs, nonzero),
    _unary("sign", lambda x: np.sign(x) * x, nonzero),
    _unary("floor", np.floor, off_integer),
    _unary("ceil", np.ceil, off_integer),
    _unary("cast", lambda x: x.astype(np.float32) * 3),
    _unary("pow_scalar", lambda x: x ** 3),
    _unary("identity", lambda x: np.copy(x) * 2),
    _unary("logical_not", lambda x: np.logical_not(x > 0), differentiable=False),
    # -- elementwise, binary (broadcasting) ------------------------------------
    _binary("add", lambda x, y: x + y),
    _binary("sub", lambda x, y: x - y),
    _binary("mul", lambda x, y: x * y),
    _binary("div", lambda x, y: x / y, (real, nonzero)),
    _binary("pow", lambda x, y: x ** y, (positive, real)),
    _binary("maximum", np.maximum, (distinct, distinct)),
    _binary("minimum", np.minimum, (distinct, distinct)),
    _binary("arctan2", np.arctan2, (nonzero, nonzero)),
    _binary("logaddexp", np.logaddexp),
    _binary("greater", np.greater, differentiable=False),
    _binary("greater_equal", np.greater_equal, differentiable=False),
    _binary("less", np.less, differentiable=False),
    _binary("less_equal", np.less_equal, differentiable=False),
    _binary("equal", lambda x, y: np.equal(np.floor(x), np.floor(y)), differentiable=False),
    _binary("not_equal", lambda x, y: np.floor(x) != np.floor(y), differentiable=False),
    _binary("logical_and", lambda x, y: np.logical_and(x > 0, y > 0), differentiable=False),
    _binary("logical_or", lambda x, y: np.logical_or(x > 0, y > 0), differentiable=False),
    _binary("bitwise_and", lambda i, j: i & j, (indices(7), indices(5)), differentiable=False),
    _binary("bitwise_or", lambda x, y: (x > 0) | (y > 0), differentiable=False),
    _row("where", lambda c, x, y: np.where(c, x, y),
         Arg((3, 1), mask), Arg((4,)), Arg((3, 4)), op="where"),
    _row("clip", lambda x, lo, hi: np.clip(x, lo, hi),
         Arg((3, 4), distinct), Arg((4,), uniform(-1.03, -0.21)), Arg((3, 1), uniform(0.23, 1.01)),
         op="clip"),
    # -- shape ------------------------------------------------------------
    _row("reshape", lambda x: np.reshape(x, (2, 6)), (3, 4), op="reshape"),
    _row("transpose", lambda x: np.transpose(x, (2, 0, 1)), (2, 3, 4), op="transpose"),
    _row("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)), (3, 1), op="broadcast_to"),
    _row("concatenate", lambda x, y: np.concatenate([x, y], axis=1), (3, 2), (3, 4),
         op="concatenate"),
    # -- reductions --------------------------------------------------------
    _row("sum", lambda x: np.sum(x, axis=1, keepdims=True), (3, 4), op="sum"),
    _row("max", lambda x: np.max(x, axis=0), Arg((3, 4), distinct), op="max"),
    _row("min", lambda x: np.min(x, axis=-1, keepdims=True), Arg((3, 4), distinct), op="min"),
    _row("prod", lambda x: np.prod(x, axis=1), Arg((3, 4), nonzero), op="prod"),
    # -- linear algebra ------------------------------------------------------
    _row("matmul", lambda a, b: a @ b, (2, 3, 4), (4, 2), op="matmul"),
    # -- indexing ------------------------------------------------------------
    _row("index", lambda x: x[1:, ::2], (3, 4), op="index"),
    _row("scatter_add", lambda b, u, i: apply_op("scatter_add", b, u, i, spec=(("array", 0),)),
         Arg((4, 3)), Arg((5, 3)), Arg((5,), indices(4)), op="scatter_add",
         numpy=_scatter_add_numpy),
    _row("setitem", _setitem, (4, 3), (3,), op="setitem"),

    # -- composites and other spellings -----------------------------------------
    _row("pow_scalar_fraction", lambda x: x ** 2.5 + x ** -1.5, Arg((3, 4), positive)),
    _row("square_reciprocal", lambda x: np.square(x) + np.reciprocal(x), Arg((3, 4), nonzero)),
    _row("log2_log10_exp2", lambda x: np.log2(x) + np.log10(x) * np.exp2(x), Arg((3,), positive)),
    _row("scalar_operands", lambda x: 2.0 * x - 1 / (x + 3) + 0.5 ** x, (3, 4)),
    _row("where_traced_condition", lambda x, y: np.where(x > 0, x, y),
         Arg((3, 1), nonzero), Arg((4,))),
    _row("clip_constant_bounds", lambda x: np.clip(x, -0.5, 0.7), Arg((3, 4), distinct)),
    _row("sum_all", lambda x: np.sum(x), (3, 4)),
    _row("sum_axes_method", lambda x: x.sum(axis=(0, 2)), (2, 3, 4)),
    _row("mean", lambda x: np.mean(x, axis=0, keepdims=True), (3, 4)),
    _row("var", lambda x: np.var(x, axis=1), (3, 4)),
    _row("std", lambda x: np.std(x), (3, 4)),
    _row("norm", lambda x: np.linalg.norm(x, axis=-1), (3, 4)),
    _row("logsumexp", _logsumexp, (3, 4)),
    _row("softmax", _softmax, (3, 4)),
    _row("prod_one_zero", lambda x: np.prod(x, axis=-1), Arg((3, 4), with_zeros(1))),
    _row("prod_two_zeros", lambda x: np.prod(x, axis=-1), Arg((3, 4), with_zeros(2))),
    _row("prod_axes_keepdims", lambda x: np.prod(x, axis=(0, 2), keepdims=True),
         Arg((2, 3, 2), with_zeros(1))),
    _row("prod_all", lambda x: np.prod(x), Arg((2, 3), with_zeros(2))),
    _row("max_axes_keepdims", lambda x: np.max(x, axis=(0, 2), keepdims=True),
         Arg((2, 3, 2), distinct)),
    _row("zero_dim_operand", lambda x, y: x * y + x ** 2, (), (3,)),
    _row("max_ties", lambda x: np.max(x, axis=-1), Arg((3, 5), ties), differentiable=False),
    _row("min_ties", lambda x: np.min(x, axis=-1), Arg((3, 5), ties), differentiable=False),
    _row("max_all", lambda x: x.max(), Arg((3, 4), distinct)),
    _row("dot_2d", np.dot, (3, 4), (4, 2)),
    _row("dot_2d_1d", np.dot, (3, 4), (4,)),
    _row("matmul_1d_1d", lambda a, b: a @ b, (4,), (4,)),
    _row("matmul_1d_2d", lambda a, b: a @ b, (3,), (3, 4)),
    _row("matmul_batched_broadcast", np.matmul, (2, 1, 3, 4), (3, 4, 2)),
    _row("outer", np.outer, (3,), (4,)),
    _row("stack", lambda x, y: np.stack([x, y], axis=1), (3, 4), (3, 4)),
    _row("squeeze_expand_dims", lambda x: np.expand_dims(np.squeeze(x, axis=1), 0) * x[:, 0],
         (3, 1, 4)),
    _row("swapaxes", lambda x: np.swapaxes(x, 0, 2), (2, 3, 4)),
    _row("moveaxis", lambda x: np.moveaxis(x, 0, -1), (2, 3, 4)),
    _row("transpose_T", lambda x: x.T @ x, (3, 4)),
    _row("index_negative_step", lambda x: x[::-1, -1:0:-2], (3, 5)),
    _row("index_newaxis_ellipsis", lambda x: x[..., None, 1] * x[None, 0, ..., :1], (2, 3, 4)),
    _row("index_int", lambda x: x[-1] - x[0, 1], (3, 4)),
    _row("index_array_duplicates", lambda x: x[IDX] * 2, (3, 4)),
    _row("index_array_argument", lambda x, i: x[i, 1:], Arg((3, 4)), Arg((5,), indices(3)),
         op="check_index"),
    _row("index_mixed_arrays", lambda x: x[IDX, :, np.array([1, 0, 1, 1])], (3, 2, 2)),
    _row("setitem_fancy", _setitem_fancy, (3, 3), (2, 2)),
    _row("setitem_repeated_indices", _setitem_repeated, Arg((3, 3)), Arg((4, 2)),
         Arg((4,), indices(3))),
    _row("setitem_repeated_broadcast", lambda x, v: _setitem_repeated(x, v, IDX), (3, 3), (2,)),
    _row("setitem_then_use", lambda x: np.sum(_setitem(x, x[0] ** 2) * x), (4, 3)),
    _row("inplace_on_copy", _inplace_on_copy, (3, 4), (4,)),
    _row("diagonal_trace", lambda x: np.trace(x) + np.diagonal(x), (3, 3)),
    _row("hstack_vstack", lambda x, y: np.vstack([np.hstack([x, y]), np.hstack([y, x])]),
         (3,), (2,)),
    _row("vdot_inner", lambda x, y: np.vdot(x, y) * np.inner(x, y), (3,), (3,)),
    _row("var_ddof_norm_ord1", lambda x: np.var(x, axis=0, ddof=1) + np.linalg.norm(x, 1, 0),
         Arg((4, 3), nonzero)),
    _row("ufunc_reduce", lambda x: np.maximum.reduce(x, axis=1) + np.add.reduce(x, axis=1),
         Arg((3, 4), distinct)),
    _row("branch", _branch, (3,)),

    # -- more elementwise ops (compiler/ops/specfun.py) ---------------------------
    _unary("arcsinh", np.arcsinh),
    _unary("arccosh", np.arccosh, uniform(1.2, 3.0)),
    _unary("arctanh", np.arctanh, unit),
    _unary("cbrt", np.cbrt, nonzero),
    _unary("trunc", lambda x: x * np.trunc(x) + np.fix(x), off_integer),
    _unary("rint", lambda x: x - np.round(x) + np.rint(x) * x, near_integer),
    _binary("hypot", np.hypot, (nonzero, nonzero)),
    _binary("copysign", np.copysign, (nonzero, nonzero)),
    _binary("fmod", np.fmod, (uniform(1.0, 1.3), uniform(0.7, 0.9))),
    _binary("mod", lambda x, y: x % y, (uniform(-1.3, -1.0), uniform(0.7, 0.9))),
    _unary("floor_divide", lambda x: (x // 1.0) * x, off_integer),
    _unary("erf", lambda x: _special("erf")(x), compiled=False),
    _unary("erfc", lambda x: _special("erfc")(x), compiled=False),
    _unary("gammaln", lambda x: _special("gammaln")(x), positive, compiled=False),
    _unary("polygamma", lambda x: _special("digamma")(x), positive, compiled=False),
    _unary("log_ndtr", lambda x: _special("log_ndtr")(x), compiled=False),
    _unary("erfinv", lambda x: _special("erfinv")(x), unit, compiled=False),
    _unary("ndtri", lambda x: _special("ndtri")(x), uniform(0.1, 0.9), compiled=False),
    _unary("gamma", lambda x: _special("gamma")(x), positive, compiled=False),
    _binary("beta", lambda x, y: _special("beta")(x, y), (positive, positive), compiled=False),
    # -- decompositions (compiler/ops/decomp.py) ---------------------------------
    _row("solve", np.linalg.solve, Arg((3, 3), well_conditioned), Arg((3, 2)), op="solve"),
    _row("det", np.linalg.det, Arg((2, 3, 3), well_conditioned), op="det"),
    _row("slogdet", lambda a: np.linalg.slogdet(a)[1], Arg((3, 3), well_conditioned),
         op="slogdet"),
    _row("slogdet_sign", lambda a: np.linalg.slogdet(a)[0] * np.linalg.slogdet(a)[1],
         Arg((2, 3, 3), well_conditioned), op="slogdet_sign"),
    _row("cholesky", np.linalg.cholesky, Arg((3, 3), positive_definite), op="cholesky"),
    _row("eigvalsh", np.linalg.eigvalsh, Arg((3, 3), symmetric_distinct), op="eigvalsh"),
    _row("eigh_vectors", lambda a: np.linalg.eigh(a)[1] ** 2, Arg((3, 3), symmetric_distinct),
         op="eigh_vectors"),
    _row("argsort", lambda x: np.sort(x, axis=0), Arg((4, 3), distinct), op="argsort"),
    _row("inv_batched", np.linalg.inv, Arg((2, 3, 3), well_conditioned)),
    _row("cumsum_cumprod", lambda x: np.cumsum(x, axis=1) + np.cumprod(x, axis=0),
         Arg((3, 5), nonzero)),
    _row("einsum_contraction", lambda a, b: np.einsum("ij,jk,ik->i", a, b, a @ b), (3, 4), (4, 3)),
    _row("median_percentile", lambda x: np.median(x, axis=0) + np.percentile(x, 30, axis=0),
         Arg((5, 3), distinct)),
]

ROWS_BY_NAME: dict[str, Row] = {row.name: row for row in ROWS}
#: the rows the Numba backend compiles, and the ops only the interpreter runs
COMPILED_ROWS: list[Row] = [row for row in ROWS if row.compiled]
INTERPRETER_ONLY_OPS = {row.op for row in ROWS if not row.compiled and row.op}
assert len(ROWS_BY_NAME) == len(ROWS), "row names must be unique"

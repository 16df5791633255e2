"""sparse_jacobian and sparse_hessian: sparse derivatives as scipy.sparse matrices.

For each specialisation (argument signature and guard path) the function is
traced once to find the derivative's sparsity pattern
(``compiler.passes.sparsity``), the pattern is coloured, and a compressed
evaluator is compiled: one kernel that computes the JVP (Jacobian, columns),
VJP (Jacobian, rows) or HVP (Hessian) of every colour, i.e. the product of the
derivative with the 0/1 seed matrix of the colouring. Each call runs that
kernel once and scatters its result into a ``scipy.sparse.csr_array``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

import compiler.ops as O
from compiler import autodiff
from compiler.errors import GuardFailure
from compiler.interpreter import Interpreter
from compiler.passes import rebuild
from compiler.passes import sparsity as S
from staticgrad.errors import NonScalarOutputError, UnsupportedOperationError
from staticgrad.tracing import Tracer
from staticgrad.transforms import Transformed, _name, _points, grad

__all__ = ["sparse_jacobian", "sparse_hessian", "Sparsity"]


class Sparsity:
    """What ``f.sparsity(*args)`` returns: the pattern, its colouring and the
    number of compressed products (JVPs, VJPs or HVPs) one evaluation costs.

    - ``pattern``: a boolean ``scipy.sparse.csr_array`` with the derivative's
      shape; for tuple ``argnums`` the per-argument blocks, as the derivative
      itself (a tuple of (out.size, x_i.size) patterns for a Jacobian, a nested
      tuple of (x_i.size, x_j.size) blocks for a Hessian).
    - ``mode``: ``"column"`` (a Jacobian from one JVP per colour), ``"star"``
      (a Hessian from one HVP per colour; columns are coloured too) or
      ``"row"`` (a Jacobian from one VJP per colour, chosen when the rows need
      fewer colours than the columns, e.g. when one row is dense).
    - ``colors``: the colouring the evaluation uses; ``n_colors`` is
      ``colors.max() + 1``, the number of products. In column and star mode
      ``colors[j]`` is the colour of column j (one per element of x, C order;
      columns of one colour share no row); for tuple ``argnums`` a tuple with
      one such array per argument, the colours shared (a JVP seeds every
      argument at once). In row mode ``colors[i]`` is the colour of *row* i
      (one per element of the output; rows of one colour share no column).
      ``column_colors`` and ``row_colors`` name the same array by what it
      colours and are None for the other mode.
    - ``max_degree``: the most nonzeros in one row (column and star mode) or
      column (row mode), a lower bound on ``n_colors``.
    - ``joint_pattern``: the pattern over all differentiated arguments'
      elements side by side (equal to ``pattern`` for an int ``argnums``).
    """

    def __init__(self, pattern: sp.csr_array, coloring: S.Coloring,
                 sizes: tuple[int, ...] | None = None, kind: str = "jacobian"):
        self.joint_pattern = pattern
        self.coloring = coloring
        self.n_colors = coloring.n_colors
        self.mode = coloring.mode
        self.strategy = coloring.strategy
        self.seed = S.seed_matrix(coloring)
        self.recovery_index = S.recovery_index(pattern, coloring)
        self.sizes = sizes                  # per-argument sizes, None for an int argnums
        self.pattern = _split(pattern, sizes, kind)
        colors = coloring.colors
        if self.mode == "row":
            self.colors = self.row_colors = colors
            self.column_colors = None
        else:
            if sizes is not None:
                bounds = np.cumsum((0,) + sizes)
                colors = tuple(colors[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:]))
            self.colors = self.column_colors = colors
            self.row_colors = None

    @property
    def max_degree(self) -> int:
        """The most nonzeros in one row (column and star mode) or column (row
        mode): a lower bound on the number of colours."""
        p = self.joint_pattern
        p = p if self.mode != "row" else sp.csr_array(p.T)
        return int(np.diff(p.indptr).max()) if p.shape[0] and p.nnz else 0

    def __repr__(self) -> str:
        p = self.joint_pattern
        return (f"Sparsity(shape={p.shape}, nnz={p.nnz}, n_colors={self.n_colors}, "
                f"mode={self.mode!r}, strategy={self.strategy!r})")


def _split(matrix: sp.csr_array, sizes: tuple[int, ...] | None, kind: str):
    """The per-argument blocks of a joint matrix (itself for an int argnums)."""
    if sizes is None:
        return matrix
    bounds = np.cumsum((0,) + sizes)
    spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    if kind == "jacobian":
        return tuple(sp.csr_array(matrix[:, lo:hi]) for lo, hi in spans)
    return tuple(tuple(sp.csr_array(matrix[r0:r1, c0:c1]) for c0, c1 in spans)
                 for r0, r1 in spans)


def _guard_checker(graph) -> Interpreter | None:
    """An evaluator of the graph's guards only (None if it has none): it tells
    whether new arguments take the path the pattern was derived on."""
    if not any(O.get_op(graph.op(n)).effect for n in graph.nodes()):
        return None
    copy = rebuild(graph)
    copy.outputs = []
    return Interpreter(rebuild(copy, keep=copy.needed([])))


class _SparseDerivative:
    """A sparse Jacobian or Hessian of ``fun`` with respect to argument(s) ``argnums``."""

    def __init__(self, fun: Callable, argnums: int | Sequence[int], kind: str):
        self.__name__ = f"sparse_{kind}({_name(fun)})"
        if isinstance(argnums, (int, np.integer)):
            nums: tuple[int, ...] = (int(argnums),)
        elif isinstance(argnums, (tuple, list)) and argnums and all(
                isinstance(i, (int, np.integer)) for i in argnums):
            nums = tuple(int(i) for i in argnums)
        else:
            raise TypeError(f"{self.__name__}: argnums must be an int or a non-empty tuple "
                            f"of ints, got {argnums!r}")
        if len(set(nums)) != len(nums):
            raise TypeError(f"{self.__name__}: argnums {argnums!r} repeats an argument")
        self.fun = fun
        self.argnums = int(argnums) if isinstance(argnums, (int, np.integer)) else nums
        self.nums = nums
        self.kind = kind
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        self._trace = Transformed(fun, self._build_outputs, self.__name__)
        self._compressed = {mode: Transformed(fun, self._build_compressed(mode),
                                              f"{self.__name__}[{mode}]")
                            for mode in (("column", "row") if kind == "jacobian" else ("star",))}
        # signature -> [(guard checker or None, Sparsity)]
        self._patterns: dict[tuple, list] = {}

    def __repr__(self) -> str:
        return f"<staticgrad {self.__name__}>"

    @property
    def _tuple(self) -> bool:
        return not isinstance(self.argnums, int)

    # -- tracing ----------------------------------------------------------------
    def _point_and_output(self, ctx, args, kwargs):
        args = _points(ctx, tuple(args), self.nums)
        xs = [args[i] for i in self.nums]
        for i, x in zip(self.nums, xs):
            if not isinstance(x, Tracer):
                raise UnsupportedOperationError(
                    f"{self.__name__}: argument {i} must be a single array")
        out = self.fun(*args, **kwargs)
        if isinstance(out, (tuple, list, dict)):
            raise UnsupportedOperationError(f"{self.__name__}: the function must return a "
                                            "single array")
        y = ctx.lift(out)
        if self.kind == "hessian" and y.shape != ():
            raise NonScalarOutputError(
                f"{self.__name__}: a Hessian needs a scalar output, but {_name(self.fun)} "
                f"returned shape {y.shape}; use sparse_jacobian for vector functions")
        if y.dtype.kind not in "fc":
            raise TypeError(f"{self.__name__}: the output has dtype {y.dtype}, not floating "
                            "point")
        return args, xs, y

    def _build_outputs(self, ctx, args, kwargs):
        _, xs, y = self._point_and_output(ctx, args, kwargs)
        return (y, *xs)

    def _build_compressed(self, mode: str):
        def build(ctx, args, kwargs):
            *args, seed = args
            args, xs, y = self._point_and_output(ctx, args, kwargs)
            seed = ctx.lift(seed).value
            graph = ctx.graph
            x_nodes = [x.node for x in xs]
            bounds = np.cumsum([0] + [x.size for x in xs]).tolist()
            if mode == "star":
                targets = [ctx.lift(g) for g in grad(self.fun, self.nums)(*args, **kwargs)]
            else:
                targets = [y]

            def flat(parts, like):
                # the products' parts, flattened and side by side (zeros where no path)
                pieces = [O.reshape(p, (v.size,)) if p is not None
                          else O.full(graph, (v.size,), 0, v.dtype) for p, v in zip(parts, like)]
                return pieces[0] if len(pieces) == 1 else O.concatenate(pieces)

            products = []
            for k in range(seed.shape[1]):
                column = seed[:, k]
                if mode == "row":
                    ct = O.cast(O.reshape(column, y.shape), y.dtype)
                    products.append(flat(autodiff.vjp(graph, [y.node], [ct], x_nodes), xs))
                else:
                    tangents = [O.cast(O.reshape(column[lo:hi], x.shape), x.dtype)
                                for x, lo, hi in zip(xs, bounds[:-1], bounds[1:])]
                    outs = autodiff.jvp(graph, x_nodes, tangents, [t.node for t in targets])
                    products.append(flat(outs, targets))
            return Tracer(ctx, O.stack(products, axis=0 if mode == "row" else 1).node)
        return build

    # -- pattern and colouring, per specialisation -----------------------------
    def _sparsity(self, args: tuple, kwargs: dict) -> Sparsity:
        key, leaves, _ = self._trace._key(args, kwargs)
        entries = self._patterns.setdefault(key, [])
        for check, info in entries:
            if check is None:
                return info
            try:
                check(*leaves)
            except GuardFailure:
                continue
            return info
        traced = self._trace.trace(*args, **kwargs)
        graph = traced.ir
        y, *xs = graph.outputs
        if self.kind == "jacobian":
            pattern = S.jacobian_pattern(graph, y, xs)
            coloring = S.color_jacobian(pattern)
        else:
            pattern = S.hessian_pattern(graph, y, xs)
            coloring = S.color_hessian(pattern)
        sizes = tuple(int(np.prod(graph.shape(x), dtype=np.int64)) for x in xs)
        info = Sparsity(pattern, coloring, sizes if self._tuple else None, self.kind)
        entries.insert(0, (_guard_checker(graph), info))
        return info

    def sparsity(self, *args: Any, **kwargs: Any) -> Sparsity:
        """The pattern (``.pattern``), colouring (``.colors``) and ``.n_colors``
        for these arguments' specialisation (computed once, then cached); for
        tuple ``argnums`` the pattern is split per argument like the result."""
        return self._sparsity(args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any):
        info = self._sparsity(args, kwargs)
        if info.n_colors == 0:
            full = sp.csr_array(info.joint_pattern.shape, dtype=self._dtype(args))
        else:
            compressed = np.asarray(self._compressed[info.mode](*args, info.seed, **kwargs))
            full = S.recover(info.joint_pattern, info.recovery_index, compressed)
        return _split(full, info.sizes, self.kind)

    def _dtype(self, args) -> np.dtype:
        dtype = np.result_type(*[np.asarray(args[i]).dtype for i in self.nums])
        return dtype if dtype.kind in "fc" else np.dtype(np.float64)

    def cache_info(self):
        """The compressed evaluators' cache statistics (one per mode)."""
        return {mode: f.cache_info() for mode, f in self._compressed.items()}


def sparse_jacobian(fun: Callable, argnums: int | Sequence[int] = 0) -> _SparseDerivative:
    """The Jacobian of ``fun`` with respect to argument ``argnums`` as a
    ``scipy.sparse.csr_array`` of shape (out.size, x.size) (C order on both sides);
    for a tuple ``argnums``, a tuple of them, one per argument, as ``jacobian``.

    >>> J = sparse_jacobian(lambda x: x[1:] * x[:-1])(np.arange(1.0, 5.0))
    >>> J.toarray()
    array([[2., 1., 0., 0.],
           [0., 3., 2., 0.],
           [0., 0., 4., 3.]])
    """
    return _SparseDerivative(fun, argnums, "jacobian")


def sparse_hessian(fun: Callable, argnums: int | Sequence[int] = 0) -> _SparseDerivative:
    """The Hessian of the scalar ``fun`` with respect to argument ``argnums`` as
    a symmetric ``scipy.sparse.csr_array`` of shape (x.size, x.size); for a
    tuple ``argnums``, JAX's nested tuple of blocks as ``hessian``: ``H[i][j]``
    of shape (x_i.size, x_j.size), one colouring and one kernel for all of them.

    >>> H = sparse_hessian(lambda x: np.sum(x[1:] * x[:-1]))(np.ones(3))
    >>> H.toarray()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    """
    return _SparseDerivative(fun, argnums, "hessian")

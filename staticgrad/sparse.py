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

from typing import Any, Callable

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

    ``pattern`` is a boolean ``scipy.sparse.csr_array``; ``colors[k]`` is the
    colour of column k (``mode == "column"``, a Jacobian by JVPs; ``"star"``, a
    Hessian by HVPs) or of row k (``mode == "row"``, a Jacobian by VJPs).
    """

    def __init__(self, pattern: sp.csr_array, coloring: S.Coloring):
        self.pattern = pattern
        self.coloring = coloring
        self.colors = coloring.colors
        self.n_colors = coloring.n_colors
        self.mode = coloring.mode
        self.strategy = coloring.strategy
        self.seed = S.seed_matrix(coloring)
        self.recovery_index = S.recovery_index(pattern, coloring)

    @property
    def max_degree(self) -> int:
        """The most nonzeros in one row (column mode) or column (row mode):
        a lower bound on the number of colours."""
        p = self.pattern if self.mode != "row" else sp.csr_array(self.pattern.T)
        return int(np.diff(p.indptr).max()) if p.shape[0] and p.nnz else 0

    def __repr__(self) -> str:
        return (f"Sparsity(shape={self.pattern.shape}, nnz={self.pattern.nnz}, "
                f"n_colors={self.n_colors}, mode={self.mode!r}, strategy={self.strategy!r})")


def _guard_checker(graph) -> Interpreter | None:
    """An evaluator of the graph's guards only (None if it has none): it tells
    whether new arguments take the path the pattern was derived on."""
    if not any(O.get_op(graph.op(n)).effect for n in graph.nodes()):
        return None
    copy = rebuild(graph)
    copy.outputs = []
    return Interpreter(rebuild(copy, keep=copy.needed([])))


class _SparseDerivative:
    """A sparse Jacobian or Hessian of ``fun`` with respect to argument ``argnums``."""

    def __init__(self, fun: Callable, argnums: int, kind: str):
        if not isinstance(argnums, (int, np.integer)):
            raise TypeError(f"sparse_{kind}({_name(fun)}): argnums must be an int, "
                            f"got {argnums!r}")
        self.fun = fun
        self.argnums = int(argnums)
        self.kind = kind
        self.__name__ = f"sparse_{kind}({_name(fun)})"
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

    # -- tracing ----------------------------------------------------------------
    def _point_and_output(self, ctx, args, kwargs):
        args = _points(ctx, tuple(args), (self.argnums,))
        x = args[self.argnums]
        if not isinstance(x, Tracer):
            raise UnsupportedOperationError(
                f"{self.__name__}: argument {self.argnums} must be a single array")
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
        return args, x, y

    def _build_outputs(self, ctx, args, kwargs):
        _, x, y = self._point_and_output(ctx, args, kwargs)
        return y, x

    def _build_compressed(self, mode: str):
        def build(ctx, args, kwargs):
            *args, seed = args
            args, x, y = self._point_and_output(ctx, args, kwargs)
            seed = ctx.lift(seed).value
            graph = ctx.graph
            if mode == "star":
                y = ctx.lift(grad(self.fun, self.argnums)(*args, **kwargs))
            products = []
            for k in range(seed.shape[1]):
                column = seed[:, k]
                if mode == "row":
                    ct = O.cast(O.reshape(column, y.shape), y.dtype)
                    (p,) = autodiff.vjp(graph, [y.node], [ct], [x.node])
                    size = x.size
                else:
                    t = O.cast(O.reshape(column, x.shape), x.dtype)
                    (p,) = autodiff.jvp(graph, [x.node], [t], [y.node])
                    size = y.size
                products.append(O.reshape(p, (size,)) if p is not None
                                else O.full(graph, (size,), 0, x.dtype))
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
        y, x = graph.outputs
        if self.kind == "jacobian":
            pattern = S.jacobian_pattern(graph, y, x)
            coloring = S.color_jacobian(pattern)
        else:
            pattern = S.hessian_pattern(graph, y, x)
            coloring = S.color_hessian(pattern)
        info = Sparsity(pattern, coloring)
        entries.insert(0, (_guard_checker(graph), info))
        return info

    def sparsity(self, *args: Any, **kwargs: Any) -> Sparsity:
        """The pattern (``.pattern``), colouring (``.colors``) and ``.n_colors``
        for these arguments' specialisation (computed once, then cached)."""
        return self._sparsity(args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> sp.csr_array:
        info = self._sparsity(args, kwargs)
        if info.n_colors == 0:
            return sp.csr_array(info.pattern.shape, dtype=self._dtype(args))
        compressed = np.asarray(self._compressed[info.mode](*args, info.seed, **kwargs))
        return S.recover(info.pattern, info.recovery_index, compressed)

    def _dtype(self, args) -> np.dtype:
        dtype = np.asarray(args[self.argnums]).dtype
        return dtype if dtype.kind in "fc" else np.dtype(np.float64)

    def cache_info(self):
        """The compressed evaluators' cache statistics (one per mode)."""
        return {mode: f.cache_info() for mode, f in self._compressed.items()}


def sparse_jacobian(fun: Callable, argnums: int = 0) -> _SparseDerivative:
    """The Jacobian of ``fun`` with respect to argument ``argnums`` as a
    ``scipy.sparse.csr_array`` of shape (out.size, x.size) (C order on both sides).

    >>> J = sparse_jacobian(lambda x: x[1:] * x[:-1])(np.arange(1.0, 5.0))
    >>> J.toarray()
    array([[2., 1., 0., 0.],
           [0., 3., 2., 0.],
           [0., 0., 4., 3.]])
    """
    return _SparseDerivative(fun, argnums, "jacobian")


def sparse_hessian(fun: Callable, argnums: int = 0) -> _SparseDerivative:
    """The Hessian of the scalar ``fun`` with respect to argument ``argnums`` as
    a symmetric ``scipy.sparse.csr_array`` of shape (x.size, x.size).

    >>> H = sparse_hessian(lambda x: np.sum(x[1:] * x[:-1]))(np.ones(3))
    >>> H.toarray()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    """
    return _SparseDerivative(fun, argnums, "hessian")

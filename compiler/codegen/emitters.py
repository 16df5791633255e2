"""What an op's definition gives the Numba backend (no Numba import here).

An op's ``emit`` rule takes one of four forms:

- a ``str``: the scalar expression of an elementwise op (``"np.exp({0})"``),
  written into the fused loop of its consumers;
- ``Accumulate(init, update)``: a reduction, accumulated in the loop that
  produces its operand (``update`` combines ``{acc}`` and ``{x}``);
- ``Loop(index_map, statement=None, alias=None)``: data movement a loop can
  read through (transpose, broadcast, basic indexing, ...): ``index_map(n,
  idx)`` returns the scalar expression of the result at the index
  expressions ``idx``, using ``n.read(k, idx)`` for input ``k``, or ``None``
  when this form of the op has no index map (then ``statement`` emits it).
  ``alias(n)``, when given, is a no-copy view expression (``x.T``) or None; it
  is used when only statements (matmul) consume the value;
- a callable ``emit(n)``: statements that compute the whole result into
  ``n.out`` (matmul through BLAS, reshape, concatenate, scatter, guards).

``n`` is a :class:`NodeEmitter`: the node's shapes, dtypes and attrs, the
names of its input variables, and helpers to write lines and loops.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Accumulate:
    """A reduction: ``acc = init; acc = update(acc, x)`` over the reduced axes.

    ``init`` is a value or a callable of the result dtype (e.g. the dtype's
    lowest value for ``max``).
    """

    init: object
    update: str

    def initial(self, dtype: np.dtype):
        return self.init(dtype) if callable(self.init) else self.init


@dataclasses.dataclass(frozen=True)
class Loop:
    """Data movement a loop can read through (see the module docstring)."""

    index_map: Callable
    statement: Callable | None = None
    alias: Callable | None = None


def np_dtype(dtype) -> str:
    """The Numba-visible spelling of a dtype: ``np.float64``, ``np.bool_``."""
    dtype = np.dtype(dtype)
    return "np.bool_" if dtype == bool else f"np.{dtype.name}"


def literal(value, dtype) -> str:
    """A scalar literal of the given dtype (float64, int64 and bool need no cast)."""
    dtype = np.dtype(dtype)
    value = np.asarray(value, dtype=dtype).item()
    if dtype == bool:
        return repr(bool(value))
    if dtype.kind == "f":
        if math.isnan(value):
            text = "np.nan"
        elif math.isinf(value):
            text = "np.inf" if value > 0 else "(-np.inf)"
        else:
            text = repr(float(value))
        return text if dtype == np.float64 else f"{np_dtype(dtype)}({text})"
    if dtype.kind in "iu":
        return repr(int(value)) if dtype == np.int64 else f"{np_dtype(dtype)}({int(value)})"
    if dtype.kind == "c":
        return f"{np_dtype(dtype)}({value!r})"
    raise TypeError(f"no literal for dtype {dtype}")


class NodeEmitter:
    """What an emitter sees of one node (filled in by the code generator):
    ``out`` (the result variable), ``args`` (input variables), ``shapes``,
    ``dtypes``, ``shape``, ``dtype``, ``attrs``, and for index maps ``read``."""

    def __init__(self, gen, nid: int, read=None):
        graph = gen.g
        self._gen = gen
        self._inputs = list(graph.inputs(nid))
        self._read = read
        self.nid = nid
        self.shapes = [graph.shape(i) for i in self._inputs]
        self.dtypes = [graph.dtype(i) for i in self._inputs]
        self.shape = graph.shape(nid)
        self.dtype = graph.dtype(nid)
        self.attrs = graph.attrs(nid)

    @property
    def out(self) -> str:
        return self._gen.var(self.nid)

    @property
    def args(self) -> list:
        return [self._gen.var(i) for i in self._inputs]

    def within(self, j: str, lo: int, hi: int) -> str:
        """The condition ``lo <= j <= hi`` on an index expression (the loop may be
        split at lo and hi so that it becomes a constant)."""
        return self._gen.within(j, lo, hi)

    def clamp(self, expr: str, size: int, conds: list) -> str:
        """The index ``expr`` kept inside [0, size) wherever ``conds`` may fail
        (a read whose value the conditions then discard)."""
        return self._gen.clamp(expr, size, conds)

    def const_value(self, k: int):
        """Input ``k``'s value when it is a constant, else None."""
        node = self._inputs[k]
        return self._gen.g.const_value(node) if self._gen.g.op(node) == "const" else None

    def fail(self) -> str:
        """The statement a failed guard runs (an early return of its status)."""
        return self._gen.fail(self.nid)

    # -- writing -------------------------------------------------------
    def line(self, text: str) -> None:
        self._gen.line(text)

    @contextlib.contextmanager
    def loops(self, shape: tuple, prefix: str = "j"):
        """``for`` loops over ``shape``; yields the index variable names."""
        names = [self._gen.fresh(prefix) for _ in shape]
        with self._gen.nest(list(zip(names, shape))):
            yield names

    def fresh(self, prefix: str = "t") -> str:
        return self._gen.fresh(prefix)

    def const(self, array: np.ndarray) -> str:
        """A kernel argument holding ``array`` (constants are never globals)."""
        return self._gen.const_arg(np.ascontiguousarray(array), by_content=True)

    def lit(self, value, dtype=None) -> str:
        return literal(value, self.dtype if dtype is None else dtype)

    def np_dtype(self, dtype=None) -> str:
        return np_dtype(self.dtype if dtype is None else dtype)

    def empty(self, shape=None, dtype=None) -> str:
        shape = self.shape if shape is None else tuple(shape)
        return f"np.empty({shape!r}, {self.np_dtype(dtype)})"

    # -- reading (index maps) -------------------------------------------
    def read(self, k: int, idx) -> str:
        """The scalar expression of input ``k`` at the index expressions ``idx``."""
        return self._read(self._inputs[k], list(idx))


def broadcast_index(idx, shape: tuple, to: tuple) -> list:
    """Index expressions for an operand of shape ``to`` broadcast into ``shape``."""
    lead = len(shape) - len(to)
    return ["0" if n == 1 else idx[lead + k] for k, n in enumerate(to)]


def index_text(idx) -> str:
    return ", ".join(str(i) for i in idx)

"""The vocabulary op definitions use to tell the Numba backend how to lower
them (no Numba import here; the backend in :mod:`compiler.codegen` reads it).

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
  ``n.out`` (matmul through BLAS, reshape, concatenate, scatter, guards);
- ``Product(emit)``: such a callable for a matrix product ``a @ b``. Row ``i``
  of the result depends on row ``i`` of ``a`` only, so the backend may write
  it a block of rows at a time (``a[s:e] @ b``), and ``a.T @ c`` as a sum
  over row blocks, when it fuses a row-blocked loop (see
  :mod:`compiler.codegen.plan`).

``n`` is the backend's view of one node: its shapes, dtypes and attrs, the
names of its input variables, and helpers to write lines and loops.

Index expressions are text: a loop variable (``"i0"``), an integer literal
(``"2"``, when the backend unrolls a small loop) or an expression of them.
Emitters build them with :func:`shift` and :func:`affine` and combine values
with :func:`select` and :func:`plus`, which resolve what literals decide
(``x if 0 <= 2 <= 0 else y`` is ``y``), so no literal condition reaches Numba.
Scalar literals are :class:`Lit`, text that remembers its value.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Accumulate:
    """A reduction: ``acc = init; acc = update(acc, x)`` over the reduced axes.

    ``init`` is a value or a callable of the result dtype (e.g. the dtype's
    lowest value for ``max``). The reduction of one element is that element.
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


@dataclasses.dataclass(frozen=True)
class Product:
    """The emit rule of a matrix product (see the module docstring)."""

    emit: Callable

    def __call__(self, n):
        return self.emit(n)


class Lit(str):
    """The text of a scalar literal, with its value (a NumPy scalar)."""

    value: np.generic

    def __new__(cls, text: str, value):
        self = super().__new__(cls, text)
        self.value = value
        return self


def np_dtype(dtype) -> str:
    """The Numba-visible spelling of a dtype: ``np.float64``, ``np.bool_``."""
    dtype = np.dtype(dtype)
    return "np.bool_" if dtype == bool else f"np.{dtype.name}"


def literal(value, dtype) -> Lit:
    """A scalar literal of the given dtype (float64, int64 and bool need no cast)."""
    dtype = np.dtype(dtype)
    scalar = np.asarray(value, dtype=dtype)[()]
    value = scalar.item()
    if dtype == bool:
        return Lit(repr(bool(value)), scalar)
    if dtype.kind == "f":
        if math.isnan(value):
            text = "np.nan"
        elif math.isinf(value):
            text = "np.inf" if value > 0 else "(-np.inf)"
        else:
            text = repr(float(value))
        return Lit(text if dtype == np.float64 else f"{np_dtype(dtype)}({text})", scalar)
    if dtype.kind in "iu":
        return Lit(repr(int(value)) if dtype == np.int64 else f"{np_dtype(dtype)}({int(value)})",
                   scalar)
    if dtype.kind == "c":
        return Lit(f"{np_dtype(dtype)}({value!r})", scalar)
    raise TypeError(f"no literal for dtype {dtype}")


# -- index expressions ------------------------------------------------------------
def as_int(j) -> int | None:
    """The value of an integer-literal index expression, else None."""
    text = str(j)
    if text.isdigit() or text[:1] == "-" and text[1:].isdigit():
        return int(text)
    return None


def shift(j, k: int) -> str:
    """The index expression ``j + k``."""
    v = as_int(j)
    if v is not None:
        return str(v + k)
    if k == 0:
        return str(j)
    return f"({j} + {k})" if k > 0 else f"({j} - {-k})"


def affine(start: int, step: int, j) -> str:
    """The index expression ``start + step * j``."""
    v = as_int(j)
    if v is not None:
        return str(start + step * v)
    if step == 1:
        return shift(j, start)
    return f"({start} + {step} * {j})"


def broadcast_index(idx, shape: tuple, to: tuple) -> list:
    """Index expressions for an operand of shape ``to`` broadcast into ``shape``."""
    lead = len(shape) - len(to)
    return ["0" if n == 1 else idx[lead + k] for k, n in enumerate(to)]


def index_text(idx) -> str:
    return ", ".join(str(i) for i in idx)


# -- conditions and values --------------------------------------------------------
TRUE, FALSE = "True", "False"


def all_of(conds) -> str:
    """The conjunction of conditions, literal ones resolved."""
    conds = [str(c) for c in conds]
    if FALSE in conds:
        return FALSE
    conds = [c for c in conds if c != TRUE]
    return " and ".join(conds) if conds else TRUE


def select(cond, value, other) -> str:
    """``value if cond else other``, resolved when cond is a literal."""
    cond = str(cond)
    if cond == TRUE:
        return value
    if cond == FALSE:
        return other
    return f"({value} if {cond} else {other})"


def _is_zero(x) -> bool:
    return isinstance(x, Lit) and x.value == 0 and not np.signbit(x.value)


def plus(a, b) -> str:
    """``a + b`` for two values of one dtype, with a literal zero dropped."""
    if _is_zero(a):
        return b
    if _is_zero(b):
        return a
    if isinstance(a, Lit) and isinstance(b, Lit):
        return literal(a.value + b.value, np.result_type(a.value, b.value))
    return f"({a} + {b})"


def floordiv(j, step: int) -> str:
    """The index expression ``j // step``."""
    v = as_int(j)
    return str(v // step) if v is not None else f"({j} // {step})"


def divides(step: int, j) -> str:
    """The condition ``j % step == 0``."""
    v = as_int(j)
    if v is not None:
        return TRUE if v % step == 0 else FALSE
    return f"{j} % {step} == 0"

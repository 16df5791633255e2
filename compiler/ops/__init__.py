"""The op registry. Every primitive is defined once, with all of its rules.

An ``Op`` bundles:

- ``impl``: NumPy evaluation (the reference semantics), ``impl(*arrays, **attrs)``;
- ``infer``: shape/dtype rule, ``infer(shapes, dtypes, attrs) -> (shape, dtype)``
  (elementwise ops get broadcasting and NumPy's own dtype promotion for free);
- ``vjp``: ``vjp(g, out, *xs, **attrs) -> tuple`` of cotangents, one per input
  (``None`` where there is none), written with Values so it can be
  differentiated again. Cotangents may have the broadcast shape; the adjoint
  pass sums them back to each input's shape, once, generically;
- ``jvp``: ``jvp(tangents, out, *xs, **attrs) -> Value | None``. Elementwise
  ops derive it from their VJP (the derivative is diagonal), linear ops apply
  themselves to the tangents; the rest define it;
- ``emit``: for elementwise ops, the scalar expression the Numba backend
  writes into its fused loop (``"np.exp({0})"``); other ops are emitted by the
  backend's kernels for their family;
- traits the passes ask about: ``elementwise``, ``linear``, ``effect``
  (never removed), ``differentiable``, ``cost`` (cheap to recompute?).
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from compiler.errors import ShapeError, UnsupportedOperationError
from compiler.ir import Graph, Value

REGISTRY: dict[str, "Op"] = {}


def get_op(name: str) -> "Op":
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnsupportedOperationError(f"unknown op {name!r}") from None


def broadcast_shapes(op: str, shapes: Sequence[tuple]) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{op}: operands with shapes "
                         + " and ".join(str(tuple(s)) for s in shapes)
                         + " do not broadcast together") from None


@functools.lru_cache(maxsize=None)
def _elementwise_dtype(impl: Callable, dtypes: tuple, attrs_items: tuple) -> np.dtype:
    # NumPy's own promotion: evaluate the op on 0-d samples of the input dtypes.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = [np.ones((), dtype=d) for d in dtypes]
        return np.asarray(impl(*samples, **dict(attrs_items))).dtype


def _hashable_attrs(attrs: dict) -> tuple:
    return tuple(sorted(attrs.items()))


class Op:
    """One primitive and all its rules (see the module docstring)."""

    def __init__(self, name: str, impl: Callable, *, infer: Callable | None = None,
                 vjp: Callable | None = None, jvp: Callable | None = None,
                 canon: Callable | None = None, emit: str | None = None,
                 elementwise: bool = False, linear: bool = False, effect: bool = False,
                 differentiable: bool = True, cost: int = 1, weak_scalars: bool | None = None):
        self.name = name
        self.impl = impl
        self._infer = infer
        self.vjp_rule = vjp
        self.jvp_rule = jvp
        self._canon = canon
        self.emit = emit
        self.elementwise = elementwise
        self.linear = linear
        self.effect = effect
        self.differentiable = differentiable
        self.cost = cost
        self.weak_scalars = elementwise if weak_scalars is None else weak_scalars
        if name in REGISTRY:
            raise ValueError(f"op {name!r} defined twice")
        REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    # -- rules ----------------------------------------------------------
    def canonicalize(self, shapes, dtypes, attrs: dict) -> dict:
        return self._canon(shapes, dtypes, attrs) if self._canon else attrs

    def infer(self, shapes, dtypes, attrs: dict):
        if self._infer is not None:
            return self._infer(shapes, dtypes, attrs)
        if self.elementwise:
            shape = broadcast_shapes(self.name, shapes)
            return shape, _elementwise_dtype(self.impl, tuple(dtypes), _hashable_attrs(attrs))
        raise UnsupportedOperationError(f"op {self.name} has no shape rule")

    def evaluate(self, *arrays, **attrs) -> np.ndarray:
        return np.asarray(self.impl(*arrays, **attrs))

    def vjp(self, g: Value, out: Value, xs: Sequence[Value], attrs: dict) -> tuple:
        if not self.differentiable or self.vjp_rule is None:
            return (None,) * len(xs)
        cts = self.vjp_rule(g, out, *xs, **attrs)
        if len(cts) != len(xs):
            raise UnsupportedOperationError(f"VJP rule of {self.name} returned {len(cts)} "
                                            f"cotangents for {len(xs)} inputs")
        return tuple(cts)

    def jvp(self, tangents: Sequence[Value | None], out: Value, xs: Sequence[Value],
            attrs: dict) -> Value | None:
        if not self.differentiable or all(t is None for t in tangents):
            return None
        if self.jvp_rule is not None:
            return self.jvp_rule(tangents, out, *xs, **attrs)
        if self.elementwise and self.vjp_rule is not None:
            # The Jacobian of an elementwise op is diagonal per input, so the
            # VJP rule applied to a tangent is that input's contribution.
            total = None
            for k, t in enumerate(tangents):
                if t is None:
                    continue
                part = self.vjp_rule(t, out, *xs, **attrs)[k]
                if part is not None:
                    total = part if total is None else total + part
            if total is not None and total.shape != out.shape:
                total = broadcast_to(total, out.shape)
            return total
        if self.linear:
            # Linear in its floating operands; integer operands (index arrays)
            # are parameters of the map and pass through unchanged.
            filled = [t if t is not None else zeros_like(x) if x.dtype.kind in "fc" else x
                      for t, x in zip(tangents, xs)]
            return self(*filled, **attrs)
        raise UnsupportedOperationError(f"op {self.name} has no JVP rule")

    # -- building -------------------------------------------------------
    def __call__(self, *args: Any, **attrs: Any) -> Value:
        return bind(self, args, attrs)


def graph_of(args: Sequence[Any]) -> Graph:
    for a in args:
        if isinstance(a, Value):
            return a.graph
    raise UnsupportedOperationError("an op needs at least one symbolic Value among its operands")


def as_value(graph: Graph, x: Any, like: Sequence[Value] = ()) -> Value:
    """Wrap x as a Value of graph. Python scalars are weakly typed (NEP 50):
    ``x32 * 2.0`` stays float32, as in NumPy."""
    if isinstance(x, Value):
        if x.graph is not graph:
            raise UnsupportedOperationError("operands belong to different graphs")
        return x
    if isinstance(x, (bool, int, float)) and like:
        dtype = np.result_type(*[v.dtype for v in like], x)
        return graph.const(x, dtype=dtype)
    return graph.const(x)


def bind(op: Op | str, args: Sequence[Any], attrs: dict) -> Value:
    op = get_op(op) if isinstance(op, str) else op
    graph = graph_of(args)
    strong = [a for a in args if isinstance(a, Value)] if op.weak_scalars else []
    values = [as_value(graph, a, strong) for a in args]
    return Value(graph, graph.add(op.name, [v.node for v in values], attrs))


def fold_axes(axis: Any, ndim: int) -> tuple:
    """Normalise an ``axis`` argument to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ShapeError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


# The op families register themselves on import; their public functions are
# re-exported here so rules can write ``ops.exp(x)``.
from compiler.ops.elementwise import *  # noqa: E402,F401,F403
from compiler.ops.shape import *  # noqa: E402,F401,F403
from compiler.ops.reduce import *  # noqa: E402,F401,F403
from compiler.ops.linalg import *  # noqa: E402,F401,F403
from compiler.ops.index import *  # noqa: E402,F401,F403
from compiler.ops.special import *  # noqa: E402,F401,F403
from compiler.ops.composite import *  # noqa: E402,F401,F403
from compiler.ops.specfun import *  # noqa: E402,F401,F403
from compiler.ops.decomp import *  # noqa: E402,F401,F403


class _ValueOperators:
    """Value's Python operators: the ops above, installed onto compiler.ir.Value
    (the IR imports nothing of ops)."""

    def __add__(self, o): return add(self, o)
    def __radd__(self, o): return add(o, self)
    def __sub__(self, o): return sub(self, o)
    def __rsub__(self, o): return sub(o, self)
    def __mul__(self, o): return mul(self, o)
    def __rmul__(self, o): return mul(o, self)
    def __truediv__(self, o): return div(self, o)
    def __rtruediv__(self, o): return div(o, self)
    def __pow__(self, o): return power(self, o)
    def __rpow__(self, o): return power(o, self)
    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)
    def __neg__(self): return neg(self)
    def __gt__(self, o): return greater(self, o)
    def __ge__(self, o): return greater_equal(self, o)
    def __lt__(self, o): return less(self, o)
    def __le__(self, o): return less_equal(self, o)
    def __getitem__(self, key): return index(self, key)

    @property
    def T(self) -> Value:
        return transpose(self)

    def sum(self, axis=None, keepdims=False): return sum(self, axis=axis, keepdims=keepdims)
    def reshape(self, *shape): return reshape(self, shape[0] if len(shape) == 1 else shape)
    def astype(self, dtype): return cast(self, dtype)


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__",
              "__gt__", "__ge__", "__lt__", "__le__", "__getitem__", "T", "sum", "reshape",
              "astype"):
    setattr(Value, _name, vars(_ValueOperators)[_name])
del _name
Graph.op_rules = staticmethod(get_op)
from compiler.ops.control import *  # noqa: E402,F401,F403

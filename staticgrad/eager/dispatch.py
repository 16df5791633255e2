"""Dispatch and the fragment cache: how an operation on Tensors runs.

Every operation on Tensors is a *fragment*: the NumPy-level call
(``np.sin(t)``, ``t @ w``, ``t[0]``) traced once per signature with the same
Tracer and op table the functional API uses, cached, and afterwards evaluated
with the ops' NumPy implementations. While an operand requires grad, the
result also records a ``grad_fn`` node (the fragment, an edge per operand with
the operand's array and version, and the result's own array and version).
``backward`` (staticgrad.autograd) inlines the fragments reachable from the
outputs into one Graph, differentiates it with the symbolic adjoint pass and
runs the result.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import compiler.ops as O
from compiler.autodiff import vjp
from compiler.evaluate import Program
from compiler.ir import Graph, Value, freeze
from compiler.passes import rebuild
from staticgrad import pytree
from staticgrad.eager.grad_mode import _GradMode
from staticgrad.eager.records import _UIDS, _node_class, _Version
from staticgrad.eager.tensor_type import Tensor
from staticgrad.errors import UnsupportedOperationError
from staticgrad.tracing import TraceContext, Tracer


class Fragment:
    """A small graph: params = the call's array operands, one output.

    ``run(arrays)`` evaluates it with compiler.evaluate's Program, the one
    NumPy evaluator, bound once: an eager op is one or two NumPy calls, so
    per-call bookkeeping is what it costs.
    """

    __slots__ = ("name", "graph", "node_class", "fresh", "run", "_key", "_saves")

    def __init__(self, name: str, graph: Graph):
        self.name = name
        self.graph = graph
        self.node_class = _node_class(name)
        self._key = None
        self._saves = None
        self.run = Program(graph).run_single
        # The result may be a constant, a view or an operand (copied by _result)
        # unless it comes from a ufunc, which always makes a new array.
        self.fresh = isinstance(O.get_op(graph.op(graph.outputs[0])).impl, np.ufunc)

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = self.graph.structural_key()
        return self._key

    @property
    def saves(self) -> tuple:
        """(operand positions, output?) whose values the backward reads, as
        PyTorch's saved tensors: found by differentiating the fragment once."""
        if self._saves is None:
            self._saves = _saved_values(self.graph)
        return self._saves


def _saved_values(frag: Graph) -> tuple:
    g = rebuild(frag)  # a copy: vjp adds to the graph it differentiates
    out, params = g.outputs[0], list(g.params)  # before the cotangent joins them
    if g.dtype(out).kind not in "fc":
        return frozenset(), False
    ct = g.param(g.shape(out), g.dtype(out))
    cts = vjp(g, [out], [ct], params)
    stack = [c.node for c in cts if c is not None]
    seen, out_saved = set(), False
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        if nid == out:
            out_saved = True
            continue
        stack.extend(g.inputs(nid))
    return frozenset(k for k, p in enumerate(params) if p in seen), out_saved


_FRAGMENTS: dict = {}
_MAX_FRAGMENTS = 4096


class _Slot(tuple):
    """Stands for the k-th array operand in an argument template (a tuple
    ("slot", k), so freeze keys it by k)."""

    __slots__ = ()

    def __new__(cls, k: int):
        return super().__new__(cls, ("slot", k))

    @property
    def k(self) -> int:
        return self[1]


def _template(x: Any, operands: list) -> Any:
    if isinstance(x, Tensor):
        operands.append(x)
        return _Slot(len(operands) - 1)
    if isinstance(x, np.ndarray):
        operands.append(Tensor(x))
        return _Slot(len(operands) - 1)
    if isinstance(x, (list, tuple)) and any(isinstance(v, (Tensor, np.ndarray, list, tuple))
                                            for v in x):
        return type(x)(_template(v, operands) for v in x)
    return x


def _fill(x: Any, tracers: list) -> Any:
    if isinstance(x, _Slot):
        return tracers[x.k]
    if isinstance(x, (list, tuple)):
        return type(x)(_fill(v, tracers) for v in x)
    return x


def _trace(name: str, fn: Callable, targs: tuple, tkwargs: dict, arrays: list):
    ctx = TraceContext(name)
    tracers = [ctx.param(a) for a in arrays]
    with np.errstate(all="ignore"):
        result = fn(*_fill(targs, tracers), **{k: _fill(v, tracers) for k, v in tkwargs.items()})
    if isinstance(result, Value):
        result = Tracer(ctx, result.node)
    if not isinstance(result, Tracer):
        return None, result
    node = result.node
    if ctx.graph.op(node) == "param":  # the output must be a node of its own
        node = O.identity(result.value).node
    ctx.graph.outputs = [node]
    ctx.graph.listeners.clear()
    return Fragment(name, ctx.graph), ctx.env[node]


# Arguments keyed by value without a template: static (ints, bools, None, strings).
_STATIC_SCALARS = frozenset((int, bool, type(None), str))


def _weak_floats(args: tuple) -> tuple:
    """Python floats among the operands become 0-d tensors, so a changing
    float (a learning rate, a temperature) is a value, not part of the
    structure. Their dtype follows NumPy's weak scalars: float32 stays float32."""
    dtypes = [a._array.dtype for a in args if isinstance(a, Tensor)]
    dtype = np.result_type(*dtypes, 0.0)
    return tuple(Tensor._make(np.asarray(a, dtype)) if type(a) is float else a for a in args)


def _call(name: str | Callable, fn: Callable, args: tuple, kwargs: dict | None = None):
    """Run ``fn(*args, **kwargs)`` (a NumPy-level call) on Tensors, eagerly.

    The call is traced with Tracers standing for the array operands the first
    time its signature is seen; later calls run the cached fragment. ``name``
    (the grad_fn's, or a function of nothing giving it) is needed only then.
    Python ints and bools are static (``x ** 2``); Python floats are operands.
    """
    # The common case (Tensors, floats, static scalars) is keyed without a template.
    key, operands = [fn], []
    for a in args:
        if isinstance(a, Tensor):
            key.append((a._array.shape, a._array.dtype.char))
            operands.append(a)
        elif type(a) is float:
            key.append(float)
            operands.append(a)
        elif type(a) in _STATIC_SCALARS:
            key.append((type(a), a))
        else:
            return _call_slow(name, fn, args, kwargs, None)
    if kwargs:
        for k, v in kwargs.items():
            if type(v) not in _STATIC_SCALARS:
                return _call_slow(name, fn, args, kwargs, None)
            key.append((k, type(v), v))
    frag = _FRAGMENTS.get(tuple(key))
    if frag is None:
        return _call_slow(name, fn, args, kwargs, tuple(key))
    if float in key:
        operands = _weak_floats(operands)
    return _result(frag, frag.run([t._array for t in operands]), operands)


def _call_slow(name, fn, args, kwargs, fast_key):
    if any(type(a) is float for a in args):
        args = _weak_floats(args)
    operands: list[Tensor] = []
    targs = _template(tuple(args), operands)
    tkwargs = {k: _template(v, operands) for k, v in (kwargs or {}).items()}
    arrays = [t._array for t in operands]
    try:
        key = (fn, freeze(targs), freeze(tkwargs),
               tuple((a.shape, a.dtype.str) for a in arrays))
        frag = _FRAGMENTS.get(key)
    except TypeError:
        key = frag = None
    if frag is None:
        frag, out = _trace(name if isinstance(name, str) else name(), fn, targs, tkwargs, arrays)
        if frag is None:
            return out
        if key is not None:
            if len(_FRAGMENTS) >= _MAX_FRAGMENTS:
                _FRAGMENTS.clear()
            _FRAGMENTS[key] = frag
            if fast_key is not None:
                _FRAGMENTS[fast_key] = frag
    else:
        out = frag.run(arrays)
    return _result(frag, out, operands)


def _result(frag: Fragment, out: np.ndarray, operands: list) -> "Tensor":
    out = np.asarray(out)  # a 0-d result may be a NumPy scalar
    # Results own their memory (views and constants are copied): an in-place
    # change of one must never reach another tensor behind its version counter.
    if not frag.fresh and (out.base is not None or not out.flags.writeable
                           or any([out is t._array for t in operands])):
        out = out.copy()
    result = Tensor.__new__(Tensor)  # Tensor._make, inlined on the hot path
    result._array, result._version, result._uid = out, _Version(), next(_UIDS)
    if _GradMode.enabled and out.dtype.kind in "fc":
        for t in operands:
            if t._requires_grad:
                result._requires_grad = True
                result.grad_fn = frag.node_class(frag, operands, result)
                break
    return result


def primitive(op: str, attrs: dict, inputs: list) -> "Tensor":
    """Apply one registered op to Tensors (how a recorded backward is replayed)."""
    return _call(op.capitalize(), _PRIMITIVES[op], tuple(inputs), {"_attrs": attrs})


class _PrimitiveBuilders(dict):
    def __missing__(self, op):
        def build(*xs, _attrs):
            return O.bind(op, [x.value for x in xs], dict(_attrs))
        build.__name__ = op
        self[op] = build
        return build


_PRIMITIVES = _PrimitiveBuilders()


def _untracked(what: str, fn: Callable, args: tuple, kwargs: dict):
    """A NumPy function staticgrad has no rule for: fine on values that need
    no gradient (comparisons, tests, integer results), refused by name when a
    Tensor that requires grad goes in and anything floating comes out (an
    array, a NumPy or Python scalar, a tuple holding one), is written into
    (``out=``), or is changed in place: its result would silently lose the
    gradient."""
    leaves, tree = pytree.flatten((args, kwargs))
    arrays, kw = pytree.unflatten(tree, [x._array if isinstance(x, Tensor) else x
                                         for x in leaves])
    tracked = [x for x in leaves if isinstance(x, Tensor) and x._requires_grad] \
        if _GradMode.enabled else []
    if tracked and "out" in kwargs:
        raise UnsupportedOperationError(
            f"{what}(..., out=...) with a Tensor that requires grad writes a result that "
            "has lost the gradient; use the returned value of a supported function")
    before = [x._array.copy() for x in tracked]
    changed = False
    try:
        out = fn(*arrays, **kw)
    finally:  # (also when NumPy raises after writing)
        for x, saved in zip(tracked, before):
            if not np.array_equal(x._array, saved, equal_nan=x._array.dtype.kind in "fc"):
                x._array[...] = saved
                changed = True
    if changed:
        raise UnsupportedOperationError(
                f"{what} changed a Tensor that requires grad in place, which staticgrad "
                "cannot record (the change is undone); work on a copy or detach() it")
    if "out" in kwargs:  # NumPy writing into an array (w._array -= lr * w.grad): return it
        return out
    if tracked and _floating(out):
        raise UnsupportedOperationError(
            f"{what} has no derivative rule in staticgrad; its result would silently lose "
            "the gradient. Use the supported NumPy functions, or detach() the operand")
    return Tensor._make(out) if isinstance(out, np.ndarray) else out


def _floating(x: Any) -> bool:
    """Whether x holds a floating value (where a gradient could be lost)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind in "fc"
    if isinstance(x, (float, complex)):
        return True
    if isinstance(x, (list, tuple)):
        return any(_floating(v) for v in x)
    if isinstance(x, dict):
        return any(_floating(v) for v in x.values())
    return False

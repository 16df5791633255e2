"""Structured control flow: ``fori_loop``, ``scan``, ``while_loop``, ``cond``.

Names and semantics are ``jax.lax``'s (DESIGN.md section 8). Outside every
transform they are plain Python loops over NumPy values. Under a transform
(``jit``, ``grad``, ...) the body is traced once and the loop becomes one node
of the graph holding its body as a sub-graph (``compiler/ops/control.py``),
so a loop of 10^5 steps is as cheap to trace as one step, and every loop is
differentiable in both modes, ``while_loop`` included.

How a body is traced: it runs once on stand-ins (``placeholder`` nodes of the
outer graph, whose concrete values are the first step's), so it can close
over any traced value of the outer function. Then the nodes that depend on
the stand-ins are cut out into the body graph; the outer values they read
become *captured* inputs of the loop node (and constants are copied in), so
work that does not depend on the carry is hoisted out of the loop (a cond
branch keeps all its work: it runs only when taken). A Python
branch on the carry inside a body (``if x > 0``, ``float(x)``) would hold for
the first step only: it is an error, use ``cond`` or ``np.where``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import networkx as nx
import numpy as np

import compiler.ops as O
from compiler.ir import Graph
from compiler.passes.cse import value_key
from staticgrad import pytree
from staticgrad.errors import (LoopLimitError, LoopTypeError, ShapeError,
                               TracerConversionError, UnsupportedOperationError)
from staticgrad.specialize import config
from staticgrad.tracing import TraceContext, Tracer, find_context, running_context

__all__ = ["fori_loop", "scan", "while_loop", "cond"]


def _name(fun: Callable) -> str:
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)


def _context(*trees: Any) -> TraceContext | None:
    ctx = find_context(trees)
    return ctx if ctx is not None else running_context()


def _leaf_type(x: Any) -> tuple:
    if isinstance(x, Tracer):
        return x.shape, x.dtype
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is not None and dtype is not None:
        return tuple(shape), np.dtype(dtype)
    a = np.asarray(x)
    return a.shape, a.dtype


def _show(t: tuple) -> str:
    return f"{t[0]} {t[1]}"


def _show_tree(treedef: Any) -> str:
    """A pytree structure with its leaves as '*': ``(*, [*, *])``."""
    kind = treedef[0]
    if kind == "leaf":
        return "*"
    if kind == "none":
        return "None"
    if kind == "dict":
        items = (f"{k!r}: {_show_tree(c)}" for k, c in zip(treedef[1], treedef[2]))
        return "{" + ", ".join(items) + "}"
    inner = ", ".join(_show_tree(c) for c in treedef[1])
    return f"({inner},)" if kind == "tuple" and len(treedef[1]) == 1 else \
        f"({inner})" if kind == "tuple" else f"[{inner}]"


def _check_same(what: str, who: str, tree0: Any, types0: list, tree: Any, types: list,
                role: str = "carry") -> None:
    """The carry leaving a body must match the carry entering it."""
    if tree != tree0:
        raise LoopTypeError(f"{what}: {who} returns a {role} of structure {_show_tree(tree)}, "
                         f"but the {role} entering it has structure {_show_tree(tree0)}")
    for k, (t0, t) in enumerate(zip(types0, types)):
        if t0 != t:
            raise LoopTypeError(f"{what}: {who} changes the {role}: leaf {k} enters with shape "
                             f"{_show(t0)} and leaves with shape {_show(t)}; a loop keeps its "
                             f"{role}'s shapes and dtypes")


def _checkpoints(checkpoints: Any, what: str) -> int | None:
    if checkpoints is None:
        return None
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, (int, np.integer)) \
            or checkpoints < 1:
        raise ValueError(f"{what}: checkpoints must be a positive int or None, "
                         f"got {checkpoints!r}")
    return int(checkpoints)


# -- tracing a body --------------------------------------------------------
class _Body:
    """A function traced once on stand-ins in the outer graph."""

    def __init__(self, ctx: TraceContext, fn: Callable[[list], list], values: Sequence[Any],
                 what: str, who: str, hoist: bool = True):
        """``hoist``: work that does not depend on the arguments is left outside
        (loop invariants, computed once); without it, everything the function
        computes stays inside (a cond branch runs only when taken)."""
        self.ctx, self.what, self.who = ctx, what, who
        graph = ctx.graph
        first_new = graph._next
        holders = [Tracer(ctx, O.placeholder(graph, np.asarray(v)).node) for v in values]
        self.holders = [h.node for h in holders]
        for h in self.holders:
            graph.attrs(h)["owner"] = what
        self.outs = [ctx.lift(o).node for o in fn(holders)]
        dependent = set(self.holders)
        for h in self.holders:
            dependent |= nx.descendants(graph.nx, h)
        for n in sorted(dependent):
            if O.get_op(graph.op(n)).effect:
                self._refuse(n)
        inside = set(dependent)
        if not hoist:
            inside |= {n for n in range(first_new, graph._next) if n in graph
                       and graph.op(n) != "const" and not O.get_op(graph.op(n)).effect}
        need = set(self.outs)
        for o in self.outs:
            need |= nx.ancestors(graph.nx, o)
        self.nodes = sorted(n for n in need if n in inside)
        self.inside = inside
        caps: list[int] = []
        # Outer values computed twice alike (``p[0]`` read in each of four
        # calls of a function) are captured once: each capture is a parameter
        # of the body and, in reverse mode, a cotangent the adjoint carries.
        self.same: dict[int, int] = {}
        first_of: dict = {}

        def capture(i: int) -> None:
            if i in inside or graph.op(i) == "const" or i in caps or i in self.same:
                return
            key = self._computed_alike(i)
            if key is not None and first_of.setdefault(key, i) != i:
                self.same[i] = first_of[key]
                return
            caps.append(i)

        for n in self.nodes:
            for i in graph.inputs(n):
                capture(i)
        for o in self.outs:
            capture(o)
        self.captures = caps

    def _computed_alike(self, n: int):
        """What decides node n's value when its op is pure: op, inputs and
        attributes (None for parameters, placeholders and effects)."""
        graph = self.ctx.graph
        op = graph.op(n)
        if op in ("param", "placeholder") or O.get_op(op).effect:
            return None
        return value_key(op, graph.inputs(n), graph.attrs(n), graph.shape(n), graph.dtype(n))

    def _refuse(self, n: int) -> None:
        """A guard (Python control flow) on a value of the body: it would hold
        for the traced step or operands only."""
        graph, what, who = self.ctx.graph, self.what, self.who
        site = graph.attrs(n).get("site", "?")
        varying = "a value that changes from step to step" if what != "cond" else \
            "a value computed from the operands"
        if graph.attrs(n).get("kind") == "value":
            raise TracerConversionError(
                f"{what}: {who} converts {varying} to a Python number (at {site}: float(), "
                "int(), or a NumPy array indexed with it, such as the loop index); that would "
                "hold for the traced value only. Keep it an array: index a traced array "
                "instead (pass the array as an argument of the transformed function, or scan "
                "over it as xs)")
        raise TracerConversionError(
            f"{what}: {who} branches on {varying} (at {site}); that would hold for the traced "
            "value only. Use sg.cond or np.where for data-dependent choices in a body")

    def cut(self, captures: Sequence[int]) -> Graph:
        """The body as a Graph of (stand-ins..., captures...) -> outputs."""
        graph = self.ctx.graph
        body = Graph()
        mapping: dict[int, int] = {}
        for n in list(self.holders) + list(captures):
            mapping[n] = body.param(graph.shape(n), graph.dtype(n)).node
        for n, first in self.same.items():
            if n not in mapping and first in mapping:
                mapping[n] = mapping[first]

        def get(i: int) -> int:
            if i not in mapping:  # a constant the body reads: copied in
                d = graph.node(i)
                mapping[i] = body._insert("const", (), d["attrs"], d["shape"], d["dtype"])
            return mapping[i]

        for n in self.nodes:
            if n in mapping:
                continue
            d = graph.node(n)
            mapping[n] = body._insert(d["op"], tuple(get(i) for i in d["inputs"]), d["attrs"],
                                      d["shape"], d["dtype"])
        body.outputs = [get(o) for o in self.outs]
        from compiler.passes import optimize
        return optimize(body)

    def close(self) -> None:
        """The body is cut out: a traced value of it used outside (leaked
        through a global or a list) is an error, when the trace uses it and
        (the placeholder has no value any more) if a graph ever runs it."""
        graph = self.ctx.graph
        for h in self.holders:
            graph.attrs(h).pop("value", None)
        closed = getattr(self.ctx, "_loop_body_nodes", None)
        if closed is None:
            closed = self.ctx._loop_body_nodes = {}
            graph.listeners.append(functools.partial(_check_no_leak, graph, closed))
        for n in self.inside:
            closed[n] = self.what


def _check_no_leak(graph: Graph, closed: dict, nid: int) -> None:
    for i in graph.inputs(nid):
        if i in closed:
            raise UnsupportedOperationError(
                f"a value traced inside the body of {closed[i]} is used outside it (by "
                f"{graph.op(nid)}); return it from the body (as part of the carry or of y) "
                "instead of storing it elsewhere")


def _union(*lists: Sequence[int]) -> list[int]:
    out: list[int] = []
    for lst in lists:
        out += [n for n in lst if n not in out]
    return out


def _tracers(ctx: TraceContext, values) -> list:
    return [Tracer(ctx, v.node) for v in values]


def _bool_scalar(ctx: TraceContext, x: Any, what: str, who: str) -> Tracer:
    t = ctx.lift(x)
    if t.size != 1:
        raise ShapeError(f"{what}: {who} must return a scalar, got shape {t.shape}")
    v = t.value
    if v.dtype != np.dtype(bool):
        v = O.not_equal(v, 0)
    if v.shape:
        v = O.reshape(v, ())
    return Tracer(ctx, v.node)


# -- fori_loop -------------------------------------------------------------
def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any, *,
              checkpoints: int | None = None) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns ``val``.

    ``lower``/``upper`` may be traced integers (the trip count is then found
    at run time). ``checkpoints=k`` keeps k carries for the reverse sweep and
    recomputes the others (binomial checkpointing); by default every carry is
    kept.

    >>> fori_loop(0, 3, lambda i, x: x * 2.0, 1.0)
    8.0
    """
    what = f"fori_loop(body_fun={_name(body_fun)})"
    checkpoints = _checkpoints(checkpoints, what)
    index_dtype = np.result_type(*[_leaf_type(b)[1] for b in (lower, upper)])
    if index_dtype.kind not in "iu":
        raise TypeError(f"{what}: lower and upper must be integers, got {index_dtype}")
    init_leaves, tree = pytree.flatten(init_val)
    types = [_leaf_type(x) for x in init_leaves]
    ctx = _context(lower, upper, init_val)
    if ctx is None:
        val = init_val
        for i in range(int(lower), int(upper)):
            val = body_fun(index_dtype.type(i), val)
            leaves, t = pytree.flatten(val)
            _check_same(what, "body_fun", tree, types, t, [_leaf_type(x) for x in leaves])
        return val

    graph = ctx.graph
    carry = [ctx.lift(x) for x in init_leaves]
    lo = ctx.lift(lower)
    if lo.dtype != index_dtype or lo.shape != ():
        lo = Tracer(ctx, O.cast(O.reshape(lo.value, ()), index_dtype).node)

    def step(holders):
        i, leaves = holders[0], holders[1:]
        out_leaves, t = pytree.flatten(body_fun(i, pytree.unflatten(tree, leaves)))
        outs = [ctx.lift(x) for x in out_leaves]
        _check_same(what, "body_fun", tree, types, t, [(x.shape, x.dtype) for x in outs])
        return [i + 1] + outs

    start = [lo.concrete] + [c.concrete for c in carry]
    body = _Body(ctx, step, start, what, "body_fun")
    static = not isinstance(lower, Tracer) and not isinstance(upper, Tracer)
    if static:
        caps = body.captures
        outs = O.loop(graph, [lo.value] + [c.value for c in carry], [],
                      [Tracer(ctx, n).value for n in caps], body=body.cut(caps),
                      length=max(int(upper) - int(lower), 0), checkpoints=checkpoints, name=what)
    else:
        hi = ctx.lift(upper)
        test = _Body(ctx, lambda h: [_bool_scalar(ctx, h[0] < hi, what, "the bound")], start,
                     what, "the bound")
        caps = _union(body.captures, test.captures)
        outs = O.loop(graph, [lo.value] + [c.value for c in carry], [],
                      [Tracer(ctx, n).value for n in caps], body=body.cut(caps),
                      cond=test.cut(caps), checkpoints=checkpoints, name=what,
                      max_iterations=None)
        test.close()
    body.close()
    return pytree.unflatten(tree, _tracers(ctx, outs[1:1 + len(carry)]))


# -- while_loop ------------------------------------------------------------
def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any, *,
               checkpoints: int | None = None) -> Any:
    """``while cond_fun(val): val = body_fun(val)``; returns ``val``.

    Differentiable in reverse mode: the forward sweep records the carries
    (``checkpoints=k``: k of them, recomputing the rest) and the adjoint runs
    back over as many steps as the forward run took. The trip count itself is
    piecewise constant (derivative zero), as for Python control flow. A loop
    running more than ``sg.config.max_loop_iterations`` steps raises
    LoopLimitError.

    >>> while_loop(lambda x: x < 10, lambda x: x * 2, 1)
    16
    """
    what = f"while_loop(body_fun={_name(body_fun)})"
    checkpoints = _checkpoints(checkpoints, what)
    limit = config.max_loop_iterations
    init_leaves, tree = pytree.flatten(init_val)
    types = [_leaf_type(x) for x in init_leaves]
    ctx = _context(init_val)
    if ctx is None:
        val, n = init_val, 0
        while cond_fun(val):
            if limit is not None and n >= limit:
                raise LoopLimitError(f"{what}: more than {limit} iterations "
                                     "(sg.config.max_loop_iterations)")
            val = body_fun(val)
            leaves, t = pytree.flatten(val)
            _check_same(what, "body_fun", tree, types, t, [_leaf_type(x) for x in leaves])
            n += 1
        return val

    graph = ctx.graph
    carry = [ctx.lift(x) for x in init_leaves]

    def step(holders):
        out_leaves, t = pytree.flatten(body_fun(pytree.unflatten(tree, holders)))
        outs = [ctx.lift(x) for x in out_leaves]
        _check_same(what, "body_fun", tree, types, t, [(x.shape, x.dtype) for x in outs])
        return outs

    def test_fn(holders):
        return [_bool_scalar(ctx, cond_fun(pytree.unflatten(tree, holders)), what, "cond_fun")]

    start = [c.concrete for c in carry]
    body = _Body(ctx, step, start, what, "body_fun")
    test = _Body(ctx, test_fn, start, what, "cond_fun")
    caps = _union(body.captures, test.captures)
    outs = O.loop(graph, [c.value for c in carry], [], [Tracer(ctx, n).value for n in caps],
                  body=body.cut(caps), cond=test.cut(caps), checkpoints=checkpoints, name=what,
                  max_iterations=limit)
    body.close()
    test.close()
    return pytree.unflatten(tree, _tracers(ctx, outs[:len(carry)]))


# -- scan ------------------------------------------------------------------
def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, *, checkpoints: int | None = None) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    ``(carry, ys)`` with the ys stacked along a new leading axis.

    ``xs`` is a pytree of arrays of one leading length (or None, then
    ``length`` gives the trip count and ``x`` is None); ``reverse=True`` scans
    from the end (``ys[t]`` still pairs with ``xs[t]``).

    >>> scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
    (np.float64(6.0), array([0., 2., 9.]))
    """
    what = f"scan(f={_name(f)})"
    checkpoints = _checkpoints(checkpoints, what)
    x_leaves, x_tree = pytree.flatten(xs)
    x_leaves = [np.asarray(x) if isinstance(x, list) else x for x in x_leaves]
    x_types = [_leaf_type(x) for x in x_leaves]
    for k, t in enumerate(x_types):
        if not t[0]:
            raise ShapeError(f"{what}: xs leaf {k} is a scalar; scan needs a leading axis")
    lengths = sorted({t[0][0] for t in x_types} | ({int(length)} if length is not None else set()))
    if len(lengths) > 1:
        raise ShapeError(f"{what}: xs leaves and length disagree on the trip count: {lengths} "
                         f"(xs shapes {[t[0] for t in x_types]}, length={length})")
    if not lengths:
        raise TypeError(f"{what}: give xs or length")
    n = lengths[0]
    init_leaves, tree = pytree.flatten(init)
    types = [_leaf_type(x) for x in init_leaves]
    slice_types = [(t[0][1:], t[1]) for t in x_types]
    ctx = _context(init, xs)
    order = range(n - 1, -1, -1) if reverse else range(n)

    def split(out):
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{what}: f must return a pair (carry, y), got "
                            f"{type(out).__name__}")
        return out

    if ctx is None:
        carry, ys = init, [None] * n
        for t in order:
            x = pytree.unflatten(x_tree, [x[t] for x in x_leaves])
            carry, y = split(f(carry, x))
            leaves, tr = pytree.flatten(carry)
            _check_same(what, "f", tree, types, tr, [_leaf_type(c) for c in leaves])
            ys[t] = y
        if n == 0:  # the shapes of y: f once on zeros, as a trace would find them
            zero_x = pytree.unflatten(x_tree, [np.zeros(*t) for t in slice_types])
            _, y = split(f(init, zero_x))
            y_leaves, y_tree = pytree.flatten(y)
            return carry, pytree.unflatten(
                y_tree, [np.zeros((0,) + _leaf_type(v)[0], _leaf_type(v)[1]) for v in y_leaves])
        y_tree = pytree.flatten(ys[0])[1]
        per_step = []
        for t, y in enumerate(ys):
            leaves, tr = pytree.flatten(y)
            _check_same(what, "f", y_tree, [_leaf_type(v) for v in pytree.flatten(ys[0])[0]],
                        tr, [_leaf_type(v) for v in leaves], role="y")
            per_step.append(leaves)
        stacked = [np.stack([np.asarray(step[k]) for step in per_step])
                   for k in range(len(per_step[0]))]
        return carry, pytree.unflatten(y_tree, stacked)

    graph = ctx.graph
    carry = [ctx.lift(c) for c in init_leaves]
    scanned = [ctx.lift(x) for x in x_leaves]
    nc = len(carry)
    y_tree_box: list = []

    def step(holders):
        c, x = holders[:nc], holders[nc:]
        new_carry, y = split(f(pytree.unflatten(tree, c), pytree.unflatten(x_tree, x)))
        c_leaves, tr = pytree.flatten(new_carry)
        c_outs = [ctx.lift(v) for v in c_leaves]
        _check_same(what, "f", tree, types, tr, [(v.shape, v.dtype) for v in c_outs])
        y_leaves, y_tree = pytree.flatten(y)
        y_tree_box.append(y_tree)
        return c_outs + [ctx.lift(v) for v in y_leaves]

    first = [c.concrete for c in carry] + [
        x.concrete[0] if n else np.zeros(*t) for x, t in zip(scanned, slice_types)]
    body = _Body(ctx, step, first, what, "f")
    caps = body.captures
    outs = O.loop(graph, [c.value for c in carry], [x.value for x in scanned],
                  [Tracer(ctx, k).value for k in caps], body=body.cut(caps), length=n,
                  reverse=reverse, checkpoints=checkpoints, name=what)
    body.close()
    outs = _tracers(ctx, outs)
    return pytree.unflatten(tree, outs[:nc]), pytree.unflatten(y_tree_box[0], outs[nc:])


# -- cond ------------------------------------------------------------------
def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``.

    Under a transform both branches are traced (and must return the same
    structure, shapes and dtypes) but only the taken one runs; its
    derivative is the taken branch's.

    >>> cond(True, lambda x: x + 1.0, lambda x: x - 1.0, 1.0)
    2.0
    """
    names = (f"true_fun={_name(true_fun)}", f"false_fun={_name(false_fun)}")
    what = "cond"
    ctx = _context(pred, operands)
    if ctx is None:
        if np.size(pred) != 1:
            raise ShapeError(f"cond: pred must be a scalar, got shape {np.shape(pred)}")
        return true_fun(*operands) if bool(np.asarray(pred).reshape(())) else \
            false_fun(*operands)

    graph = ctx.graph
    leaves, tree = pytree.flatten(operands)
    ops_ = [ctx.lift(x) for x in leaves]
    out_trees: list = []

    def branch(fun):
        def fn(holders):
            out = fun(*pytree.unflatten(tree, holders))
            out_leaves, t = pytree.flatten(out)
            out_trees.append(t)
            return [ctx.lift(v) for v in out_leaves]
        return fn

    start = [x.concrete for x in ops_]
    bodies = [_Body(ctx, branch(fun), start, what, name, hoist=False)
              for fun, name in zip((true_fun, false_fun), names)]
    (true_body, false_body), (t_tree, f_tree) = bodies, out_trees
    types = [[(graph.shape(o), graph.dtype(o)) for o in b.outs] for b in bodies]
    if t_tree != f_tree or types[0] != types[1]:
        raise LoopTypeError(f"cond: the branches return different structures: {names[0]} returns "
                         f"{_show_tree(t_tree)} of {[_show(t) for t in types[0]]}, {names[1]} "
                         f"returns {_show_tree(f_tree)} of {[_show(t) for t in types[1]]}")
    caps = _union(true_body.captures, false_body.captures)
    p = _bool_scalar(ctx, pred, what, "pred")
    outs = O.cond(graph, p.value, [x.value for x in ops_] + [Tracer(ctx, k).value for k in caps],
                  (true_body.cut(caps), false_body.cut(caps)), names)
    for b in bodies:
        b.close()
    return pytree.unflatten(t_tree, _tracers(ctx, outs))

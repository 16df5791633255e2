"""Structured control flow: a loop or a two-way branch is ONE node holding its
body as a sub-graph (a ``Graph`` with its own parameters).

Ops
---
``loop``
    The one loop primitive; ``scan``, ``fori_loop`` and ``while_loop`` are
    all spelled with it. Inputs: the carry leaves, the scanned inputs ``xs``
    (each an array stacked along axis 0, or a :class:`Tape`), the captured
    values (loop invariants the body closes over). Attributes: ``body`` (a
    Graph: ``(carry, x_t, captures) -> (carry, y_t)``), ``cond`` (None, or a
    Graph ``(carry, captures) -> bool``: then the loop runs while it holds and
    takes no xs), ``length`` (the static trip count, or None when it is known
    only at run time: a while loop, or xs that are tapes), ``reverse``
    (iterate t = n-1 .. 0), ``tape_carries`` (also output, per carry leaf, the
    tape of the carries entering each step), ``checkpoints`` (keep k carries
    and recompute the rest, see :class:`Revolve`), ``name`` and
    ``max_iterations`` (a while loop that runs longer raises
    :class:`~compiler.errors.LoopLimitError`).

    The node's value is the tuple of its outputs (dtype object, shape ());
    ``tuple_item`` nodes pick the outputs: the final carry, then the ys (with
    a static length: arrays stacked along axis 0 in index order, as
    ``jax.lax.scan``; otherwise tapes), then the carry tapes.
``cond``
    ``pred ? true_branch(operands, captures) : false_branch(...)``; only the
    taken branch runs.
``tuple_item``
    Output ``index`` of a tuple-valued node.
``tape_add``
    The sum of two tapes, step by step (accumulates tape cotangents).
``placeholder``
    A stand-in for a body's argument while the body is traced in the outer
    graph (``staticgrad/loops.py``); never part of a graph that runs.

Tapes: the dynamic trip count
-----------------------------
Graph values have static shapes, but a while loop's trip count is found at
run time. The per-step values of such a loop (its carries, its ys) are
therefore a *tape*: an opaque value (dtype object, shape ()) holding a
sequence of arrays of one static shape. Only the ops of this module produce
or read tapes; a loop reads a tape as a scanned input, so the adjoint of a
while loop is a reverse loop over the tape of its carries, whose length is the
trip count of the forward run. Cotangents and tangents of tapes are tapes
(or, for a loop of static length, stacked arrays: loops read both).

Derivatives
-----------
VJP of a loop: a forward loop that also outputs its carry tapes, then a
loop running the other way over ``(carry tape, xs, cotangents of ys)``,
carrying the cotangent of the carry and the accumulated cotangents of the
captures; its body is the VJP of the forward body. JVP of a loop: a loop over
``(carry, tangent carry)`` whose body is the JVP of the body. Both are built
from ``loop`` nodes, so they can be differentiated again (``hessian``,
``hvp``). The same holds for ``cond``. Non-differentiable points of the
control flow itself (the trip count, the branch taken) have derivative zero,
as for Python control flow.
"""
from __future__ import annotations

import math
import weakref
from typing import Any, Iterator, Sequence

import numpy as np

import compiler.ops as O
from compiler.errors import LoopLimitError, LoopTypeError, ShapeError, UnsupportedOperationError
from compiler.ir import Graph, Value
from compiler.ops import Op

__all__ = ["Tape", "Revolve", "Parts", "loop", "cond", "tuple_item", "tape_add",
           "add_cotangents", "placeholder", "inline", "revolve_cost", "CONTROL_OPS"]

OBJECT = np.dtype(object)
CONTROL_OPS = ("loop", "cond", "tuple_item", "tape_add", "placeholder")


# -- run-time values ------------------------------------------------------
class Tape:
    """The values of one loop variable at every step, in index order (t = 0 .. n-1).

    No ``__len__``/``__getitem__`` on purpose: NumPy would take it for a
    sequence when it is boxed into a 0-d object array.
    """

    __slots__ = ("items",)

    def __init__(self, items: Sequence[np.ndarray]):
        self.items = list(items)

    def length(self) -> int:
        return len(self.items)

    def at(self, t: int) -> np.ndarray:
        return self.items[t]

    def walk(self, backward: bool) -> Iterator:
        return reversed(self.items) if backward else iter(self.items)

    def __repr__(self) -> str:
        return f"<tape of {len(self.items)} steps>"


class Revolve:
    """The carries of a loop, entering each step, recomputed on demand from the
    initial carry with at most ``snapshots`` more carries kept (binomial
    checkpointing: Griewank and Walther, Algorithm 799 "revolve").

    Walking backwards through ``n`` steps recomputes ``revolve_cost(n, snapshots)``
    steps, the fewest possible with that many snapshots; walking forwards
    recomputes every step once.
    """

    def __init__(self, initial: list, n: int, snapshots: int, advance):
        self.initial = initial          # the carry entering iteration 0
        self.n = n
        self.snapshots = snapshots
        self.advance = advance          # advance(k, carry) -> carry after iteration k
        self.recomputed = 0             # steps run while walking (tests count them)
        self.live = 0                   # snapshots held right now
        self.peak = 0

    def _run(self, carry: list, start: int, stop: int) -> list:
        for k in range(start, stop):
            carry = self.advance(k, carry)
            self.recomputed += 1
        return carry

    def carry_at(self, k: int) -> list:
        """The carry entering iteration k, in any order of requests (a
        higher-order derivative reads a tape out of order): from a grid of
        sqrt(n) carries made on the first request, at most sqrt(n) steps each."""
        grid = getattr(self, "_grid", None)
        if grid is None:
            self._stride = max(1, math.isqrt(self.n))
            grid = self._grid = {}
            carry = self.initial
            for j in range(self.n):
                if j % self._stride == 0:
                    grid[j] = carry
                if j + 1 < self.n:
                    carry = self._run(carry, j, j + 1)
        base = k - k % self._stride
        return self._run(grid[base], base, k)

    def walk(self, backward: bool) -> Iterator[list]:
        """The carries in iteration order (or reversed)."""
        if not backward:
            carry = self.initial
            for k in range(self.n):
                yield carry
                if k + 1 < self.n:
                    carry = self._run(carry, k, k + 1)
            return
        yield from self._reverse(0, self.n, self.initial, self.snapshots)

    def _reverse(self, a: int, b: int, carry_a: list, free: int) -> Iterator[list]:
        # carry_a (the carry entering iteration a) is held by the caller.
        while b - a > 1:
            if free == 0:
                for t in range(b - 1, a - 1, -1):
                    yield self._run(carry_a, a, t)
                return
            m = a + _best_split(b - a, free)
            carry_m = self._run(carry_a, a, m)
            self.live += 1
            self.peak = max(self.peak, self.live)
            yield from self._reverse(m, b, carry_m, free - 1)
            self.live -= 1
            del carry_m
            b = m
        if b - a == 1:
            yield carry_a


def _binomial(s: int, r: int) -> int:
    return math.comb(s + r, s)


def revolve_cost(n: int, snapshots: int) -> int:
    """The fewest steps recomputed to walk back through ``n`` steps from the
    initial carry with ``snapshots`` carries of memory besides it:
    ``r*n - C(s+r, r-1)`` with ``s = snapshots + 1`` and ``r`` the least
    integer with ``C(s+r, r) >= n`` (Griewank's binomial bound, counting the
    initial carry among the s checkpoints)."""
    if n <= 1:
        return 0
    s = snapshots + 1
    r = 0
    while _binomial(s, r) < n:
        r += 1
    return r * n - _binomial(s + 1, r - 1)


def _best_split(n: int, free: int) -> int:
    """Where to put the next snapshot in a walk back through n steps: the m
    minimising m + cost(n - m, free - 1) + cost(m, free). That sum is convex in
    m (each cost is convex in n: its slope r grows by one at each binomial
    boundary), so the first m where it stops decreasing is a minimum."""
    def total(m):
        return m + revolve_cost(n - m, free - 1) + revolve_cost(m, free)
    lo, hi = 1, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if total(mid + 1) < total(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


class CarryTape:
    """One leaf of the carries that a :class:`Revolve` recomputes: a tape whose
    steps are made on demand. Leaves of one loop share their Revolve, so a loop
    reading several of them walks it once."""

    __slots__ = ("source", "leaf", "order")

    def __init__(self, source: Revolve, leaf: int, reverse: bool):
        self.source = source
        self.leaf = leaf
        self.order = reverse        # the loop that made it ran t = n-1 .. 0

    def length(self) -> int:
        return self.source.n

    def at(self, t: int) -> np.ndarray:   # random access (higher-order derivatives)
        k = self.source.n - 1 - t if self.order else t
        return self.source.carry_at(k)[self.leaf]

    def __repr__(self) -> str:
        return f"<checkpointed tape of {self.source.n} steps>"


def _box(value: Any) -> np.ndarray:
    box = np.empty((), dtype=object)
    box[()] = value
    return box


def _unbox(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == OBJECT:
        return value[()]
    return value


def _as_tape(value: Any) -> Any:
    """A Tape, CarryTape or a stacked array (steps along axis 0)."""
    value = _unbox(value)
    return value if isinstance(value, (Tape, CarryTape)) else np.asarray(value)


_RUNNERS: "weakref.WeakKeyDictionary[Graph, Any]" = weakref.WeakKeyDictionary()


def _runner(graph: Graph):
    """The reference interpreter of a body graph, built once per graph."""
    run = _RUNNERS.get(graph)
    if run is None:
        try:
            from compiler.evaluate import Interpreter
        except ImportError:
            from compiler.interpreter import Interpreter
        run = _RUNNERS[graph] = Interpreter(graph)
    return run


def _steps(xs: list, n: int, reverse: bool) -> Iterator[list]:
    """Per step t (in iteration order), the slice t of every scanned input.
    Tapes recomputed by one Revolve are walked once together."""
    order = range(n - 1, -1, -1) if reverse else range(n)
    walkers, where, arrays = [], [], []
    sources: dict[int, int] = {}
    for x in xs:
        if isinstance(x, np.ndarray):
            where.append(None)
            arrays.append(x)
            continue
        if isinstance(x, CarryTape):
            key, source, backward = id(x.source), x.source, reverse != x.order
        else:
            key, source, backward = id(x), x, reverse
        if key not in sources:
            sources[key] = len(walkers)
            walkers.append(source.walk(backward))
        where.append((sources[key], x.leaf if isinstance(x, CarryTape) else None))
        arrays.append(None)
    for t in order:
        current = [next(w) for w in walkers]
        yield [a[t] if w is None else (current[w[0]] if w[1] is None else current[w[0]][w[1]])
               for a, w in zip(arrays, where)]


def _length(xs: list, name: str) -> int:
    lengths = {x.length() if not isinstance(x, np.ndarray) else x.shape[0] for x in xs}
    if len(lengths) != 1:
        raise ShapeError(f"{name}: scanned inputs of different lengths {sorted(lengths)}")
    return lengths.pop()


# -- the loop op -----------------------------------------------------------
def _loop_impl(*args, body, cond, n_carry, n_xs, length, reverse, tape_carries, checkpoints,
               name, max_iterations):
    carry = [np.asarray(a) for a in args[:n_carry]]
    xs = [_as_tape(x) for x in args[n_carry:n_carry + n_xs]]
    caps = list(args[n_carry + n_xs:])
    run = _runner(body)
    n_ys = len(body.outputs) - n_carry
    ys: list[list] = [[] for _ in range(n_ys)]
    taped: list | None = [] if tape_carries and not checkpoints else None
    initial = carry
    if cond is None:
        n = length if length is not None else _length(xs, name)
        for x_t in _steps(xs, n, reverse):
            if taped is not None:
                taped.append(carry)
            outs = run(*carry, *x_t, *caps)
            carry = outs[:n_carry]
            for j in range(n_ys):
                ys[j].append(outs[n_carry + j])
    else:
        test = _runner(cond)
        n = 0
        while test(*carry, *caps)[0]:
            if max_iterations is not None and n >= max_iterations:
                raise LoopLimitError(f"{name}: more than {max_iterations} iterations "
                                     "(sg.config.max_loop_iterations)")
            if taped is not None:
                taped.append(carry)
            outs = run(*carry, *caps)
            carry = outs[:n_carry]
            for j in range(n_ys):
                ys[j].append(outs[n_carry + j])
            n += 1
    if reverse:  # index order: step t at position t
        ys = [list(reversed(y)) for y in ys]
        if taped is not None:
            taped.reverse()
    results = list(carry)
    for j, y in enumerate(ys):
        if length is None:
            results.append(_box(Tape(y)))
        else:
            out = body.outputs[n_carry + j]
            results.append(np.stack(y) if y else
                           np.zeros((0,) + body.shape(out), body.dtype(out)))
    if tape_carries:
        if taped is not None:
            results += [_box(Tape([c[i] for c in taped])) for i in range(n_carry)]
        else:
            source = Revolve(initial, n, int(checkpoints), _advance(body, n_carry, xs, caps,
                                                                    n, reverse))
            results += [_box(CarryTape(source, i, reverse)) for i in range(n_carry)]
    return _box(tuple(results))


def _advance(body: Graph, n_carry: int, xs: list, caps: list, n: int, reverse: bool):
    """The step function a Revolve recomputes with: iteration k -> next carry."""
    run = _runner(body)

    def at(x, t):
        return x[t] if isinstance(x, np.ndarray) else x.at(t)

    def advance(k: int, carry: list) -> list:
        t = n - 1 - k if reverse else k
        return run(*carry, *[at(x, t) for x in xs], *caps)[:n_carry]
    return advance


def _object_type(shapes, dtypes, attrs):
    return (), OBJECT


def _item_infer(shapes, dtypes, attrs):
    return attrs["shape"], attrs["dtype"]


LOOP = Op("loop", _loop_impl, infer=_object_type, cost=100)
TUPLE_ITEM = Op("tuple_item", lambda t, index, shape, dtype: _item_of(t, index),
                infer=_item_infer, cost=0,
                canon=lambda s, d, a: dict(a, shape=tuple(a["shape"]), dtype=np.dtype(a["dtype"])))


def _item_of(t, index):
    value = _unbox(t)[index]
    return _box(value) if isinstance(value, (Tape, CarryTape)) else value


def _tape_add_impl(a, b):
    a, b = _as_tape(a), _as_tape(b)
    n = a.shape[0] if isinstance(a, np.ndarray) else a.length()
    steps = list(_steps([a, b], n, False))
    return _box(Tape([x + y for x, y in steps]))


def _tape_add_jvp(tangents, out, a, b):
    ta, tb = tangents
    return ta if tb is None else tb if ta is None else tape_add(ta, tb)


TAPE_ADD = Op("tape_add", _tape_add_impl, infer=_object_type, vjp=lambda g, out, a, b: (g, g),
              jvp=_tape_add_jvp)
PLACEHOLDER = Op("placeholder", lambda **attrs: _placeholder_value(attrs),
                 infer=lambda s, d, a: (a["shape"], a["dtype"]), differentiable=False)


def _placeholder_value(attrs):
    if "value" not in attrs:
        raise UnsupportedOperationError(
            f"a value traced inside the body of {attrs.get('owner', 'a loop')} is used outside "
            "it; return it from the body (as part of the carry or of y) instead")
    return attrs["value"]


def placeholder(graph: Graph, value: np.ndarray) -> Value:
    """A stand-in for a body's argument while the body is traced in the outer
    graph (its concrete value is the first step's); replaced by a parameter
    when the body is cut out (see ``staticgrad.loops``)."""
    value = np.asarray(value)
    return Value(graph, graph.add("placeholder", (), {"value": value, "shape": value.shape,
                                                      "dtype": value.dtype}))


def tuple_item(t: Value, index: int, shape, dtype) -> Value:
    return TUPLE_ITEM(t, index=int(index), shape=tuple(shape), dtype=np.dtype(dtype))


def tape_add(a: Value, b: Value) -> Value:
    return TAPE_ADD(a, b)


class Parts(dict):
    """The cotangent (or tangent) of a tuple-valued node: output index -> Value."""

    def __add__(self, other: "Parts") -> "Parts":
        merged = Parts(self)
        for k, v in other.items():
            merged[k] = add_cotangents(merged[k], v) if k in merged else v
        return merged


def add_cotangents(a, b):
    """a + b for cotangents: Values, tapes (summed step by step) or Parts."""
    if isinstance(a, Parts):
        return a + b
    if a.dtype == OBJECT or b.dtype == OBJECT:
        return tape_add(a, b)
    return a + b


def _types(graph: Graph, nodes) -> list[tuple]:
    return [(graph.shape(n), graph.dtype(n)) for n in nodes]


def _show(t) -> str:
    return "tape" if t[1] == OBJECT else f"{t[0]} {t[1]}"


def loop(graph: Graph, carry: Sequence[Value], xs: Sequence[Value], caps: Sequence[Value], *,
         body: Graph, cond: Graph | None = None, length: int | None = None,
         reverse: bool = False, tape_carries: bool = False, checkpoints: int | None = None,
         name: str = "loop", max_iterations: int | None = None) -> list[Value]:
    """Add a loop node; return its outputs (final carry, ys, carry tapes)."""
    carry, xs, caps = list(carry), list(xs), list(caps)
    nc, nx = len(carry), len(xs)
    if cond is not None and (xs or length is not None):
        raise UnsupportedOperationError(f"{name}: a while loop scans no inputs")
    if len(body.params) != nc + nx + len(caps) or len(body.outputs) < nc:
        raise ShapeError(f"{name}: the body takes {len(body.params)} arguments and returns "
                         f"{len(body.outputs)} values, for {nc} carries, {nx} scanned inputs "
                         f"and {len(caps)} captured values")
    params = _types(body, body.params)
    for k, (v, p) in enumerate(zip(carry + caps, params[:nc] + params[nc + nx:])):
        if (v.shape, v.dtype) != p:
            raise ShapeError(f"{name}: argument {k} has shape {v.shape} {v.dtype} but the body "
                             f"expects {_show(p)}")
    for k, (c, o) in enumerate(zip(params[:nc], _types(body, body.outputs[:nc]))):
        if c != o:
            raise LoopTypeError(f"{name}: the body changes carry {k} from {_show(c)} to "
                                f"{_show(o)}")
    for k, (x, p) in enumerate(zip(xs, params[nc:nc + nx])):
        if x.dtype == OBJECT:
            continue
        if length is None or x.shape != (length,) + p[0] or x.dtype != p[1]:
            raise ShapeError(f"{name}: scanned input {k} has shape {x.shape} {x.dtype}; "
                             f"expected ({length}, ...) slices of {_show(p)}")
    if cond is not None and (len(cond.params) != nc + len(caps) or len(cond.outputs) != 1
                             or _types(cond, cond.outputs)[0] != ((), np.dtype(bool))):
        raise ShapeError(f"{name}: the condition must take the carry and captured values "
                         "and return a boolean scalar")
    attrs = dict(body=body, cond=cond, n_carry=nc, n_xs=nx, length=length,
                 reverse=bool(reverse), tape_carries=bool(tape_carries),
                 checkpoints=None if checkpoints is None else int(checkpoints), name=name,
                 max_iterations=max_iterations)
    node = Value(graph, graph.add("loop", [v.node for v in carry + xs + caps], attrs))
    out_types = _types(body, body.outputs[:nc])
    for s, d in _types(body, body.outputs[nc:]):
        out_types.append(((length,) + s, d) if length is not None else ((), OBJECT))
    if tape_carries:
        out_types += [((), OBJECT)] * nc
    return [tuple_item(node, k, s, d) for k, (s, d) in enumerate(out_types)]


# -- building bodies -------------------------------------------------------
def inline(target: Graph, source: Graph, args: Sequence[Value]) -> list[Value]:
    """Copy ``source`` into ``target`` with its parameters bound to ``args``;
    return its outputs there."""
    mapping = {p: a.node for p, a in zip(source.params, args)}
    for nid in source.nodes():
        if nid in mapping:
            continue
        d = source.node(nid)
        if d["op"] == "param":
            raise UnsupportedOperationError("inline: a parameter without an argument")
        mapping[nid] = target._insert(d["op"], tuple(mapping[i] for i in d["inputs"]),
                                      d["attrs"], d["shape"], d["dtype"])
    return [Value(target, mapping[o]) for o in source.outputs]


def _param(graph: Graph, like) -> Value:
    shape, dtype = like
    return graph.param(shape, dtype)


def _finish(graph: Graph, outputs: Sequence[Value]) -> Graph:
    from compiler.passes import optimize
    graph.outputs = [v.node for v in outputs]
    return optimize(graph)


def _is_float(t) -> bool:
    return t[1].kind in "fc"


def _zeros(graph: Graph, t) -> Value:
    return O.full(graph, t[0], 0, t[1])


def _grad_or_zeros(ct, graph, t):
    return ct if ct is not None else _zeros(graph, t)


# -- loop VJP --------------------------------------------------------------
def _loop_vjp(g, out, *inputs, body, cond, n_carry, n_xs, length, reverse, tape_carries,
              checkpoints, name, max_iterations):
    from compiler import autodiff

    g = g if isinstance(g, dict) else {}
    graph = out.graph
    nc, nx = n_carry, n_xs
    n_ys = len(body.outputs) - nc
    carry_in, xs_in, caps = list(inputs[:nc]), list(inputs[nc:nc + nx]), list(inputs[nc + nx:])
    attrs = dict(body=body, cond=cond, length=length, reverse=reverse,
                 checkpoints=checkpoints, name=name, max_iterations=max_iterations)
    ptypes = _types(body, body.params)
    ctypes, xtypes, ktypes = ptypes[:nc], ptypes[nc:nc + nx], ptypes[nc + nx:]
    ytypes = _types(body, body.outputs[nc:])
    fc = [i for i in range(nc) if _is_float(ctypes[i])]
    fx = [j for j in range(nx) if _is_float(xtypes[j])]
    fk = [j for j in range(len(caps)) if _is_float(ktypes[j])]
    ct_carry = {i: g[i] for i in fc if g.get(i) is not None}
    ct_ys = {j: g[nc + j] for j in range(n_ys) if g.get(nc + j) is not None
             and _is_float(ytypes[j])}
    ct_tapes = {i: g[nc + n_ys + i] for i in fc if tape_carries and g.get(nc + n_ys + i)
                is not None}
    if not (ct_carry or ct_ys or ct_tapes):
        return (None,) * len(inputs)

    # The forward sweep, keeping the carry entering every step.
    if tape_carries:
        tapes = [tuple_item(out, nc + n_ys + i, (), OBJECT) for i in range(nc)]
    else:
        tapes = loop(graph, carry_in, xs_in, caps, tape_carries=True, **attrs)[nc + n_ys:]

    # The adjoint body: (lambda, acc | c_t, x_t, ct_y_t, ct_tape_t | caps)
    #   -> (lambda', acc' | ct_x_t)
    adj = Graph()
    lam = [_param(adj, ctypes[i]) for i in fc]
    acc = [_param(adj, ktypes[j]) for j in fk]
    c_t = [_param(adj, t) for t in ctypes]
    x_t = [_param(adj, t) for t in xtypes]
    cty = {j: _param(adj, ytypes[j]) for j in ct_ys}
    ctt = {i: _param(adj, ctypes[i]) for i in ct_tapes}
    k_ = [_param(adj, t) for t in ktypes]
    outs = inline(adj, body, c_t + x_t + k_)
    seeds = [(outs[i], lam[n]) for n, i in enumerate(fc)] + [(outs[nc + j], cty[j]) for j in cty]
    wrt = [c_t[i] for i in fc] + [x_t[j] for j in fx] + [k_[j] for j in fk]
    grads = autodiff.vjp(adj, [o.node for o, _ in seeds], [s for _, s in seeds],
                         [w.node for w in wrt])
    g_c, g_x, g_k = grads[:len(fc)], grads[len(fc):len(fc) + len(fx)], grads[len(fc) + len(fx):]
    new_lam = []
    for n, i in enumerate(fc):
        v = _grad_or_zeros(g_c[n], adj, ctypes[i])
        new_lam.append(v + ctt[i] if i in ctt else v)
    new_acc = [a + gk if gk is not None else a for a, gk in zip(acc, g_k)]
    ct_x = [_grad_or_zeros(gx, adj, xtypes[j]) for gx, j in zip(g_x, fx)]
    adj = _finish(adj, new_lam + new_acc + ct_x)
    # (the parameters were made in the reverse loop's layout: carry = (lam, acc),
    # scanned = (c_t, x_t, ct_y_t, ct_tape_t), captured = caps)

    init = [ct_carry.get(i, None) for i in fc]
    init = [c if c is not None else _zeros(graph, ctypes[i]) for c, i in zip(init, fc)]
    init += [_zeros(graph, ktypes[j]) for j in fk]
    scanned = tapes + xs_in + list(ct_ys.values()) + list(ct_tapes.values())
    rev = loop(graph, init, scanned, caps, body=adj, length=length, reverse=not reverse,
               checkpoints=checkpoints, name=f"adjoint of {name}")
    lam0, acc_k, ct_xs = rev[:len(fc)], rev[len(fc):len(fc) + len(fk)], rev[len(fc) + len(fk):]
    result: list = [None] * len(inputs)
    for i, v in zip(fc, lam0):
        result[i] = v
    for j, v in zip(fx, ct_xs):
        result[nc + j] = v
    for j, v in zip(fk, acc_k):
        result[nc + nx + j] = v
    return tuple(result)




# -- loop JVP --------------------------------------------------------------
def _loop_jvp(tangents, out, *inputs, body, cond, n_carry, n_xs, length, reverse,
              tape_carries, checkpoints, name, max_iterations):
    from compiler import autodiff

    graph = out.graph
    nc, nx = n_carry, n_xs
    n_ys = len(body.outputs) - nc
    carry_in, xs_in, caps = list(inputs[:nc]), list(inputs[nc:nc + nx]), list(inputs[nc + nx:])
    t_c, t_x, t_k = tangents[:nc], tangents[nc:nc + nx], tangents[nc + nx:]
    ptypes = _types(body, body.params)
    ctypes, xtypes, ktypes = ptypes[:nc], ptypes[nc:nc + nx], ptypes[nc + nx:]
    ytypes = _types(body, body.outputs[nc:])
    fc = [i for i in range(nc) if _is_float(ctypes[i])]
    fy = [j for j in range(n_ys) if _is_float(ytypes[j])]
    tx = [j for j in range(nx) if t_x[j] is not None and _is_float(xtypes[j])]
    tk = [j for j in range(len(caps)) if t_k[j] is not None and _is_float(ktypes[j])]

    jb = Graph()
    c = [_param(jb, t) for t in ctypes]
    dc = [_param(jb, ctypes[i]) for i in fc]
    x = [_param(jb, t) for t in xtypes]
    dx = [_param(jb, xtypes[j]) for j in tx]
    k = [_param(jb, t) for t in ktypes]
    dk = [_param(jb, ktypes[j]) for j in tk]
    outs = inline(jb, body, c + x + k)
    wrt = [c[i] for i in fc] + [x[j] for j in tx] + [k[j] for j in tk]
    targets = [outs[i] for i in fc] + [outs[nc + j] for j in fy]
    touts = autodiff.jvp(jb, [w.node for w in wrt], dc + dx + dk, [o.node for o in targets])
    t_carry = [_grad_or_zeros(t, jb, ctypes[i]) for t, i in zip(touts[:len(fc)], fc)]
    t_ys = [_grad_or_zeros(t, jb, ytypes[j]) for t, j in zip(touts[len(fc):], fy)]
    jb = _finish(jb, outs[:nc] + t_carry + outs[nc:] + t_ys)

    new_cond = None
    if cond is not None:
        cg = Graph()
        cc = [_param(cg, t) for t in ctypes] + [_param(cg, ctypes[i]) for i in fc]
        ck = [_param(cg, t) for t in ktypes] + [_param(cg, ktypes[j]) for j in tk]
        new_cond = _finish(cg, inline(cg, cond, cc[:nc] + ck[:len(ktypes)]))

    init = carry_in + [t_c[i] if t_c[i] is not None else _zeros(graph, ctypes[i]) for i in fc]
    outs = loop(graph, init, xs_in + [t_x[j] for j in tx], caps + [t_k[j] for j in tk],
                body=jb, cond=new_cond, length=length, reverse=reverse,
                tape_carries=tape_carries, checkpoints=checkpoints, name=name,
                max_iterations=max_iterations)
    ncc = nc + len(fc)
    parts = Parts()
    for n, i in enumerate(fc):
        parts[i] = outs[nc + n]
    for n, j in enumerate(fy):
        parts[nc + j] = outs[ncc + n_ys + n]
    if tape_carries:
        tape_start = ncc + n_ys + len(fy)
        for n, i in enumerate(fc):
            parts[nc + n_ys + i] = outs[tape_start + nc + n]
    return parts


LOOP.vjp_rule = _loop_vjp
LOOP.jvp_rule = _loop_jvp


def _tuple_item_vjp(g, out, t, index, shape, dtype):
    return (Parts({index: g}),)


def _tuple_item_jvp(tangents, out, t, index, shape, dtype):
    parts = tangents[0]
    return None if parts is None else parts.get(index)


TUPLE_ITEM.vjp_rule = _tuple_item_vjp
TUPLE_ITEM.jvp_rule = _tuple_item_jvp


# -- cond ------------------------------------------------------------------
def _cond_impl(pred, *args, branches, names):
    outs = _runner(branches[0] if bool(pred) else branches[1])(*args)
    return _box(tuple(outs))


COND = Op("cond", _cond_impl, infer=_object_type, cost=10)


def cond(graph: Graph, pred: Value, operands: Sequence[Value], branches: tuple,
         names: tuple = ("true_fun", "false_fun")) -> list[Value]:
    """Add a cond node: ``branches[0](*operands)`` if pred else ``branches[1](...)``."""
    operands = list(operands)
    if pred.shape != () or pred.dtype != np.dtype(bool):
        raise ShapeError(f"cond: the predicate must be a boolean scalar, got {pred.shape} "
                         f"{pred.dtype}")
    t0, t1 = (_types(b, b.outputs) for b in branches)
    if t0 != t1:
        raise LoopTypeError(f"cond: {names[0]} returns {[_show(t) for t in t0]} but {names[1]} "
                         f"returns {[_show(t) for t in t1]}")
    for b in branches:
        if _types(b, b.params) != [(v.shape, v.dtype) for v in operands]:
            raise ShapeError("cond: the branches' parameters do not match the operands")
    node = Value(graph, graph.add("cond", [pred.node] + [v.node for v in operands],
                                  dict(branches=tuple(branches), names=tuple(names))))
    return [tuple_item(node, k, s, d) for k, (s, d) in enumerate(t0)]


def _cond_vjp(g, out, pred, *operands, branches, names):
    from compiler import autodiff

    g = g if isinstance(g, dict) else {}
    otypes = _types(branches[0], branches[0].outputs)
    active = [k for k in range(len(otypes)) if g.get(k) is not None and _is_float(otypes[k])]
    ptypes = [(v.shape, v.dtype) for v in operands]
    fp = [j for j, t in enumerate(ptypes) if _is_float(t)]
    if not active or not fp:
        return (None,) * (1 + len(operands))

    def adjoint(vg, ps, cts, outs):
        grads = autodiff.vjp(vg, [outs[k].node for k in active], cts, [ps[j].node for j in fp])
        return [_grad_or_zeros(c, vg, ptypes[j]) for c, j in zip(grads, fp)]

    new = _transform_branches(branches, ptypes, [otypes[k] for k in active], adjoint)
    cts = cond(out.graph, pred, list(operands) + [g[k] for k in active], new,
               tuple(f"adjoint of {n}" for n in names))
    result: list = [None] * (1 + len(operands))
    for j, c in zip(fp, cts):
        result[1 + j] = c
    return tuple(result)


def _transform_branches(branches, ptypes, extra_types, transform):
    """Each branch rebuilt in a graph of its own: parameters of ptypes then of
    extra_types (cotangents or tangents), the branch inlined on the first,
    and as outputs what transform(graph, params, extras, branch outputs) returns."""
    new = []
    for b in branches:
        h = Graph()
        ps = [_param(h, t) for t in ptypes]
        extras = [_param(h, t) for t in extra_types]
        outs = inline(h, b, ps)
        new.append(_finish(h, transform(h, ps, extras, outs)))
    return tuple(new)


def _cond_jvp(tangents, out, pred, *operands, branches, names):
    from compiler import autodiff

    ptypes = [(v.shape, v.dtype) for v in operands]
    tp = [j for j, t in enumerate(tangents[1:]) if t is not None and _is_float(ptypes[j])]
    otypes = _types(branches[0], branches[0].outputs)
    fo = [k for k, t in enumerate(otypes) if _is_float(t)]
    if not tp:
        return None

    def tangent(jg, ps, ts, outs):
        touts = autodiff.jvp(jg, [ps[j].node for j in tp], ts, [outs[k].node for k in fo])
        return [_grad_or_zeros(t, jg, otypes[k]) for t, k in zip(touts, fo)]

    new = _transform_branches(branches, ptypes, [ptypes[j] for j in tp], tangent)
    touts = cond(out.graph, pred, list(operands) + [tangents[1 + j] for j in tp], new,
                 tuple(f"tangent of {n}" for n in names))
    return Parts({k: t for k, t in zip(fo, touts)})


COND.vjp_rule = _cond_vjp
COND.jvp_rule = _cond_jvp


# -- Numba lowering ----------------------------------------------------------
# In a kernel, a tape is an array with the steps along a new leading axis (the
# stacked ys of a static-length loop already are one), and a tuple-valued
# node is a set of plain variables, ``<node>_out<k>``, that tuple_item reads.
# The body (and a while loop's condition) is generated as a function of the
# kernel's module (``n.function``); a loop body of moderate size is written
# into the loop in place of its call (``n.call``: Numba then compiles one
# function fewer). Small arrays (a 3-vector state) travel as their elements:
# a carry of three floats is three scalar variables. Larger ones are whole
# arrays the body writes into arrays the loop passes: two per carry, swapped
# every step, and a y's own row of the stacked ys. Either way a step
# allocates nothing.
#
# A checkpointed tape (``tape_carries`` with ``checkpoints=k``) stores nothing:
# in a kernel it is only its step count. The loop scanning it backwards (the
# adjoint) finds the loop that made it (``n.producer``: the graph already
# says which, so the VJP rule needs nothing extra) and recomputes its carries
# from that loop's initial carry, scanned inputs and captured values with that
# loop's body, keeping at most k more carries in a (k + 1, ...) snapshot
# array, along the revolve schedule of ``compiler/codegen/revolve.py``, made
# at run time from the trip count: the interpreter's ``Revolve``, step for
# step. Reading such a tape forwards, or a tape recomputed from another one
# (reverse over reverse: ``hessian``), is not compiled: the function then runs
# on the interpreter, with a warning.
def _empty(shape, dtype, steps: str | None = None) -> str:
    from compiler.ops.lowering import np_dtype

    dims = ([steps] if steps is not None else []) + [str(d) for d in shape]
    return f"np.empty(({', '.join(dims)},), {np_dtype(dtype)})"


def _at(*parts) -> str:
    return ", ".join(str(p) for p in parts if p != "")


def _elements(shape) -> list:
    return [", ".join(map(str, idx)) for idx in np.ndindex(shape)]


class _Vars:
    """One value in the generated loop: a name, or (split) its elements' names."""

    def __init__(self, n, shape, split, prefix):
        self.split = split
        self.names = [n.fresh(prefix) for _ in _elements(split)] if split else [n.fresh(prefix)]

    def set_from(self, n, source: str, lead: str = "") -> None:
        """Assign from ``source`` (an array; ``lead``: an index before the element's)."""
        if self.split:
            for name, e in zip(self.names, _elements(self.split)):
                n.assign(name, f"{source}[{_at(lead, e)}]")
        else:
            n.assign(self.names[0], f"{source}[{lead}]" if lead else source)

    def store(self, n, target: str, lead: str) -> None:
        if self.split:
            for name, e in zip(self.names, _elements(self.split)):
                n.line(f"{target}[{_at(lead, e)}] = {name}")
        else:
            n.line(f"{target}[{lead}] = {self.names[0]}")

    def as_array(self, n, dtype) -> str:
        if not self.split:
            return self.names[0]
        array = n.fresh("a")
        n.assign(array, _empty(self.split, dtype))
        self.store(n, array, "")
        return array


def _pieces(value: str, split, lead: str = "") -> list:
    """The arguments passing ``value`` (``value[lead]``) to a split or whole parameter."""
    if split:
        return [f"{value}[{_at(lead, e)}]" for e in _elements(split)]
    return [f"{value}[{lead}]" if lead else value]


def _cap_args(n, caps, splits) -> list:
    """The arguments passing captured values to a body: split ones read once,
    before the loop."""
    args = []
    for value, split in zip(caps, splits):
        if split:
            pieces = [n.fresh("k") for _ in _elements(split)]
            for piece, expr in zip(pieces, _pieces(value, split)):
                n.assign(piece, expr)
            args += pieces
        else:
            args.append(value)
    return args


def _tape_source(n, k: int):
    """(the loop node that made input k, the carry leaf) when input k is a
    checkpointed tape of carries, else None."""
    made, index = n.producer(k)
    a = made.attrs
    if made.op != "loop" or index is None or not a["tape_carries"] or a["checkpoints"] is None:
        return None
    first_tape = len(a["body"].outputs)     # the carries, the ys, then the tapes
    return (made, index - first_tape) if index >= first_tape else None


def _refuse_checkpointed(n, positions, what: str) -> None:
    """Only a loop scanning a checkpointed tape knows how to recompute it."""
    if any(_tape_source(n, k) is not None for k in positions):
        raise UnsupportedOperationError(
            f"{what}: the Numba backend compiles a checkpointed tape only as a loop's "
            "scanned input")


class _Recompute:
    """The carries of a checkpointed loop (the *source*) regenerated inside the
    loop that reads its tape backwards: snapshots in a (k + 1, ...) array per
    carry leaf (slot 0: the initial carry), and the source's body to advance
    from one."""

    def __init__(self, n, made):
        a = made.attrs
        self.body, self.nc, nx = a["body"], a["n_carry"], a["n_xs"]
        self.reverse, self.k = a["reverse"], a["checkpoints"]
        self.fn = n.function(self.body)
        args = made.args
        self.xs = args[self.nc:self.nc + nx]
        self.ctypes = _types(self.body, self.body.params[:self.nc])
        self.carry = [_Vars(n, s, split, "rc") for (s, _), split
                      in zip(self.ctypes, self.fn.params[:self.nc])]
        self.snaps = [n.fresh("snap") for _ in self.ctypes]
        for snap, init, (s, d) in zip(self.snaps, args[:self.nc], self.ctypes):
            n.assign(snap, _empty(s, d, str(self.k + 1)))
            n.line(f"{snap}[0] = {init}")
        self.caps = _cap_args(n, args[self.nc + nx:], self.fn.params[self.nc + nx:])
        self.x_splits = self.fn.params[self.nc:self.nc + nx]

    def index(self, n, k: str, steps: str) -> str:
        """The position on the tape of the source's iteration k."""
        if not self.reverse:
            return k
        t = n.fresh("t")
        n.assign(t, f"{steps} - 1 - {k}")
        return t

    def load(self, n, slot: str) -> None:
        for c, snap in zip(self.carry, self.snaps):
            c.set_from(n, snap, slot)

    def advance(self, n, k: str, steps: str) -> None:
        t = self.index(n, k, steps)
        carry = [name for c in self.carry for name in c.names]
        xs = [p for x, split in zip(self.xs, self.x_splits) for p in _pieces(x, split, t)]
        outs = _chunks(n.call(self.fn, carry + xs + self.caps), self.fn.outputs)
        for c, pieces in zip(self.carry, outs[:self.nc]):
            for target, p in zip(c.names, pieces):
                n.assign(target, p)

    def keep(self, n, slot: str) -> None:
        for c, snap in zip(self.carry, self.snaps):
            c.store(n, snap, slot)


def _chunks(pieces: list, split_outputs: list) -> list:
    """Per output, its expressions among the returned ``pieces``."""
    out, k = [], 0
    for split in split_outputs:
        count = len(_elements(split)) if split else 1
        out.append(pieces[k:k + count])
        k += count
    return out


def _emit_loop(n):
    a = n.attrs
    body, cond, nc, nx, name = a["body"], a["cond"], a["n_carry"], a["n_xs"], a["name"]
    if a["max_iterations"] is not None:
        raise UnsupportedOperationError(
            f"{name}: the Numba backend does not compile max_loop_iterations")
    args = n.args
    carry_in, xs, caps = args[:nc], args[nc:nc + nx], args[nc + nx:]
    ctypes = _types(body, body.params[:nc])
    ytypes = _types(body, body.outputs[nc:])
    # scanned inputs that are checkpointed tapes: x -> (source, leaf); in a
    # kernel such a tape is only its step count, the carries are recomputed
    checkpointed = {j: found for j in range(nx)
                    if (found := _tape_source(n, nc + j)) is not None}
    _refuse_checkpointed(n, [k for k in range(len(args)) if not nc <= k < nc + nx], name)
    sources: dict = {}
    for j, (made, _) in checkpointed.items():
        sources.setdefault(made.nid, made)
    for made in sources.values():
        if made.attrs["reverse"] == a["reverse"]:
            raise UnsupportedOperationError(
                f"{name}: the Numba backend does not compile a loop reading a checkpointed "
                "tape in the order it was made (a second reverse-mode derivative)")
        if any(_tape_source(made, made.attrs["n_carry"] + j) is not None
               for j in range(made.attrs["n_xs"])):
            raise UnsupportedOperationError(
                f"{name}: the Numba backend does not compile a checkpointed tape recomputed "
                "from another checkpointed tape (a second reverse-mode derivative)")
    if len({made.attrs["checkpoints"] for made in sources.values()}) > 1:
        raise UnsupportedOperationError(
            f"{name}: the Numba backend does not compile a loop reading checkpointed tapes "
            "of different checkpoints=")
    fn = n.function(body, buffers=True, inline=True)
    carry = [_Vars(n, s, split, "c") for (s, _), split in zip(ctypes, fn.params[:nc])]
    for c, init, (shape, _) in zip(carry, carry_in, ctypes):
        # whole arrays are copied: the initial one may be a read-only constant,
        # and Numba types a variable holding both kinds of array as neither
        c.set_from(n, f"np.copy({init})" if shape and not c.split else init)
    # A whole-array carry is double-buffered: the body writes the next carry
    # into the spare array while it reads the current one, then the two swap.
    spare = {}
    for i, (shape, dtype) in enumerate(ctypes):
        if fn.buffers[i]:   # (np.empty as elsewhere: Numba compiles one overload fewer)
            spare[i] = n.fresh("spare")
            n.assign(spare[i], _empty(shape, dtype))
    cap_args = _cap_args(n, caps, fn.params[nc + nx:])
    carry_args = [name_ for c in carry for name_ in c.names]
    ys = [n.fresh("y") for _ in ytypes]
    # a checkpointed tape stores nothing: the loops reading it recompute it
    stored = a["tape_carries"] and a["checkpoints"] is None
    tapes = [n.fresh("tape") for _ in ctypes] if stored else []
    steps = n.fresh("n")
    recompute: dict = {}

    def step(t: str, k: str | None = None) -> None:
        # With the trip count known (k: the step's counter), a whole-array
        # carry's tape row is written by the body itself: the step before
        # writes its result straight into the row of the next step (the last
        # step into the spare array), so only the first row is copied.
        in_rows = set(spare) if k is not None and tapes else set()
        for i, (tape, c) in enumerate(zip(tapes, carry)):
            if i in in_rows:
                with n.branch(f"{k} == 0"):
                    c.store(n, tape, t)
            else:
                c.store(n, tape, t)
        targets = dict(spare)
        for i in in_rows:
            targets[i] = n.fresh("next")
            with n.branch(f"{k} + 1 < {steps}"):
                n.assign(targets[i], f"{tapes[i]}[{t} {'-' if a['reverse'] else '+'} 1]")
            with n.branch(f"{k} + 1 < {steps}", taken=False):
                n.assign(targets[i], spare[i])
        x_args = []
        for j, (x, split) in enumerate(zip(xs, fn.params[nc:nc + nx])):
            if j in checkpointed:   # the source's carry, recomputed (see _reverse_sweep)
                made, leaf = checkpointed[j]
                x_args += recompute[made.nid].carry[leaf].names
            else:
                x_args += _pieces(x, split, t)
        # whole-array ys are written by the body straight into their row
        out_args = [targets[j] if j < nc else f"{ys[j - nc]}[{t}]"
                    for j, buffered in enumerate(fn.buffers) if buffered]
        outs = _chunks(n.call(fn, carry_args + x_args + cap_args + out_args), fn.outputs)
        for i, (c, pieces) in enumerate(zip(carry, outs[:nc])):
            if i in spare and i not in in_rows:
                n.assign(spare[i], c.names[0])
            for target, p in zip(c.names, pieces):
                n.assign(target, p)
        for y, pieces, split, buffered in zip(ys, outs[nc:], fn.outputs[nc:], fn.buffers[nc:]):
            if buffered:
                continue
            if split:
                for e, p in zip(_elements(split), pieces):
                    n.line(f"{y}[{_at(t, e)}] = {p}")
            else:
                n.line(f"{y}[{t}] = {pieces[0]}")

    if cond is None:
        if a["length"] is not None:
            n.assign(steps, str(a["length"]))
        elif checkpointed:
            n.assign(steps, xs[min(checkpointed)])    # the step count the source ran
        else:
            n.assign(steps, f"{xs[0]}.shape[0]")
        for buffer, (s, d) in zip(ys + tapes, ytypes + ctypes):
            n.assign(buffer, _empty(s, d, steps))
        if sources:
            _reverse_sweep(n, sources, recompute, steps, step)
        else:
            k = n.fresh("s")
            with n.range_loop(k, steps):
                t = k
                if a["reverse"]:
                    t = n.fresh("t")
                    n.assign(t, f"{steps} - 1 - {k}")
                step(t, k)
        per_step = ys + tapes
    else:
        # the trip count is found by running: the per-step buffers double as needed
        test = n.function(cond)
        n.assign(steps, "0")
        for buffer, (s, d) in zip(ys + tapes, ytypes + ctypes):
            n.assign(buffer, _empty(s, d, "16"))
        with n.while_loop(f"{test.name}({', '.join(carry_args + cap_args + test.extra)})[0]"):
            for buffer, (s, d) in zip(ys + tapes, ytypes + ctypes):
                with n.branch(f"{steps} == {buffer}.shape[0]"):
                    bigger = n.fresh("grown")
                    n.assign(bigger, _empty(s, d, f"2 * {steps}"))
                    n.line(f"{bigger}[:{steps}] = {buffer}")
                    n.assign(buffer, bigger)
            step(steps)
            n.line(f"{steps} += 1")
        per_step = [f"{b}[:{steps}]" for b in ys + tapes]
    if a["tape_carries"] and not stored:
        per_step += [steps] * nc
    finals = [c.as_array(n, d) for c, (_, d) in zip(carry, ctypes)]
    for k, value in enumerate(finals + per_step):
        n.assign(f"{n.out}_out{k}", value)


def _reverse_sweep(n, sources: dict, recompute: dict, steps: str, step) -> None:
    """The steps of a loop reading checkpointed tapes backwards: a loop over
    the actions of the revolve schedule (``compiler/codegen/revolve.py``),
    shared by every source (one trip count, one k), each action advancing the
    sources' carries from a snapshot, then keeping them in another snapshot or
    taking one step of this loop with them."""
    n.uses_revolve()
    for nid, made in sources.items():
        recompute[nid] = _Recompute(n, made)
    k = next(iter(recompute.values())).k
    state = n.fresh("revolve")
    n.assign(state, f"revolve_start({steps}, {k})")
    with n.while_loop(f"revolve_next({state})"):
        slot, first, last, keep = (n.fresh(p) for p in ("slot", "first", "last", "keep"))
        for q, var in enumerate((slot, first, last, keep)):
            n.assign(var, f"{state}[{q}]")
        for source in recompute.values():
            source.load(n, slot)
        s = n.fresh("s")
        with n.range_loop(s, last, start=first):
            for source in recompute.values():
                source.advance(n, s, steps)
        with n.branch(f"{keep} >= 0"):
            for source in recompute.values():
                source.keep(n, keep)
        with n.branch("", taken=False):
            # this loop's position of the source's iteration `last`
            step(next(iter(recompute.values())).index(n, last, steps))


def _emit_tuple_item(n):
    n.assign(n.out, f"{n.args[0]}_out{n.attrs['index']}")


def _emit_tape_add(n):
    _refuse_checkpointed(n, range(2), "tape_add")
    n.assign(n.out, f"{n.args[0]} + {n.args[1]}")


def _emit_cond(n):
    branches = n.attrs["branches"]
    pred, operands = n.args[0], n.args[1:]
    _refuse_checkpointed(n, range(1, len(n.args)), "cond")
    otypes = _types(branches[0], branches[0].outputs)
    functions = [n.function(b) for b in branches]   # both generated before either branch
    for taken, fn in zip((True, False), functions):
        with n.branch(pred, taken):
            call = [p for v, split in zip(operands, fn.params) for p in _pieces(v, split)]
            outs = _chunks(n.call(fn, call), fn.outputs)
            for k, (pieces, split, (_, d)) in enumerate(zip(outs, fn.outputs, otypes)):
                if split:
                    array = n.fresh("a")
                    n.assign(array, _empty(split, d))
                    for e, p in zip(_elements(split), pieces):
                        n.line(f"{array}[{e}] = {p}")
                    n.assign(f"{n.out}_out{k}", array)
                else:
                    n.assign(f"{n.out}_out{k}", pieces[0])


LOOP.emit = _emit_loop
TUPLE_ITEM.emit = _emit_tuple_item
TAPE_ADD.emit = _emit_tape_add
COND.emit = _emit_cond

"""Reverse mode (adjoint graph) and forward mode (tangent graph).

Both add nodes to the graph they differentiate, using each op's rules, which
are written with Values; the derivative is therefore an ordinary graph and can
be differentiated again. Only the nodes on a path from the chosen inputs to
the chosen outputs are visited (networkx ancestors/descendants).
"""
from __future__ import annotations

from typing import Sequence

import networkx as nx

import compiler.ops as O
from compiler.ir import Graph, Value


def _between(graph: Graph, sources: Sequence[int], sinks: Sequence[int]) -> set[int]:
    down = set(sources)
    for s in sources:
        down |= nx.descendants(graph.nx, s)
    up = set(sinks)
    for s in sinks:
        up |= nx.ancestors(graph.nx, s)
    return down & up


def _differentiable(graph: Graph, nid: int) -> bool:
    # dtype object: a tuple-valued node (loop, cond) or a tape; its cotangent
    # is a compiler.ops.control.Parts or a tape (see compiler/ops/control.py)
    return graph.dtype(nid).kind in "fcO"


def _fit(ct: Value, graph: Graph, nid: int) -> Value:
    """Sum a broadcast cotangent back to the node's shape and match its dtype."""
    if graph.dtype(nid).kind == "O":
        return ct
    if ct.shape != graph.shape(nid):
        ct = O.sum_to(ct, graph.shape(nid))
    if ct.dtype != graph.dtype(nid):
        ct = O.cast(ct, graph.dtype(nid))
    return ct


def vjp(graph: Graph, outputs: Sequence[int], cotangents: Sequence[Value],
        wrt: Sequence[int]) -> list[Value | None]:
    """Cotangents of ``wrt`` given cotangents of ``outputs`` (None: no path)."""
    outputs = [int(o) for o in outputs]
    wrt = [int(w) for w in wrt]
    active = _between(graph, wrt, outputs)
    cts: dict[int, Value] = {}
    for o, c in zip(outputs, cotangents):
        if o in active and _differentiable(graph, o):
            c = _fit(c, graph, o)
            cts[o] = O.add_cotangents(cts[o], c) if o in cts else c
    for nid in sorted(active, reverse=True):
        g = cts.get(nid)
        if g is None:
            continue
        opdef = O.get_op(graph.op(nid))
        inputs = graph.inputs(nid)
        if not opdef.differentiable or not inputs:
            continue
        xs = [Value(graph, i) for i in inputs]
        for i, c in zip(inputs, opdef.vjp(g, Value(graph, nid), xs, graph.attrs(nid))):
            if c is None or i not in active or not _differentiable(graph, i):
                continue
            c = _fit(c, graph, i)
            cts[i] = O.add_cotangents(cts[i], c) if i in cts else c
    return [cts.get(w) for w in wrt]


def jvp(graph: Graph, wrt: Sequence[int], tangents: Sequence[Value | None],
        outputs: Sequence[int]) -> list[Value | None]:
    """Tangents of ``outputs`` given tangents of ``wrt`` (None: zero)."""
    wrt = [int(w) for w in wrt]
    outputs = [int(o) for o in outputs]
    active = _between(graph, wrt, outputs)
    tans: dict[int, Value | None] = {}
    for w, t in zip(wrt, tangents):
        if t is not None and _differentiable(graph, w):
            tans[w] = _fit(t, graph, w) if t.shape == graph.shape(w) else O.broadcast_to(t, graph.shape(w))
    for nid in sorted(active):
        if nid in tans or not _differentiable(graph, nid):
            continue
        inputs = graph.inputs(nid)
        ts = [tans.get(i) for i in inputs]
        if all(t is None for t in ts):
            continue
        opdef = O.get_op(graph.op(nid))
        xs = [Value(graph, i) for i in inputs]
        t = opdef.jvp(ts, Value(graph, nid), xs, graph.attrs(nid))
        if t is not None and graph.dtype(nid).kind == "O":
            tans[nid] = t
        elif t is not None:
            if t.shape != graph.shape(nid):
                t = O.broadcast_to(t, graph.shape(nid))
            if t.dtype != graph.dtype(nid):
                t = O.cast(t, graph.dtype(nid))
            tans[nid] = t
    return [tans.get(o) for o in outputs]

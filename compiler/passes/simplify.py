"""Algebraic simplification and constant folding.

Folding asks about traits only: a node whose inputs are all constants, that
is not an effect and whose result is no larger than its inputs, becomes a
constant. The identities below remove the no-ops autodiff leaves behind
(``x * 1``, ``x + 0``, reshapes to the same shape, ...).
"""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.evaluate import apply
from compiler.ir import Graph
from compiler.passes.copy import rebuild


def _scalar_const(g: Graph, nid: int):
    """The scalar a node is filled with, if it is a constant fill."""
    while g.op(nid) == "broadcast_to":
        nid = g.inputs(nid)[0]
    if g.op(nid) == "const":
        v = g.const_value(nid)
        if v.size and np.all(v == v.flat[0]):
            return v.flat[0]
    return None


def _same(g, d, src):
    """src can stand for the node d: same shape and dtype."""
    return src if g.shape(src) == d["shape"] and g.dtype(src) == d["dtype"] else None


def _identities(g: Graph, d: dict, ins: tuple):
    op, attrs = d["op"], d["attrs"]
    if op in ("identity", "stop_gradient"):
        return ins[0]
    if op in ("reshape", "broadcast_to") and g.shape(ins[0]) == d["shape"]:
        return ins[0]
    if op == "reshape" and g.op(ins[0]) == "reshape":
        return g.add("reshape", (g.inputs(ins[0])[0],), attrs)
    if op == "transpose" and attrs["axes"] == tuple(range(len(attrs["axes"]))):
        return ins[0]
    if op == "sum" and not attrs["axes"]:
        return ins[0]
    if op == "cast" and g.dtype(ins[0]) == attrs["dtype"]:
        return ins[0]
    if op == "pow_scalar" and attrs["p"] == 1:
        return _same(g, d, ins[0])
    if op == "neg" and g.op(ins[0]) == "neg":
        return _same(g, d, g.inputs(ins[0])[0])
    if op in ("add", "sub", "mul", "div"):
        a, b = (_scalar_const(g, i) for i in ins)
        if op == "add" and a == 0:
            return _same(g, d, ins[1])
        if op in ("add", "sub") and b == 0:
            return _same(g, d, ins[0])
        if op == "mul" and a == 1:
            return _same(g, d, ins[1])
        if op in ("mul", "div") and b == 1:
            return _same(g, d, ins[0])
    return None


def simplify(graph: Graph) -> Graph:
    def rewrite(new: Graph, nid: int, d: dict, ins: tuple):
        opdef = O.get_op(d["op"])
        # (a tuple-valued node, dtype object, has no constant form: not folded)
        if ins and not opdef.effect and d["dtype"].kind != "O" \
                and all(new.op(i) == "const" for i in ins):
            size = int(np.prod(d["shape"], dtype=np.int64))
            if size <= max(1, max(new.const_value(i).size for i in ins)):
                value = apply(d["op"], [new.const_value(i) for i in ins], d["attrs"])
                return new.const(np.asarray(value, dtype=d["dtype"])).node
        return _identities(new, d, ins)

    return rebuild(graph, rewrite)

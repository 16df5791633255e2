"""Common subexpression elimination: one node per (op, inputs, attrs)."""
from compiler.ir import Graph, attrs_key
from compiler.passes.copy import rebuild


def value_key(op: str, inputs: tuple, attrs: dict, shape: tuple, dtype) -> tuple:
    """What decides a pure node's value: nodes of one key compute the same."""
    return op, tuple(inputs), attrs_key(attrs), tuple(shape), dtype.str


def cse(graph: Graph) -> Graph:
    seen: dict[tuple, int] = {}

    def rewrite(new, nid, d, inputs):
        key = value_key(d["op"], inputs, d["attrs"], d["shape"], d["dtype"])
        if key in seen:
            return seen[key]
        seen[key] = new._insert(d["op"], inputs, d["attrs"], d["shape"], d["dtype"])
        return seen[key]

    return rebuild(graph, rewrite)

"""Common subexpression elimination: one node per (op, inputs, attrs)."""
from compiler.ir import Graph, attrs_key
from compiler.passes.copy import rebuild


def cse(graph: Graph) -> Graph:
    seen: dict[tuple, int] = {}

    def rewrite(new, nid, d, inputs):
        key = (d["op"], inputs, attrs_key(d["attrs"]), d["shape"], d["dtype"].str)
        if key in seen:
            return seen[key]
        seen[key] = new._insert(d["op"], inputs, d["attrs"], d["shape"], d["dtype"])
        return seen[key]

    return rebuild(graph, rewrite)

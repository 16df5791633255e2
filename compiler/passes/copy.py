"""The one graph copier: nodes of one Graph into another, in topological order."""
from __future__ import annotations

from typing import Callable, Iterable

from compiler.ir import Graph

Rewrite = Callable[[Graph, int, dict, tuple], "int | None"]


def copy_nodes(source: Graph, target: Graph, mapping: dict[int, int],
               nodes: Iterable[int] | None = None,
               rewrite: Rewrite | None = None) -> dict[int, int]:
    """Copy ``nodes`` of ``source`` (all of them by default) into ``target``.

    ``mapping`` (source id -> target id) is extended and returned; nodes it
    already holds are not copied, so it substitutes them: a fragment's params
    become the values they are bound to, a cut's inner nodes become params.
    ``rewrite(target, old_id, node_data, new_inputs)`` may return the id of a
    replacement already in ``target``; ``None`` copies the node.
    """
    for nid in (source.nodes() if nodes is None else sorted(nodes)):
        if nid in mapping:
            continue
        d = source.node(nid)
        inputs = tuple(mapping[i] for i in d["inputs"])
        replacement = rewrite(target, nid, d, inputs) if rewrite and d["op"] != "param" else None
        if replacement is None:
            replacement = target._insert(d["op"], inputs, d["attrs"], d["shape"], d["dtype"])
        mapping[nid] = replacement
    return mapping


def rebuild(graph: Graph, rewrite: Rewrite | None = None, keep: set | None = None) -> Graph:
    """A copy of ``graph`` (see copy_nodes for ``rewrite``): the way a pass
    makes its result. Nodes outside ``keep`` (when given) are dropped;
    parameters are always kept."""
    new = Graph()
    nodes = None if keep is None else [n for n in graph.nodes()
                                       if n in keep or graph.op(n) == "param"]
    mapping = copy_nodes(graph, new, {}, nodes, rewrite)
    new.params = [mapping[p] for p in graph.params]
    new.outputs = [mapping[o] for o in graph.outputs]
    return new

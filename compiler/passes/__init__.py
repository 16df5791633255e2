"""Graph -> Graph passes. Each is a pure function: the input graph is never
changed. ``optimize`` runs the standard pipeline."""
from __future__ import annotations

from typing import Callable

from compiler.ir import Graph

Rewrite = Callable[[Graph, int, dict, tuple], "int | None"]


def rebuild(graph: Graph, rewrite: Rewrite | None = None, keep: set | None = None) -> Graph:
    """Copy ``graph`` node by node in topological order.

    ``rewrite(new_graph, old_id, node_data, new_inputs)`` may return the id of
    a replacement already in ``new_graph``; ``None`` copies the node. Nodes
    outside ``keep`` (when given) are dropped; parameters are always kept.
    """
    new = Graph()
    mapping: dict[int, int] = {}
    for nid in graph.nodes():
        d = graph.node(nid)
        if keep is not None and nid not in keep and d["op"] != "param":
            continue
        inputs = tuple(mapping[i] for i in d["inputs"])
        replacement = rewrite(new, nid, d, inputs) if rewrite and d["op"] != "param" else None
        if replacement is None:
            replacement = new._insert(d["op"], inputs, d["attrs"], d["shape"], d["dtype"])
        mapping[nid] = replacement
    new.params = [mapping[p] for p in graph.params]
    new.outputs = [mapping[o] for o in graph.outputs]
    return new


from compiler.passes.cse import cse  # noqa: E402
from compiler.passes.dce import dce  # noqa: E402
from compiler.passes.simplify import simplify  # noqa: E402
from compiler.passes.loops import prune_loops, share_sweeps  # noqa: E402


def optimize(graph: Graph, check: bool = False) -> Graph:
    """simplify -> cse -> share_sweeps -> simplify -> dce -> prune_loops;
    ``check`` lints after every pass."""
    for p in (simplify, cse, share_sweeps, simplify, dce, prune_loops):
        graph = p(graph)
        if check:
            graph.check()
    return graph


__all__ = ["rebuild", "optimize", "simplify", "cse", "dce", "share_sweeps", "prune_loops"]

"""Graph -> Graph passes. Each is a pure function: the input graph is never
changed. ``optimize`` runs the standard pipeline."""
from __future__ import annotations

from compiler.ir import Graph
from compiler.passes.copy import copy_nodes, rebuild
from compiler.passes.cse import cse
from compiler.passes.dce import dce
from compiler.passes.simplify import simplify
from compiler.passes.loops import prune_loops, share_sweeps


def optimize(graph: Graph, check: bool = False) -> Graph:
    """simplify -> cse -> share_sweeps -> simplify -> dce -> prune_loops;
    ``check`` lints after every pass."""
    for p in (simplify, cse, share_sweeps, simplify, dce, prune_loops):
        graph = p(graph)
        if check:
            graph.check()
    return graph


__all__ = ["rebuild", "copy_nodes", "optimize", "simplify", "cse", "dce", "share_sweeps",
           "prune_loops"]

"""Dead code elimination: keep what the outputs and the guards need."""
from compiler.ir import Graph
from compiler.passes.copy import rebuild


def dce(graph: Graph) -> Graph:
    return rebuild(graph, keep=graph.needed())

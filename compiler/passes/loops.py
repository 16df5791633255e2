"""Share forward sweeps: reverse mode adds, beside a loop node, the same loop
with ``tape_carries=True`` (it also records its carries for the adjoint).
Both would run the whole forward loop; the taped one computes everything the
plain one does (its first outputs are the same), so the plain one is replaced
by it and the forward loop runs once."""
from compiler.ir import Graph, attrs_key
from compiler.passes import rebuild


def _key(graph: Graph, nid: int) -> tuple:
    attrs = dict(graph.attrs(nid), tape_carries=None)
    return graph.inputs(nid), attrs_key(attrs)


def share_sweeps(graph: Graph) -> Graph:
    taped = {}
    for nid in graph.nodes():
        if graph.op(nid) == "loop" and graph.attrs(nid)["tape_carries"]:
            taped.setdefault(_key(graph, nid), nid)
    if not taped:
        return graph
    made: dict[int, int] = {}

    def rewrite(new, nid, d, inputs):
        if d["op"] != "loop":
            return None
        source = nid if d["attrs"]["tape_carries"] else taped.get(_key(graph, nid))
        if source is None:
            return None
        if source not in made:
            s = graph.node(source)
            made[source] = new._insert("loop", inputs, s["attrs"], s["shape"], s["dtype"])
        return made[source]

    return rebuild(graph, rewrite)

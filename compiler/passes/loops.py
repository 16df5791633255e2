"""Passes over loop nodes (compiler/ops/control.py).

- ``share_sweeps``: reverse mode adds, beside a loop node, the same loop with
  ``tape_carries=True`` (it also records its carries for the adjoint). Both
  would run the whole forward loop; the taped one computes everything the
  plain one does (its first outputs are the same), so the plain one is
  replaced by it and the forward loop runs once.
- ``prune_loops``: a loop computes only the outputs something reads.
"""
import networkx as nx

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


def _param_ancestors(body: Graph, outputs) -> set:
    """The parameters (as positions) the given outputs of a body depend on."""
    position = {p: k for k, p in enumerate(body.params)}
    found = set()
    for o in outputs:
        for n in nx.ancestors(body.nx, o) | {o}:
            if n in position:
                found.add(position[n])
    return found


def _restrict(body: Graph, params: list, outputs: list) -> Graph:
    """The body with only these parameters (positions) and outputs (nodes)."""
    new = Graph()
    mapping = {body.params[k]: new.param(body.shape(body.params[k]),
                                         body.dtype(body.params[k])).node for k in params}
    for nid in sorted(body.needed(outputs)):
        if nid in mapping:
            continue
        d = body.node(nid)
        mapping[nid] = new._insert(d["op"], tuple(mapping[i] for i in d["inputs"]), d["attrs"],
                                   d["shape"], d["dtype"])
    new.outputs = [mapping[o] for o in outputs]
    return new


def _pruned(graph: Graph, nid: int, used: set):
    """(new attrs, kept inputs, old -> new output index) of a loop node keeping
    only what its used outputs need, or None when everything is needed."""
    attrs = graph.attrs(nid)
    body, cond = attrs["body"], attrs["cond"]
    nc, nx_ = attrs["n_carry"], attrs["n_xs"]
    ny = len(body.outputs) - nc
    taped = attrs["tape_carries"]
    n_in = len(graph.inputs(nid))
    keep_y = [j for j in range(ny) if nc + j in used]
    keep_c = {k for k in range(nc) if k in used or (taped and nc + ny + k in used)}
    cond_needs = set() if cond is None else {
        k if k < nc else k + nx_ for k in _param_ancestors(cond, cond.outputs)}
    while True:  # a carry is kept when a kept output (or the condition) reads it
        outs = [body.outputs[k] for k in sorted(keep_c)] + [body.outputs[nc + j] for j in keep_y]
        needs = _param_ancestors(body, outs) | cond_needs
        grown = keep_c | {k for k in range(nc) if k in needs}
        if grown == keep_c:
            break
        keep_c = grown
    keep_c = sorted(keep_c)
    keep_in = keep_c + [k for k in range(nc, n_in) if k in needs]
    if len(keep_c) == nc and len(keep_y) == ny and len(keep_in) == n_in:
        return None
    new_body = _restrict(body, keep_in, [body.outputs[k] for k in keep_c]
                         + [body.outputs[nc + j] for j in keep_y])
    new_cond = None
    if cond is not None:
        cond_params = [k for k in keep_c] + [k - nx_ for k in keep_in if k >= nc + nx_]
        new_cond = _restrict(cond, cond_params, list(cond.outputs))
    index = {k: n for n, k in enumerate(keep_c)}
    index.update({nc + j: len(keep_c) + n for n, j in enumerate(keep_y)})
    if taped:
        index.update({nc + ny + k: len(keep_c) + len(keep_y) + n for n, k in enumerate(keep_c)})
    new_attrs = dict(attrs, body=new_body, cond=new_cond, n_carry=len(keep_c),
                     n_xs=len([k for k in keep_in if nc <= k < nc + nx_]))
    return new_attrs, keep_in, index


def prune_loops(graph: Graph) -> Graph:
    """Drop the outputs of loop nodes that nothing reads (ys, carries that only
    feed themselves, such as the cotangent of a value not differentiated) and
    the inputs no longer needed, so a loop computes only what is used."""
    needed = graph.needed()
    used: dict[int, set] = {}
    for nid in needed:
        if graph.op(nid) == "tuple_item":
            (src,) = graph.inputs(nid)
            used.setdefault(src, set()).add(graph.attrs(nid)["index"])
    plans = {}
    for nid in needed:
        if graph.op(nid) == "loop":
            plan = _pruned(graph, nid, used.get(nid, set()))
            if plan is not None:
                plans[nid] = plan
    if not plans:
        return graph

    def rewrite(new, nid, d, inputs):
        if nid in plans:
            attrs, keep_in, _ = plans[nid]
            return new._insert("loop", tuple(inputs[k] for k in keep_in), attrs, d["shape"],
                               d["dtype"])
        if d["op"] == "tuple_item" and graph.inputs(nid)[0] in plans:
            index = plans[graph.inputs(nid)[0]][2][d["attrs"]["index"]]
            return new._insert("tuple_item", inputs, dict(d["attrs"], index=index), d["shape"],
                               d["dtype"])
        return None

    return rebuild(graph, rewrite, keep=needed)

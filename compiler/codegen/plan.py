"""The fusion plan: which values are stored, and which loops compute them.

The Numba backend writes one loop nest per *loop group*. Elementwise ops and
the data movement loops can read through (transpose, broadcast, basic
indexing, basic scatter) are expressions evaluated inside the loops of their
consumers; only *stored* values get arrays. A group is a set of stored
values ("roots") over one iteration domain: an elementwise root iterates over
its own shape, a reduction over its operand's shape, accumulating as it goes.
So ``value_and_grad`` of an elementwise chain is one loop that reads each
input once and writes the value and the gradient.

This module decides, from op traits only:

- ``stored(graph, kinds, fuse)``: the values that get arrays. Outputs,
  reductions and statement ops (matmul, concatenate, ...) and their operands
  always do; of the values a consumer broadcasts over a larger domain (where
  they would be recomputed once per element), a minimum cut chooses which to
  store and which to recompute, weighing memory traffic against evaluations
  (``recomputed_or_stored``);
- ``group(...)``: greedy grouping of the roots, in topological order, into
  the latest compatible group of the same domain, else the latest of a
  domain it joins (``join``: the outer trip counts differ by a slice's or a
  pad's edge) that reads an array the root reads too. A root may join a
  group when it reads the group's roots only at the loop index itself (the
  value of this iteration) and none of its reductions (complete only after
  the loop), and no value it reads is computed by a unit that depends on the
  group (the units must stay a DAG). So the value of Rosenbrock's function,
  a sum over n - 1 elements, and its gradient, over n, are one loop that
  reads x once.

It is an analysis, not a Graph -> Graph rewrite: the graph is unchanged, the
plan says how to loop over it, and :mod:`compiler.codegen.source` lowers it
to the loop IR (:mod:`compiler.codegen.loopir`). Loop groups over a few
elements are unrolled there into straight-line scalar code.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import networkx as nx

from compiler.ir import Graph

#: node kinds the planner distinguishes (the code generator assigns them)
SOURCE, ELEMENTWISE, VIEW, REDUCE, STATEMENT = "source", "elementwise", "view", "reduce", "statement"


@dataclasses.dataclass
class LoopGroup:
    """One loop nest over ``domain`` computing ``roots`` (topological order)."""

    domain: tuple
    roots: list


@dataclasses.dataclass
class Plan:
    stored: set
    units: list          # emission order: LoopGroup, RowBlock or a statement node id


#: the cost of reading or writing one element, in the units of ``Op.cost``
#: (1 for a cheap arithmetic op, 4 for a transcendental function)
MEMORY_COST = 1


def stored(graph: Graph, nodes: list, kinds: dict, cost: Callable[[int], int],
           fuse: bool = True) -> set:
    """The values that get arrays (see the module docstring)."""
    keep = set(graph.outputs)
    for n in nodes:
        if kinds[n] in (REDUCE, STATEMENT):
            keep.add(n)
            if kinds[n] == STATEMENT:
                keep.update(graph.inputs(n))
    loopable = [n for n in nodes if kinds[n] in (ELEMENTWISE, VIEW)]
    if not fuse:
        return keep | set(loopable)
    return keep | recomputed_or_stored(graph, loopable, kinds, cost, keep)


def recomputed_or_stored(graph: Graph, loopable: list, kinds: dict,
                         cost: Callable[[int], int], keep: set) -> set:
    """Which values a broadcasting consumer should read from an array rather
    than recompute: a minimum cut, as AOTAutograd's partitioner chooses what
    the backward saves.

    A consumer that broadcasts its operand over a larger domain (an
    elementwise op, or a one-input view such as ``broadcast_to``) evaluates
    the operand, and everything it is computed from that has no array, once
    per element of that domain. The flow network has, for every such value
    m, an edge m_in -> m_out whose capacity is the memory traffic of storing
    m (writing it once, reading it in every element of the larger domain), an
    edge source -> m_in whose capacity is the cost of evaluating m in the
    larger domain (its op's cost, transcendental functions count 4, times
    that domain's size), and edges of infinite capacity from each input's
    m_out to m_in (what is evaluated there needs its inputs there, or read
    from arrays) and from each broadcast operand's m_out to the sink. A
    minimum cut stores the values whose m_in -> m_out it cuts and recomputes
    those left on the sink side. For a chain this stores the cheapest point:
    a value costing more than one cheap op to recompute per element."""
    candidates = set(loopable) - keep

    def size(n):
        return math.prod(graph.shape(n))

    expanded: dict = {}   # operand -> the largest domain a consumer broadcasts it to
    for u in loopable:
        if kinds[u] == VIEW and len(graph.inputs(u)) != 1:
            continue
        for n in graph.inputs(u):
            if n in candidates and size(u) > size(n):
                expanded[n] = max(expanded.get(n, 0), size(u))
    if not expanded:
        return set()
    # the values evaluated in a larger domain unless something between is
    # stored, with that domain's size (node ids are a topological order)
    reach: dict = {}
    for m in sorted(candidates, reverse=True):
        domain = max([expanded.get(m, 0)] + [reach[u] for u in graph.nx.successors(m)
                                              if u in reach])
        if domain:
            reach[m] = domain
    flow = nx.DiGraph()
    for m, domain in reach.items():
        own = cost(m) if kinds[m] == ELEMENTWISE else 0
        flow.add_edge("source", (m, "in"), capacity=own * domain)
        flow.add_edge((m, "in"), (m, "out"), capacity=MEMORY_COST * (size(m) + domain))
        for i in graph.inputs(m):
            if i in reach:
                flow.add_edge((i, "out"), (m, "in"))      # no capacity: infinite
    for n in expanded:
        flow.add_edge((n, "out"), "sink")
    _, (source_side, _) = nx.minimum_cut(flow, "source", "sink")
    return {m for m in reach if (m, "in") in source_side and (m, "out") not in source_side}


#: the most outer iterations by which the domains of one loop nest's roots
#: differ (see ``join``)
EDGE = 16


def join(a: tuple, b: tuple) -> tuple | None:
    """The domain of one loop nest that can compute roots over domains ``a``
    and ``b``, or None.

    Equal domains join. So do domains that differ only in the trip count of
    the outer loop, by at most ``EDGE`` (the edge a slice or a pad trims: the
    value of Rosenbrock sums over ``x[1:] - x[:-1]**2``, n - 1 elements, its
    gradient has n): the nest iterates the larger, and the smaller root's
    statements hold only where the outer index is inside its domain, a
    condition the code generator decides per piece of the outer loop (so the
    pieces stay free of branches; the edge is a short piece). A domain with
    fewer dimensions counts as having trailing ones (a sum over (n,) joins a
    loop over (n, 1)), since its statements then still run once per element."""
    if a == b:
        return a
    if not a or not b:
        return None
    rank = max(len(a), len(b))
    pa, pb = a + (1,) * (rank - len(a)), b + (1,) * (rank - len(b))
    if pa[1:] != pb[1:] or abs(pa[0] - pb[0]) > EDGE:
        return None
    return (max(pa[0], pb[0]),) + pa[1:]


def group(graph: Graph, nodes: list, kinds: dict, keep: set, domain: Callable[[int], tuple],
          reads: Callable[[int], list], canonical: Callable[[tuple], tuple],
          fuse: bool = True) -> list:
    """Group the stored loopable values into loop groups; return the units in
    a topological emission order (LoopGroup or statement node id)."""
    units: list = []
    order = nx.DiGraph()   # unit -> the units that read its values
    unit_of: dict[int, int] = {}
    reading: dict[int, set] = {}   # loop group -> the stored values its roots read

    def new_unit(unit, reads_from) -> int:
        units.append(unit)
        u = len(units) - 1
        order.add_node(u)
        order.add_edges_from((d, u) for d in reads_from)
        return u

    for n in nodes:
        kind = kinds[n]
        if kind == STATEMENT:
            unit_of[n] = new_unit(n, {unit_of[i] for i in graph.inputs(n) if i in unit_of})
            continue
        if n not in keep or kind == SOURCE:
            continue
        dom = domain(n)
        here = canonical(dom)
        read = reads(n)
        read_units = {unit_of[m] for m, _ in read if m in unit_of}
        arrays = {m for m, _ in read if graph.shape(m)}   # (not scalars)

        def joins(u, same: bool) -> bool:
            g = units[u]
            if not isinstance(g, LoopGroup):
                return False
            if g.domain != dom and (same or join(g.domain, dom) is None
                                    or not arrays & reading[u]):
                return False
            # n may join u if it reads u's values only at this iteration,
            # and nothing it reads comes from a unit that depends on u.
            return all((kinds[m] != REDUCE and idx == here) if unit_of.get(m) == u
                       else not (m in unit_of and nx.has_path(order, u, unit_of[m]))
                       for m, idx in read)

        chosen = None
        if fuse:
            # the latest group of the same domain; else the latest of a domain
            # it joins (see join) that reads an array n reads too, so that
            # the array is read once
            chosen = next((u for same in (True, False) for u in range(len(units) - 1, -1, -1)
                           if joins(u, same)), None)
        if chosen is None:
            chosen = new_unit(LoopGroup(dom, []), ())
            reading[chosen] = set()
        else:
            units[chosen].domain = join(units[chosen].domain, dom)
        units[chosen].roots.append(n)
        reading[chosen] |= arrays
        unit_of[n] = chosen
        order.add_edges_from((d, chosen) for d in read_units - {chosen})
    # Earliest-created unit first among the ready ones: a stable emission order.
    return [units[u] for u in nx.lexicographical_topological_sort(order)]


# -- row blocks -------------------------------------------------------------------
# The gradient of a function of X @ w (logistic regression, a layer of a
# network) reads the matrix X twice: once in X @ w, once in X.T @ r, with an
# elementwise loop between them on the rows of the product. Each is a pass
# over X; when X does not fit in the cache, each pass is a trip through
# memory. Row i of X @ w, and of everything computed elementwise from it, needs
# row i of X only, and X.T @ r is a sum over rows. So one loop over blocks of
# rows can compute, per block, the block of X @ w, the elementwise values of
# those rows, and add the block's X_blk.T @ r_blk to the sum while X_blk is
# still in the cache: X is read from memory once.


@dataclasses.dataclass
class RowBlock:
    """One loop over blocks of ``block`` rows (of ``rows``) computing its
    ``members`` (emission order): row products ``a @ b`` (a block of rows at a
    time), loop groups over the rows, and ``totals``, the products ``a.T @ c``
    summed over the blocks (complete after the loop)."""

    rows: int
    block: int
    members: list        # LoopGroup or statement node id
    totals: set


def row_blocks(graph: Graph, units: list, reads: Callable[[int], list],
               product: Callable[[int], tuple | None], total: Callable[[int], tuple | None],
               rows_only: Callable[[LoopGroup], bool], block: Callable[[int], int | None],
               canonical: Callable[[tuple], tuple]) -> list:
    """``units`` (group's emission order) with row-blocked units: a row
    product ``product(s) = (a, b)`` of a matrix ``a`` computed outside, for
    which ``block(s)`` gives a block size (None: too small to gain), starts
    one; the later units join it while they are

    - loop groups over the same rows (``rows_only``: the outer loop is plain)
      reading the unit's values at their own row only, and none of its totals;
    - row products whose left operand is the unit's and right operand from
      outside;
    - ``total(s) = (a, c)``, a product ``a.T @ c`` of values with those rows,
      one of them the unit's.

    A unit that reads none of the unit's values (nor of the units put after
    it) is emitted before it; one that reads them and cannot join, after it.
    A row-blocked unit is kept only when it holds a total (otherwise no
    matrix is read twice); else the units stay as they were."""
    out: list = []
    rest = list(units)
    while rest:
        unit = rest.pop(0)
        start = product(unit) if isinstance(unit, int) else None
        size = None if start is None else block(unit)
        if size is None:
            out.append(unit)
            continue
        n = graph.shape(unit)[0]
        inside = {unit}                  # row values the unit computes
        totals: set = set()
        after_nodes: set = set()         # values of the units put after it
        members, before, after = [unit], [], []

        def row_value(m):
            return graph.shape(m) and graph.shape(m)[0] == n

        for k, u in enumerate(rest):
            is_total = False
            if not isinstance(u, (LoopGroup, int)):
                after += rest[k:]   # a unit of another kind: the block ends before it
                break
            if isinstance(u, LoopGroup):
                read = [(m, idx) for r in u.roots for m, idx in reads(r)]
                names = {m for m, _ in read}
                made = set(u.roots)
                joins = (bool(u.domain) and u.domain[0] == n and rows_only(u)
                         and all(idx and idx[0] == canonical(u.domain)[0]
                                 for m, idx in read if m in inside))
            else:
                names = set(graph.inputs(u))
                made = {u}
                pair = product(u)
                joins = pair is not None and pair[0] in inside and pair[1] not in inside
                pair = total(u)
                if pair is not None and all(row_value(m) for m in pair) \
                        and any(m in inside for m in pair):
                    names, joins, is_total = set(pair), True, True
            if names & (after_nodes | totals):
                joins = False
            elif not names & inside:
                before.append(u)
                continue
            if not joins:
                after.append(u)
                after_nodes |= made
                continue
            members.append(u)
            if is_total:
                totals.add(u)
            else:
                inside |= {m for m in made if row_value(m)}
                # a reduction over the rows is complete only after the loop
                totals |= {m for m in made if not row_value(m)}
        if not any(u in totals for u in members if not isinstance(u, LoopGroup)):
            out.append(unit)
            continue
        out += before + [RowBlock(n, size, members, totals)]
        rest = after   # another row block may start there
    return out

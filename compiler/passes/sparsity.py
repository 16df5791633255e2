"""Sparsity of derivatives: which inputs each output element depends on, the
colourings that compress a sparse Jacobian or Hessian into a few JVPs, VJPs or
HVPs, and the recovery of the matrix from the compressed products.

The pattern pass propagates, for every node on a path from ``wrt`` to the
output, a boolean ``scipy.sparse.csr_array`` with one row per element of the
node (C order) and one column per element of ``wrt``: row i holds the input
elements element i depends on. Rules compose these matrices with sparse row
selections and products, so the pass costs O(nnz) per node and runs at 10^6
unknowns. They are exact where the op is:

- elementwise ops: the union of the inputs' rows, through broadcasting;
- reductions (ops with ``axes``/``keepdims``): the union over each reduced group;
- ops that move elements (reshape, transpose, broadcast_to, indexing with
  constant index arrays, setitem, concatenate, ...): found by evaluating the op
  on arrays of element ids, so every linear op that *selects* is handled
  without a rule of its own (an op whose id evaluation is not a selection falls
  back to the dense rule);
- ``scatter_add``: the base's rows plus the sum of the updates landing there;
- ``matmul``: each output depends on a row of one operand and a column of the
  other; a constant operand contributes only its nonzeros;
- structured loops (``loop``): the body's own pattern B is found once, and the
  iterations are composed by sparse products, ``[carry'; y_t] = B [carry;
  x_t; captures]``. With a static trip count (``fori_loop``, ``scan``) every
  step is composed, so the pattern is the one of the last step, not a union
  (a rotation stays a permutation); once the carry's pattern stops changing
  and the scanned inputs' patterns do not depend on the step, the remaining
  steps are skipped. With a run-time trip count (``while_loop``, tapes) the
  pattern is the union over every number of steps, the fixed point of
  ``U = U + B U``: sound for any count. A loop whose iteration would handle
  more than ``_LOOP_WORK_LIMIT`` pattern elements gets the dense rule;
- ``cond``: the union of both branches' patterns (the branch is known at run time);
- non-differentiable ops, non-floating values and ``stop_gradient``: nothing;
- anything else (indexing by traced index arrays, unknown ops): every output
  element depends on everything the inputs depend on (correct, not exact).

Hessian patterns are the Jacobian patterns of the adjoint graph's gradient
(built by ``compiler.autodiff.vjp`` on a copy), symmetrised.
"""
from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass
from typing import Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

import compiler.ops as O
from compiler import autodiff
from compiler.errors import CompilerError
from compiler.ir import Graph
from compiler.passes import rebuild

__all__ = ["jacobian_pattern", "hessian_pattern", "Coloring", "color_jacobian", "color_hessian",
           "recover_jacobian", "recover_hessian", "recovery_index", "recover", "seed_matrix"]


# -- the pattern pass --------------------------------------------------------------
def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


@functools.lru_cache(maxsize=8)
def _ids(shape, offset: int = 0) -> np.ndarray:
    """Element ids 0..size-1 (plus offset) in ``shape``; read-only, cached: one
    pass asks for the same few shapes many times."""
    ids = np.arange(offset, offset + _size(shape), dtype=np.int64).reshape(shape)
    ids.setflags(write=False)
    return ids


def _empty(rows: int, cols: int) -> sp.csr_array:
    return sp.csr_array((rows, cols), dtype=bool)


def _select(pattern: sp.csr_array, rows: np.ndarray) -> sp.csr_array:
    """The rows ``rows`` of ``pattern`` (a row selection; identity skipped)."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    size = rows.size
    if size == pattern.shape[0] and (size == 0 or rows[0] == 0 and rows[-1] == size - 1) \
            and np.array_equal(rows, _ids((size,))):
        return pattern
    return pattern[rows]


def _gather(parts: Sequence[sp.csr_array | None], sizes: Sequence[int], rows: np.ndarray,
            n: int) -> sp.csr_array:
    """Row r of the result is row ``rows[r]`` of the parts stacked vertically
    (part k holding ``sizes[k]`` rows; a missing part or ``rows[r] < 0`` gives an
    empty row). Built directly from the index arrays: no stacked copy."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    offsets = np.cumsum([0] + list(sizes))
    active = [k for k, p in enumerate(parts) if p is not None and p.nnz]
    if len(active) == 1 and rows.size and rows.min() >= offsets[active[0]] and \
            rows.max() < offsets[active[0] + 1]:
        return _select(parts[active[0]], rows - offsets[active[0]])
    # one row pointer array for the stacked active parts (missing ones: empty rows)
    lengths = np.zeros(int(offsets[-1]) + 1, dtype=np.int64)
    starts = np.zeros(int(offsets[-1]) + 1, dtype=np.int64)
    indices, base = [], 0
    for k in active:
        p = parts[k]
        lo, hi = offsets[k], offsets[k + 1]
        lengths[lo:hi] = np.diff(p.indptr)
        starts[lo:hi] = p.indptr[:-1] + base
        indices.append(p.indices)
        base += p.indices.size
    indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
    rows = np.where(rows < 0, offsets[-1], rows)  # the last slot is an empty row
    out_lengths = lengths[rows]
    indptr = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(out_lengths, out=indptr[1:])
    total = int(indptr[-1])
    source = np.repeat(starts[rows] - indptr[:-1], out_lengths) + np.arange(total)
    return sp.csr_array((np.ones(total, dtype=bool), indices[source], indptr),
                        shape=(rows.size, n))


def _broadcast_rows(shape, out_shape) -> np.ndarray:
    """For each element of ``out_shape``, the element of ``shape`` it reads."""
    if tuple(shape) == tuple(out_shape):
        return _ids((_size(shape),))
    return np.broadcast_to(_ids(tuple(shape)), out_shape).ravel()


def _union(parts: Sequence[sp.csr_array]) -> sp.csr_array | None:
    # the same matrix twice (x * x) is added once
    parts = list({id(p): p for p in parts if p is not None}.values())
    if not parts:
        return None
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return sp.csr_array(total)


@dataclass
class _Steps:
    """The pattern of a tape (a loop's per-step values whose number is known
    only at run time): one row per element of a step, the union over steps."""

    matrix: sp.csr_array


def _columns(pats, cols: np.ndarray) -> np.ndarray:
    """Mark in ``cols`` every input element any of these patterns holds."""
    for p in pats:
        if p is None:
            continue
        if isinstance(p, list):
            _columns(p, cols)
        elif isinstance(p, _Steps):
            _columns([p.matrix], cols)
        elif p.nnz:
            cols[p.indices] = True
    return cols


def _dense_rows(out_size: int, cols: np.ndarray) -> sp.csr_array:
    row = sp.csr_array(cols.reshape(1, -1))
    return row[np.zeros(out_size, dtype=np.int64)] if out_size else _empty(0, cols.size)


def _dense_rule(out_size: int, pats: Sequence, n: int) -> sp.csr_array:
    """Every output element depends on everything any input depends on."""
    return _dense_rows(out_size, _columns(pats, np.zeros(n, dtype=bool)))


def _is_reduction(attrs: dict) -> bool:
    return "axes" in attrs and "keepdims" in attrs


def _reduction_rule(graph: Graph, nid: int, p: sp.csr_array) -> sp.csr_array:
    (x,) = graph.inputs(nid)
    in_shape = graph.shape(x)
    axes = graph.attrs(nid)["axes"]
    kept = tuple(1 if k in axes else s for k, s in enumerate(in_shape))
    group = np.broadcast_to(_ids(kept), in_shape).ravel()
    reduce = sp.csr_array((np.ones(group.size, dtype=bool), (group, np.arange(group.size))),
                          shape=(_size(kept), group.size))
    return sp.csr_array(reduce @ p)


def _nonzero_mask(graph: Graph, nid: int) -> np.ndarray | None:
    """The nonzero structure of a constant operand, or None (it may be anything)."""
    if graph.is_const(nid):
        return np.asarray(graph.const_value(nid)) != 0
    return None


def _matmul_rule(graph: Graph, nid: int, pa, pb, n: int) -> sp.csr_array | None:
    """out[t, i, j] depends on a[t, i, :] where b[t, :, j] may be nonzero, and on
    b[t, :, j] where a[t, i, :] may be nonzero (t over the broadcast batch)."""
    a, b = graph.inputs(nid)
    sa, sb = graph.shape(a), graph.shape(b)
    a2 = (1,) + sa if len(sa) == 1 else sa      # promote 1-D operands as matmul does
    b2 = sb + (1,) if len(sb) == 1 else sb
    batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    m, k, cols = a2[-2], a2[-1], b2[-1]

    def masks(nid, shape2, rows, inner):
        """The operand's possible nonzeros per batch element: (batch size, rows, inner)."""
        mask = _nonzero_mask(graph, nid)
        if mask is None:
            mask = np.ones(shape2, dtype=bool)
        return np.broadcast_to(mask.reshape(shape2), batch + (rows, inner)).reshape(-1, rows, inner)

    def operand_part(pattern, operand_batch, operand_size, block_of):
        # block_of(t): the (output block) x (operand block) dependence of batch element t
        blocks = []
        for t in range(len(operand_batch)):
            block = sp.coo_array(block_of(t))
            block.eliminate_zeros()             # kron stores the zeros of its blocks
            width = block.shape[1]
            blocks.append(sp.csr_array(
                (np.ones(block.nnz, dtype=bool),
                 (block.row, operand_batch[t] * width + block.col)),
                shape=(block.shape[0], operand_size)))
        return sp.csr_array(sp.vstack(blocks, format="csr") @ pattern)

    parts = []
    if pa is not None:
        mb = masks(b, b2, k, cols)
        a_batch = np.broadcast_to(_ids(a2[:-2]), batch).ravel()
        eye = sp.identity(m, dtype=bool, format="csr")
        parts.append(operand_part(pa, a_batch, _size(sa),
                                  lambda t: sp.kron(eye, sp.csr_array(mb[t].T))))
    if pb is not None:
        ma = masks(a, a2, m, k)
        b_batch = np.broadcast_to(_ids(b2[:-2]), batch).ravel()
        eye = sp.identity(cols, dtype=bool, format="csr")
        parts.append(operand_part(pb, b_batch, _size(sb),
                                  lambda t: sp.kron(sp.csr_array(ma[t]), eye)))
    return _union(parts)


def _constant_arrays(graph: Graph, nodes: Sequence[int]) -> list | None:
    values = []
    for i in nodes:
        if not graph.is_const(i):
            return None
        values.append(np.asarray(graph.const_value(i)))
    return values


def _scatter_add_rule(graph: Graph, nid: int, pats, n: int) -> sp.csr_array | None:
    base, upd, *arrays = graph.inputs(nid)
    known = _constant_arrays(graph, arrays)
    if known is None:
        return None
    spec = graph.attrs(nid)["spec"]
    out_shape = graph.shape(nid)
    parts = [pats[0]]
    if pats[1] is not None:
        target = _ids(out_shape)[O.spec_to_index(spec, known)]
        source = np.broadcast_to(_ids(graph.shape(upd)), target.shape).ravel()
        target = target.ravel()
        if not target.size or np.bincount(target).max() <= 1:  # one update per element at most
            rows = np.full(_size(out_shape), -1, dtype=np.int64)
            rows[target] = source
            parts.append(_gather([pats[1]], [_size(graph.shape(upd))], rows, n))
        else:
            scatter = sp.csr_array((np.ones(source.size, dtype=bool), (target, source)),
                                   shape=(_size(out_shape), _size(graph.shape(upd))))
            parts.append(sp.csr_array(scatter @ pats[1]))
    return _union(parts)


def _selection_rule(graph: Graph, nid: int, pats, n: int) -> sp.csr_array | None:
    """A linear op that copies elements: evaluate it on element ids to learn
    which element of which input each output element is."""
    opdef = O.get_op(graph.op(nid))
    inputs = graph.inputs(nid)
    floating = [graph.dtype(i).kind in "fc" for i in inputs]
    offsets = np.cumsum([0] + [_size(graph.shape(i)) if f else 0
                               for i, f in zip(inputs, floating)])
    total = int(offsets[-1])
    fixed = _constant_arrays(graph, [i for i, f in zip(inputs, floating) if not f])
    if fixed is None:
        return None

    def evaluate(shift):
        it = iter(fixed)
        args = [_ids(graph.shape(i), int(offsets[k]) + shift) if f else next(it)
                for k, (i, f) in enumerate(zip(inputs, floating))]
        return np.asarray(opdef.impl(*args, **graph.attrs(nid)))

    try:
        ids = evaluate(0)
        shifted = evaluate(total)
    except Exception:  # the op does not accept integer ids: no selection rule
        return None
    if ids.shape != graph.shape(nid) or not np.array_equal(shifted, ids + total):
        return None  # not a pure selection (it adds, or makes new values)
    return _gather([p for p, f in zip(pats, floating) if f],
                   [_size(graph.shape(i)) for i, f in zip(inputs, floating) if f], ids, n)


def _carries_derivatives(graph: Graph, nid: int) -> bool:
    # as compiler.autodiff: floating values, and tuple-valued nodes (dtype
    # object: a structured loop or cond, whose parts tuple_item picks)
    return graph.dtype(nid).kind in "fcO"


def _node_rule(graph: Graph, nid: int, pats: list, n: int) -> sp.csr_array | None:
    opdef = O.get_op(graph.op(nid))
    inputs = graph.inputs(nid)
    out_shape = graph.shape(nid)
    if not opdef.differentiable or not _carries_derivatives(graph, nid):
        return None
    pats = [p if _carries_derivatives(graph, i) else None for p, i in zip(pats, inputs)]
    if all(p is None for p in pats):
        return None
    if opdef.name in _CONTROL_RULES:
        result = _CONTROL_RULES[opdef.name](graph, nid, pats, n)
        if result is not _NO_RULE:
            return result
    if graph.dtype(nid).kind == "O":
        # a tuple of values or a tape the rules above do not know: one row,
        # everything any part may depend on (tuple_item then spreads it)
        return _dense_rule(1, pats, n)
    if any(isinstance(p, (list, _Steps)) for p in pats):
        return _dense_rule(_size(out_shape), pats, n)
    if opdef.elementwise:
        return _union([_select(p, _broadcast_rows(graph.shape(i), out_shape))
                       for p, i in zip(pats, inputs) if p is not None])
    if _is_reduction(graph.attrs(nid)) and len(inputs) == 1:
        return _reduction_rule(graph, nid, pats[0])
    result = None
    if opdef.name == "matmul":
        result = _matmul_rule(graph, nid, pats[0], pats[1], n)
    elif opdef.name == "scatter_add":
        result = _scatter_add_rule(graph, nid, pats, n)
    elif opdef.linear:
        result = _selection_rule(graph, nid, pats, n)
    if result is None:
        result = _dense_rule(_size(out_shape), pats, n)
    return result


# -- structured control flow (compiler/ops/control.py) -------------------------------
# A loop or cond node's pattern is a list, one entry per output (tuple_item
# picks it); a tape's is a _Steps. Loop bodies are propagated once with
# identity seeds (the body's own pattern B, rows: body outputs, columns: body
# parameters) and the iterations composed by sparse products
# [carry'; y_t] = B [carry; x_t; captures].

# Elements of patterns handled while iterating one loop before it is given the
# dense rule instead (a long loop whose pattern keeps changing).
_LOOP_WORK_LIMIT = 50_000_000


def _same(a: sp.csr_array, b: sp.csr_array) -> bool:
    return a.shape == b.shape and a.nnz == b.nnz and (a != b).nnz == 0


def _stacked_steps(p: sp.csr_array, length: int) -> sp.csr_array:
    """The union over steps of a stacked (length, ...) array's pattern."""
    step = p.shape[0] // max(length, 1)
    rows = np.arange(p.shape[0], dtype=np.int64)
    fold = sp.csr_array((np.ones(rows.size, dtype=bool), (rows % max(step, 1), rows)),
                        shape=(step, p.shape[0]))
    return sp.csr_array(fold @ p)


def _body_pattern(body: Graph) -> tuple[sp.csr_array, list[int], list[int]]:
    """The body's outputs' patterns stacked, over its parameters side by side
    (non-floating parameters get columns no output depends on)."""
    psizes = [_size(body.shape(q)) for q in body.params]
    osizes = [_size(body.shape(o)) for o in body.outputs]
    width = sum(psizes)
    seeds = {}
    for q, size, offset in zip(body.params, psizes, np.cumsum([0] + psizes[:-1])):
        if body.dtype(q).kind in "fc":
            seeds[q] = _identity_block(size, int(offset), width)
    pats = _propagate(body, seeds, body.outputs, width)
    blocks = []
    for o, size in zip(body.outputs, osizes):
        p = pats.get(o) if _carries_derivatives(body, o) else None
        if p is not None and not isinstance(p, sp.csr_array):
            raise _Opaque()
        blocks.append(p if p is not None else _empty(size, width))
    matrix = sp.vstack(blocks, format="csr") if blocks else _empty(0, width)
    return sp.csr_array(matrix, dtype=bool), psizes, osizes


_NO_RULE = object()    # a control-flow rule that does not apply: the generic rules decide


class _Opaque(Exception):
    """A body the loop rule cannot compose (it returns tapes): dense rule."""


def _loop_rule(graph: Graph, nid: int, pats: list, n: int):
    attrs = graph.attrs(nid)
    body, nc, nxs, length = attrs["body"], attrs["n_carry"], attrs["n_xs"], attrs["length"]
    inputs = graph.inputs(nid)
    n_ys = len(body.outputs) - nc
    try:
        B, psizes, osizes = _body_pattern(body)
    except _Opaque:
        return _NO_RULE
    ysizes = osizes[nc:]
    static = attrs["cond"] is None and length is not None

    def dense():
        cols = _columns(pats, np.zeros(n, dtype=bool))
        outs = [_dense_rows(size, cols) for size in osizes[:nc]]
        outs += [_dense_rows(length * size, cols) if static else _Steps(_dense_rows(size, cols))
                 for size in ysizes]
        if attrs["tape_carries"]:
            outs += [_Steps(_dense_rows(size, cols)) for size in osizes[:nc]]
        return outs

    carry = pats[:nc]
    caps = pats[nc + nxs:]
    if any(isinstance(p, (list, _Steps)) for p in carry + caps):
        return dense()
    scanned = []            # per scanned input: ("steps", matrix) or ("stacked", matrix)
    for i, p, size in zip(inputs[nc:nc + nxs], pats[nc:nc + nxs], psizes[nc:nc + nxs]):
        if p is None:
            scanned.append(None)
        elif isinstance(p, _Steps):
            scanned.append(("steps", p.matrix))
        elif graph.dtype(i).kind == "O" or isinstance(p, list):
            scanned.append(("steps", _dense_rule(size, [p], n)))
        else:
            scanned.append(("stacked", p))
    independent = all(x is None or x[0] == "steps" for x in scanned)

    def at(t: int) -> list:
        return [None if x is None else x[1] if x[0] == "steps" else x[1][t * size:(t + 1) * size]
                for x, size in zip(scanned, psizes[nc:nc + nxs])]

    bounds = np.cumsum([0] + osizes).tolist()

    def step(c: list, xs: list) -> tuple[list, list]:
        blocks = [p if p is not None else _empty(size, n)
                  for p, size in zip(c + xs + caps, psizes)]
        out = sp.csr_array(B @ sp.vstack(blocks, format="csr")) if blocks else _empty(B.shape[0], n)
        parts = [sp.csr_array(out[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
        return parts[:nc], parts[nc:]

    c = [p if p is not None else _empty(size, n) for p, size in zip(carry, psizes[:nc])]
    work = 0
    if static:
        order = range(length - 1, -1, -1) if attrs["reverse"] else range(length)
        ys: list[list] = [[None] * length for _ in range(n_ys)]
        seen = list(c) if length else [None] * nc     # the carries entering each step
        for k, t in enumerate(order):
            new, y = step(c, at(t))
            for j in range(n_ys):
                ys[j][t] = y[j]
            if k:
                seen = [_union([a, b]) for a, b in zip(seen, c)]
            work += sum(p.nnz for p in new + y) + B.nnz
            if work > _LOOP_WORK_LIMIT:
                return dense()
            if independent and all(_same(a, b) for a, b in zip(new, c)):
                # a fixed point: every later step sees the same carry and inputs
                for t_later in list(order)[k + 1:]:
                    for j in range(n_ys):
                        ys[j][t_later] = y[j]
                break
            c = new
        outs = list(c)
        outs += [sp.csr_array(sp.vstack(rows, format="csr")) if length else _empty(0, n)
                 for rows in ys]
        tapes = [_Steps(s) if s is not None else None for s in seen]
    else:
        # a run-time trip count: the union over every number of steps
        y_union = [None] * n_ys
        xs = at(0)
        while True:
            new, y = step(c, xs)
            y_union = [_union([a, b]) for a, b in zip(y_union, y)]
            grown = [_union([a, b]) for a, b in zip(c, new)]
            work += sum(p.nnz for p in grown + y) + B.nnz
            if work > _LOOP_WORK_LIMIT:
                return dense()
            if all(_same(a, b) for a, b in zip(grown, c)):
                break
            c = grown
        outs = list(c) + [_Steps(y) for y in y_union]
        tapes = [_Steps(s) for s in c]
    if attrs["tape_carries"]:
        outs += tapes
    return outs


def _cond_rule(graph: Graph, nid: int, pats: list, n: int):
    """The union of both branches' patterns."""
    operands = pats[1:]
    if any(isinstance(p, (list, _Steps)) for p in operands):
        return _NO_RULE
    results = []
    for branch in graph.attrs(nid)["branches"]:
        seeds = {q: p for q, p in zip(branch.params, operands)
                 if p is not None and _carries_derivatives(branch, q)}
        found = _propagate(branch, seeds, branch.outputs, n)
        results.append([found.get(o) if _carries_derivatives(branch, o) else None
                        for o in branch.outputs])
    outs = []
    for a, b in zip(*results):
        if isinstance(a, (list, _Steps)) or isinstance(b, (list, _Steps)):
            return _NO_RULE
        outs.append(_union([a, b]))
    return outs


def _tuple_item_rule(graph: Graph, nid: int, pats: list, n: int):
    parts = pats[0]
    if not isinstance(parts, list):
        return _NO_RULE
    return parts[graph.attrs(nid)["index"]]


def _tape_add_rule(graph: Graph, nid: int, pats: list, n: int):
    steps = []
    for i, p in zip(graph.inputs(nid), pats):
        if p is None:
            continue
        if isinstance(p, _Steps):
            steps.append(p.matrix)
        elif graph.dtype(i).kind == "O" or isinstance(p, list):
            return _NO_RULE
        else:
            steps.append(_stacked_steps(p, graph.shape(i)[0]))
    sizes = {m.shape[0] for m in steps}
    return _Steps(_union(steps)) if len(sizes) == 1 else None


_CONTROL_RULES = {"loop": _loop_rule, "cond": _cond_rule, "tuple_item": _tuple_item_rule,
                  "tape_add": _tape_add_rule}


def _identity_block(size: int, offset: int, n: int) -> sp.csr_array:
    """Element i depends on input element offset + i (one wrt among several)."""
    ids = np.arange(size, dtype=np.int64)
    return sp.csr_array((np.ones(size, dtype=bool), (ids, ids + offset)), shape=(size, n))


def _propagate(graph: Graph, seeds: dict, targets: Sequence[int], n: int) -> dict:
    """Patterns of every node on a path from a seeded node to a target."""
    reach: set[int] = set()
    for s in seeds:
        reach |= nx.descendants(graph.nx, s) | {s}
    needed: set[int] = set()
    for t in targets:
        needed |= nx.ancestors(graph.nx, t) | {t}
    pats = dict(seeds)
    for nid in sorted(reach & needed):
        if nid in seeds:
            continue
        pats[nid] = _node_rule(graph, nid, [pats.get(i) for i in graph.inputs(nid)], n)
    return pats


def _as_nodes(nodes) -> list[int]:
    return [int(w) for w in nodes] if isinstance(nodes, (list, tuple)) else [int(nodes)]


def _finish_pattern(result, m: int, n: int) -> sp.csr_array:
    if result is None:
        return sp.csr_array((m, n), dtype=bool)
    result = sp.csr_array(result, dtype=bool)
    result.sum_duplicates()
    result.sort_indices()
    return result


def jacobian_pattern(graph: Graph, output: int, wrt) -> sp.csr_array:
    """Boolean (output.size, wrt.size) pattern of d output / d wrt; for a
    sequence of ``wrt`` nodes, their elements side by side (C order each, in
    the order given), as one (output.size, sum of sizes) pattern."""
    (result,) = _patterns(graph, [output], wrt)
    return result


def _patterns(graph: Graph, outputs: Sequence[int], wrt) -> list[sp.csr_array]:
    wrts = _as_nodes(wrt)
    sizes = [_size(graph.shape(w)) for w in wrts]
    n = sum(sizes)
    seeds: dict = {}
    for w, size, offset in zip(wrts, sizes, np.cumsum([0] + sizes[:-1])):
        if graph.dtype(w).kind not in "fc":
            raise CompilerError(f"jacobian_pattern: node {w} has dtype {graph.dtype(w)}, "
                                "not floating point")
        seeds[w] = _identity_block(size, int(offset), n)
    outputs = [int(o) for o in outputs]
    pats = _propagate(graph, seeds, outputs, n)
    return [_finish_pattern(pats.get(o), _size(graph.shape(o)), n) for o in outputs]


def hessian_pattern(graph: Graph, output: int, wrt) -> sp.csr_array:
    """Boolean (wrt.size, wrt.size) symmetric pattern of the Hessian of a scalar
    ``output``: the Jacobian pattern of its gradient, built on a copy of the
    graph. For a sequence of ``wrt`` nodes, the joint Hessian of their
    elements side by side."""
    if graph.shape(output) != ():
        raise CompilerError(f"hessian_pattern: output {output} has shape {graph.shape(output)}, "
                            "not a scalar")
    wrts = _as_nodes(wrt)
    copy = rebuild(graph)
    order = graph.nodes()
    position = {nid: k for k, nid in enumerate(order)}
    new_nodes = copy.nodes()
    out = new_nodes[position[int(output)]]
    points = [new_nodes[position[w]] for w in wrts]
    seed = copy.const(np.ones((), copy.dtype(out)))
    gradients = autodiff.vjp(copy, [out], [seed], points)
    n = sum(_size(graph.shape(w)) for w in wrts)
    present = [g.node for g in gradients if g is not None]
    rows = iter(_patterns(copy, present, points) if present else [])
    blocks = [next(rows) if g is not None else sp.csr_array((_size(graph.shape(w)), n), dtype=bool)
              for g, w in zip(gradients, wrts)]
    pattern = sp.csr_array(sp.vstack(blocks, format="csr"), dtype=bool)
    pattern = sp.csr_array(pattern + pattern.T)
    pattern.sum_duplicates()
    pattern.sort_indices()
    return pattern


# -- colouring --------------------------------------------------------------------
@dataclass
class Coloring:
    """A colouring of a pattern's columns (``mode="column"``: one JVP per colour),
    rows (``"row"``: one VJP per colour) or of a symmetric pattern (``"star"``:
    one HVP per colour, recovered directly using symmetry)."""

    colors: np.ndarray
    n_colors: int
    mode: str
    strategy: str


def _natural(graph, colors):
    return list(graph)


# networkx's DSATUR rescans all vertices at every step: kept for small graphs.
_DSATUR_LIMIT = 400
# Our heap-based DSATUR: O(edges log edges), but Python; beyond this size its
# seconds are not worth the colours it saves.
_HEAP_DSATUR_LIMIT = 200_000
# Kempe-chain interchange finds fewer colours (5 instead of 7 on a 5-point
# stencil's Jacobian) but grows about quadratically: kept for small graphs.
_INTERCHANGE_LIMIT = 1000
# Beyond this many vertices only the linear-time orders are tried.
_LARGE = 20_000


def _rows_of(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray):
    """The entries of CSR rows ``rows`` side by side, and the position in
    ``rows`` each comes from."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    owner = np.repeat(np.arange(rows.size), lengths)
    first = np.cumsum(lengths) - lengths
    where = np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()))
    return indices[where], owner


# The rounds colouring keeps each vertex's neighbours' colours in a 64-bit mask.
_MASK_BITS = 64


def _greedy_in_rounds(adjacency: sp.csr_array, order: np.ndarray) -> np.ndarray:
    """Sequential greedy colouring in the given vertex order (each vertex takes
    the smallest colour no earlier neighbour has: what ``nx.greedy_color``
    computes for that order), vectorised with NumPy. A vertex's colour depends
    only on its earlier neighbours, so the vertices are coloured in rounds:
    a round colours, all at once, every vertex whose earlier neighbours are all
    coloured (they are never neighbours of each other). A 2-D grid takes a
    few thousand rounds of O(round) work; networkx's graph of 10^6 vertices
    and 6 10^6 edges alone takes minutes and gigabytes to build.
    Needs max degree < 64 (the caller checks)."""
    n = adjacency.shape[0]
    indptr = adjacency.indptr.astype(np.int64)
    indices = adjacency.indices.astype(np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    source = np.repeat(np.arange(n), np.diff(indptr))

    def part(mask):
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(source[mask], minlength=n), out=ptr[1:])
        return ptr, indices[mask]
    earlier_ptr, earlier = part(position[indices] < position[source])
    later_ptr, later = part(position[indices] > position[source])
    waiting = np.diff(earlier_ptr)           # earlier neighbours not yet coloured
    colors = np.full(n, -1, dtype=np.int64)
    ready = np.flatnonzero(waiting == 0)
    one = np.uint64(1)
    while ready.size:
        neighbours, owner = _rows_of(earlier_ptr, earlier, ready)
        used = np.zeros(ready.size, dtype=np.uint64)
        np.bitwise_or.at(used, owner, np.left_shift(one, colors[neighbours].astype(np.uint64)))
        lowest_free = ~used & (used + one)   # the lowest zero bit, alone
        colors[ready] = np.log2(lowest_free.astype(np.float64)).astype(np.int64)
        neighbours, _ = _rows_of(later_ptr, later, ready)
        touched, counts = np.unique(neighbours, return_counts=True)
        waiting[touched] -= counts
        ready = touched[waiting[touched] == 0]
    return colors


def _networkx_greedy(adjacency: sp.csr_array) -> tuple[np.ndarray, str]:
    n = adjacency.shape[0]
    coo = sp.triu(adjacency, k=1).tocoo()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(coo.row.tolist(), coo.col.tolist()))
    strategies = [("natural", _natural), ("largest_first", "largest_first")]
    if n <= _LARGE:
        strategies.append(("smallest_last", "smallest_last"))
    if n <= _DSATUR_LIMIT:
        strategies.append(("DSATUR", "DSATUR"))
    strategies = [(name, strategy, False) for name, strategy in strategies]
    if n <= _INTERCHANGE_LIMIT:
        strategies.append(("smallest_last with interchange", "smallest_last", True))
    best = None
    for name, strategy, interchange in strategies:
        coloring = nx.greedy_color(graph, strategy, interchange=interchange)
        colors = np.fromiter((coloring[v] for v in range(n)), dtype=np.int64, count=n)
        if best is None or colors.max() < best[0].max():
            best = (colors, name)
    return best


def _greedy(adjacency: sp.csr_array) -> tuple[np.ndarray, str]:
    """The best of networkx's greedy colourings of a graph given by its
    (symmetric, boolean) adjacency matrix. Beyond ``_LARGE`` vertices the
    natural and largest-first orders are coloured by ``_greedy_in_rounds``
    (the same colourings, computed with NumPy on the CSR arrays)."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), "empty"
    degree = np.diff(adjacency.indptr)
    if n > _LARGE and degree.max() < _MASK_BITS - 1:
        best = None
        orders = [("natural", np.arange(n))]
        if degree.max() > 2 * np.median(degree):
            # largest-first helps irregular graphs (hubs); on large regular
            # ones it only doubles the time
            orders.append(("largest_first", np.argsort(-degree, kind="stable")))
        for name, order in orders:
            colors = _greedy_in_rounds(adjacency, order)
            if best is None or colors.max() < best[0].max():
                best = (colors, name)
    else:
        best = _networkx_greedy(adjacency)
    if n > _DSATUR_LIMIT and n <= _HEAP_DSATUR_LIMIT:
        colors = _dsatur(adjacency)
        if colors.max() < best[0].max():
            best = (colors, "DSATUR")
    return best


def _dsatur(adjacency: sp.csr_array) -> np.ndarray:
    """DSATUR (Brélaz 1979): colour next the vertex with the most distinct
    colours among its neighbours (ties: the highest degree), with a lazily
    updated heap, O(edges log edges). networkx's DSATUR rescans every vertex at
    each step (minutes at 10^4 vertices); this one finds the same 5 colours of
    a 5-point stencil's Jacobian in a fraction of a second."""
    n = adjacency.shape[0]
    indptr = adjacency.indptr.tolist()
    indices = adjacency.indices.tolist()
    neighbours = [indices[indptr[v]:indptr[v + 1]] for v in range(n)]
    degree = [len(nb) for nb in neighbours]
    saturation: list[set] = [set() for _ in range(n)]
    color = [-1] * n
    heap = [(0, -degree[v], v) for v in range(n)]
    heapq.heapify(heap)
    while heap:
        key, _, v = heapq.heappop(heap)
        if color[v] >= 0 or -key != len(saturation[v]):
            continue                      # a stale entry
        used = saturation[v]
        c = 0
        while c in used:
            c += 1
        color[v] = c
        for w in neighbours[v]:
            if color[w] < 0 and c not in saturation[w]:
                saturation[w].add(c)
                heapq.heappush(heap, (-len(saturation[w]), -degree[w], w))
    return np.asarray(color, dtype=np.int64)


def _intersection(pattern: sp.csr_array) -> sp.csr_array:
    """Columns sharing a row: the column-intersection graph's adjacency."""
    p = sp.csr_array(pattern, dtype=bool, copy=True)
    graph = sp.csr_array(p.T @ p)
    graph.setdiag(False)
    graph.eliminate_zeros()
    return graph


# An intersection graph has up to sum(degree^2) edges: one dense row makes the
# column-intersection graph complete. Beyond this many, a mode is only
# coloured when the other would be larger still.
_INTERSECTION_LIMIT = 2_000_000


def _intersection_size(pattern: sp.csr_array) -> int:
    """An upper bound on the edges of the column-intersection graph."""
    degree = np.diff(pattern.indptr).astype(np.int64)
    return int(np.sum(degree * degree))


def color_jacobian(pattern: sp.csr_array) -> Coloring:
    """Distance-1 colouring of the column-intersection graph (JVP per colour) or
    of the row-intersection graph (VJP per colour), whichever needs fewer."""
    m, n = pattern.shape
    if m == 0 or n == 0 or pattern.nnz == 0:
        return Coloring(np.zeros(n, dtype=np.int64), 1 if n else 0, "column", "empty")
    transposed = sp.csr_array(pattern.T)
    column_cost, row_cost = _intersection_size(pattern), _intersection_size(transposed)
    try_columns = column_cost <= max(_INTERSECTION_LIMIT, row_cost)
    try_rows = row_cost <= max(_INTERSECTION_LIMIT, column_cost) and (
        m < n or not try_columns
        or np.diff(transposed.indptr).max() < np.diff(pattern.indptr).max())
    best = None
    if try_columns:
        cols, strategy = _greedy(_intersection(pattern))
        best = Coloring(cols, int(cols.max()) + 1, "column", strategy)
    if try_rows:
        rows, strategy = _greedy(_intersection(transposed))
        if best is None or rows.max() + 1 < best.n_colors:
            best = Coloring(rows, int(rows.max()) + 1, "row", strategy)
    return best


def _star_greedy(adjacency: sp.csr_array, order: np.ndarray) -> np.ndarray:
    """Greedy star colouring (Gebremedhin, Manne and Pothen, SIAM Review 2005,
    section 4.2): a distance-1 colouring in which no path on four vertices is
    bicoloured, so every Hessian entry can be read off one HVP. networkx has
    no star colouring.

    Colouring v forbids, for each neighbour w: w's colour; if w is uncoloured,
    the colours of w's coloured neighbours (v would share one with them);
    if w is coloured, the colour of every coloured neighbour x of w that has
    another neighbour coloured like w (v-w-x-y would be bicoloured). Both sets
    are kept up to date as vertices are coloured -- ``seen[w]``: colour ->
    coloured neighbours of w with it; ``heavy[w]``: colour -> neighbours x of w
    with that colour and two neighbours coloured like w -- so a vertex's
    choice costs O(degree x colours), not O(degree^2): a hub vertex (an
    arrowhead Hessian) does not make the colouring quadratic."""
    n = adjacency.shape[0]
    indptr = adjacency.indptr.tolist()
    indices = adjacency.indices.tolist()
    neighbours = [indices[indptr[v]:indptr[v + 1]] for v in range(n)]
    color = [-1] * n
    seen: list[dict] = [{} for _ in range(n)]
    heavy: list[dict] = [{} for _ in range(n)]

    def bump(table, c):
        table[c] = table.get(c, 0) + 1

    for v in order.tolist():
        forbidden = set()
        for w in neighbours[v]:
            cw = color[w]
            if cw >= 0:
                forbidden.add(cw)
                forbidden.update(heavy[w])
            else:
                forbidden.update(seen[w])
        c = 0
        while c in forbidden:
            c += 1
        color[v] = c
        for x in neighbours[v]:
            bump(seen[x], c)
        for x in neighbours[v]:
            cx = color[x]
            if cx < 0:
                continue
            if seen[x][c] == 2:
                # x now has two neighbours coloured c: it becomes heavy for the other one
                for w in neighbours[x]:
                    if w != v and color[w] == c:
                        bump(heavy[w], cx)
                        break
            if seen[x][c] >= 2:
                bump(heavy[v], cx)
            if seen[v].get(cx, 0) >= 2:
                bump(heavy[x], c)           # v is heavy for x
    return np.asarray(color, dtype=np.int64)


def color_hessian(pattern: sp.csr_array) -> Coloring:
    """A symmetric colouring of a symmetric pattern: the best of greedy star
    colourings in a few orders and distance-2 colourings (which are star
    colourings too)."""
    n = pattern.shape[0]
    if n == 0:
        return Coloring(np.zeros(0, dtype=np.int64), 0, "star", "empty")
    adjacency = sp.csr_array(pattern, dtype=bool, copy=True)
    adjacency.setdiag(False)
    adjacency.eliminate_zeros()
    adjacency.sort_indices()
    degree = np.diff(adjacency.indptr)
    orders = [("star natural", np.arange(n))]
    if n <= _LARGE or degree.max() > 2 * np.median(degree):
        # largest-first helps irregular patterns (hubs); on large regular ones it
        # only doubles the time
        orders.append(("star largest_first", np.argsort(-degree, kind="stable")))
    best = None
    for name, order in orders:
        colors = _star_greedy(adjacency, order)
        if best is None or colors.max() < best[0].max():
            best = (colors, name)
    if n <= _HEAP_DSATUR_LIMIT and _intersection_size(adjacency) <= 50 * max(pattern.nnz, 1):
        # distance-2 colourings are star colourings too, and DSATUR's are often
        # smaller (5 against 6 on a 5-point stencil); not for hubs, whose
        # distance-2 graph is nearly complete
        square = _intersection(pattern)
        colors, name = _greedy(square) if n <= _INTERCHANGE_LIMIT else (_dsatur(square), "DSATUR")
        if colors.max() < best[0].max():
            best = (colors, "distance-2 " + name)
    colors, name = best
    return Coloring(colors, int(colors.max()) + 1, "star", name)


# -- compressed products and recovery ------------------------------------------
def seed_matrix(coloring: Coloring) -> np.ndarray:
    """The 0/1 matrix whose column k selects the vertices of colour k."""
    seed = np.zeros((coloring.colors.size, coloring.n_colors))
    seed[np.arange(coloring.colors.size), coloring.colors] = 1.0
    return seed


def recovery_index(pattern: sp.csr_array, coloring: Coloring) -> np.ndarray:
    """For each stored entry of ``pattern`` (CSR order), its position in the
    flattened compressed product: ``J @ S`` (column mode, (m, c)), ``S.T @ J``
    (row mode, (c, n)) or ``H @ S`` (star, (n, c)). Under a star colouring,
    entry (i, j) is ``(H S)[i, colour(j)]`` when j is the only vertex of its
    colour in row i, else ``(H S)[j, colour(i)]`` (one of the two holds)."""
    rows = np.repeat(np.arange(pattern.shape[0], dtype=np.int64), np.diff(pattern.indptr))
    cols = pattern.indices.astype(np.int64)
    colors, c = coloring.colors, coloring.n_colors
    if coloring.mode == "column":
        return rows * c + colors[cols]
    if coloring.mode == "row":
        return colors[rows] * pattern.shape[1] + cols
    direct = rows * c + colors[cols]
    unique = np.bincount(direct, minlength=pattern.shape[0] * c)[direct] == 1
    return np.where(unique, direct, cols * c + colors[rows])


def recover(pattern: sp.csr_array, index: np.ndarray, compressed: np.ndarray) -> sp.csr_array:
    """The matrix with ``pattern``'s structure from the compressed product,
    given ``recovery_index(pattern, coloring)``."""
    data = np.ravel(compressed)[index]
    return sp.csr_array((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)


def recover_jacobian(pattern: sp.csr_array, coloring: Coloring,
                     compressed: np.ndarray) -> sp.csr_array:
    """The Jacobian from ``J @ S`` (column mode) or ``S.T @ J`` (row mode)."""
    return recover(pattern, recovery_index(pattern, coloring), compressed)


def recover_hessian(pattern: sp.csr_array, coloring: Coloring,
                    compressed: np.ndarray) -> sp.csr_array:
    """The Hessian from ``H @ S`` under a star colouring."""
    return recover(pattern, recovery_index(pattern, coloring), compressed)

"""Eager backward: ``backward``, ``grad``, ``GradientTape``, and the static mode.

A backward pass collects the ``grad_fn`` nodes reachable from the outputs,
inlines their fragments into one ``compiler.ir.Graph`` (the leaves are its
params), differentiates it with the same adjoint pass as the functional API
(``compiler.autodiff.vjp``) and cuts out the *backward graph*: its params are
the leaves, the output cotangents and the recorded tensors (values the
forward already computed are read, not recomputed); its outputs are the
gradients. That graph is optimised and run.

Static mode: the backward graph is cached by the structure of what was
recorded (each fragment's structural key, how they connect, the leaves'
shapes and dtypes, which outputs and which inputs). Values are always
arguments, never constants baked in, so a training loop that records the same
structure every step sees the same key: the ``sg.config.eager_compile_threshold``-th
sighting gets its executable from ``specialize.backend`` (compiled under the
Numba backend), and every later backward of that structure reuses it.
"""
from __future__ import annotations

import dataclasses
import logging
import operator
from typing import Callable, Sequence

import numpy as np

from compiler.autodiff import vjp
from compiler.evaluate import Interpreter, walk
from compiler.ir import Graph, Value
from compiler.passes import copy_nodes, optimize
from staticgrad import pytree, specialize
from staticgrad.eager.dispatch import _FRAGMENTS, primitive
from staticgrad.eager.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from staticgrad.eager.tensor_type import Tensor

log = logging.getLogger("staticgrad")

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "GradientTape", "cache_info", "clear_cache"]

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")


# -- the static-mode cache ----------------------------------------------------------
@dataclasses.dataclass
class CacheInfo:
    """Counters of the eager backward cache (``sg.autograd.cache_info()``)."""

    sightings: int = 0   # backward passes run
    builds: int = 0      # backward graphs derived (new structures)
    compiles: int = 0    # executables made by specialize.backend (threshold reached)
    reuses: int = 0      # backward passes that ran an executable made earlier
    structures: int = 0  # structures cached


@dataclasses.dataclass
class _Entry:
    graph: Graph           # the optimised backward graph
    used: list             # which (leaves + cotangents + recorded tensors) are its params
    present: list          # which requested gradients exist (the rest have no path)
    run: Callable          # list of param arrays -> gradients: interpreted, later compiled
    compiled: bool = False
    sightings: int = 0


_CACHE: dict = {}
_INFO = CacheInfo()
_MAX_STRUCTURES = 512


def cache_info() -> CacheInfo:
    return dataclasses.replace(_INFO, structures=len(_CACHE))


def clear_cache() -> None:
    """Forget every cached backward graph and traced fragment, and the counters."""
    global _INFO
    _CACHE.clear()
    _FRAGMENTS.clear()
    _INFO = CacheInfo()


# -- collecting what was recorded ----------------------------------------------------
def _check_saved(node) -> None:
    """Raise as PyTorch when a value this node's backward reads is gone or changed."""
    positions, out_saved = node.fragment.saves
    if not positions and not out_saved:
        return
    if node.freed:
        raise RuntimeError(FREED)
    for k in positions:
        e = node.edges[k]
        if e.version.value != e.seen:
            _modified(e._array, e.version.value, e.seen, k, node)
    if out_saved and node.out_version.value != node.out_seen:
        _modified(node.out_data, node.out_version.value, node.out_seen, "output", node)


def _modified(data, now, seen, which, node) -> None:
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{data.dtype} {list(data.shape)}] (input {which} of {node.name()}) is at "
        f"version {now}; expected version {seen} instead.")


class _Recording:
    """The recorded graph between some outputs and the leaves, as plain data.

    ``nodes`` in creation (= topological) order; ``sources``: the leaves in
    order of first use (their Edge, or the Tensor itself for a leaf output).
    A reference to a recorded tensor is an int: ``k`` for the k-th node's
    output, ``~k`` for the k-th leaf. ``structure`` is everything the backward
    graph depends on, values aside, in one pass: per node its fragment's key
    and its operands' references, a leaf's shape and dtype before its first
    use. Values saved for the backward are checked on the way.
    """

    def __init__(self, outputs: Sequence[Tensor]):
        found, stack = set(), [t.grad_fn for t in outputs]
        while stack:
            node = stack.pop()
            if node is not None and node not in found:
                found.add(node)
                for e in node.edges:
                    stack.append(e.node)
        self.nodes = sorted(found, key=_creation)
        self.index = index = {node: k for k, node in enumerate(self.nodes)}
        self.leaves: dict = {}  # uid -> leaf position
        self.sources: list = []
        structure = []
        for node in self.nodes:
            _check_saved(node)
            structure.append(node.fragment.key)
            for e in node.edges:
                if e.node is not None:
                    structure.append(index[e.node])
                else:
                    k = self.leaves.get(e.uid)
                    structure.append(~k if k is not None else self._leaf(e.uid, e, structure))
        for t in outputs:
            if t.grad_fn is None:
                self._leaf(t._uid, t, structure)
        self.structure = tuple(structure)

    def _leaf(self, uid: int, source, structure: list) -> int:
        k = self.leaves.get(uid)
        if k is None:  # first use: its shape and dtype go before its reference
            k = self.leaves[uid] = len(self.sources)
            self.sources.append(source)
            structure.append((source._array.shape, source._array.dtype))
        return ~k

    def ref(self, t: Tensor) -> int | None:
        """Where ``t`` is in the recording (see the class docstring), or None."""
        if t.grad_fn is not None:
            return self.index.get(t.grad_fn)
        k = self.leaves.get(t._uid)
        return None if k is None else ~k

    def operand_refs(self, node) -> list:
        return [self.index[e.node] if e.node is not None else ~self.leaves[e.uid]
                for e in node.edges]

    def arrays(self) -> list:
        """The leaves' arrays, then the recorded tensors' (how a backward graph's
        params are bound, the output cotangents between them)."""
        return [s._array for s in self.sources], [n.out_data for n in self.nodes]


_creation = operator.attrgetter("seq")


def _derive(rec: _Recording, outputs: list, wrt: list) -> _Entry:
    """The optimised backward graph of a recording (see the module docstring)."""
    forward = Graph()
    leaf_ids = [forward.param(s._array.shape, s._array.dtype).node for s in rec.sources]
    node_ids = []
    for node in rec.nodes:
        frag = node.fragment.graph
        local = copy_nodes(frag, forward, {p: _resolve(r, leaf_ids, node_ids)
                                           for p, r in zip(frag.params, rec.operand_refs(node))})
        node_ids.append(local[frag.outputs[0]])
    out_ids = [_resolve(r, leaf_ids, node_ids) for r in outputs]
    cotangents = [forward.param(forward.shape(o), forward.dtype(o)).node for o in out_ids]
    wrt_ids = [_resolve(r, leaf_ids, node_ids) for r in wrt if r is not None]
    grads = vjp(forward, out_ids, [Value(forward, c) for c in cotangents], wrt_ids)
    # Cut: leaves, cotangents and recorded tensors become the params; those
    # the optimised graph does not read are dropped (fewer arguments to pass).
    bwd = optimize(_cut(forward, leaf_ids + cotangents + node_ids,
                        [g.node for g in grads if g is not None]))
    needed = bwd.needed()
    used = [k for k, p in enumerate(bwd.params) if p in needed]
    if len(used) < len(bwd.params):
        bwd = _cut(bwd, [bwd.params[k] for k in used], bwd.outputs)
    present = [k for k, g in enumerate(grads) if g is not None]
    interpreter = Interpreter(bwd)
    return _Entry(bwd, used, present, lambda args: interpreter(*args))


def _cut(graph: Graph, sources: list, roots: list) -> Graph:
    """A graph of ``roots`` (nodes of ``graph``) whose params are ``sources``."""
    cut = Graph()
    mapping = {nid: cut.param(graph.shape(nid), graph.dtype(nid)).node for nid in sources}
    needed, stack = set(), list(roots)
    while stack:
        nid = stack.pop()
        if nid not in needed and nid not in mapping:
            needed.add(nid)
            stack.extend(graph.inputs(nid))
    copy_nodes(graph, cut, mapping, needed)
    cut.outputs = [mapping[r] for r in roots]
    return cut


def _resolve(ref: int, leaf_ids: list, node_ids: list) -> int:
    return leaf_ids[~ref] if ref < 0 else node_ids[ref]


def _bound_tensors(rec: _Recording, cotangents: list) -> list:
    """The Tensors a create_graph replay binds to the backward graph's params."""
    leaves = []
    for source in rec.sources:
        t = source if isinstance(source, Tensor) else source.ref()
        if t is None:  # the leaf itself is gone: a stand-in with its identity
            t = Tensor._make(source._array)
            t._uid, t._version, t._requires_grad = source.uid, source.version, source.requires_grad
        leaves.append(t)
    outs = []
    for node in rec.nodes:
        t = Tensor._make(node.out_data)
        t.grad_fn, t._version, t._requires_grad = node, node.out_version, True
        outs.append(t)
    return leaves + cotangents + outs


def _replay(graph: Graph, bound: list) -> list:
    """Run a backward graph through Tensor ops, so its results record grad_fn."""
    with enable_grad():
        return walk(graph, bound, lambda op, inputs, attrs: primitive(op, attrs, inputs),
                    # a copy: constants are read-only, gradients are not
                    lambda value: Tensor._make(np.array(value)))


def _compile(entry: _Entry) -> None:
    """Swap the entry's interpreter for the backend's executable, called
    through its hot path (``caller``) when it has one."""
    entry.compiled = True
    _INFO.compiles += 1
    try:
        executable = specialize.backend(entry.graph)
    except Exception as error:  # the interpreter is always right, only slower
        log.warning("staticgrad: eager backward not compiled (%s); interpreting it", error)
        return
    make = getattr(executable, "caller", None)
    if make is None:
        entry.run = lambda args: executable(*args)
        return
    call = make(list)  # takes 0-d params as scalars, as a kernel does
    scalars = [k for k, p in enumerate(entry.graph.params) if not entry.graph.shape(p)]

    def run(args):
        for k in scalars:
            args[k] = args[k][()]
        return call(*args)
    entry.run = run


def _gradients(outputs: list, cotangents: list, wrt: list, retain_graph: bool,
               create_graph: bool, rec: _Recording | None = None) -> list:
    """Gradients of ``wrt`` (arrays, or Tensors when create_graph) or None where
    no path leads to them."""
    rec = rec or _Recording(outputs)
    out_refs = [rec.ref(t) for t in outputs]
    wrt_refs = [rec.ref(t) for t in wrt]
    key = (rec.structure, tuple(out_refs), tuple(wrt_refs))
    entry = _CACHE.get(key)
    if entry is None:
        entry = _derive(rec, out_refs, wrt_refs)
        _INFO.builds += 1
        if len(_CACHE) >= _MAX_STRUCTURES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = entry
    entry.sightings += 1
    _INFO.sightings += 1
    if create_graph:
        cts = [c if isinstance(c, Tensor) else Tensor._make(c) for c in cotangents]
        bound = _bound_tensors(rec, cts)
        results = _replay(entry.graph, [bound[k] for k in entry.used])
    else:
        if entry.compiled:
            _INFO.reuses += 1
        elif entry.sightings >= specialize.config.eager_compile_threshold:
            _compile(entry)
        leaves, recorded = rec.arrays()
        args = leaves + [c._array if isinstance(c, Tensor) else c for c in cotangents] + recorded
        results = entry.run([args[k] for k in entry.used])
    if not retain_graph:
        for node in rec.nodes:
            node.freed = True
    found = dict(zip(entry.present, results))
    grads, k = [], 0
    for t, r in zip(wrt, wrt_refs):
        if r is None:
            grads.append(None)
            continue
        g = found.get(k)
        k += 1
        if g is None:  # reached, but only through ops without a derivative
            g = np.zeros(t.shape, t.dtype)
            g = Tensor._make(g) if create_graph else g
        grads.append(g)
    return grads


# -- the public functions --------------------------------------------------------------
def _tensors(x) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) else list(x)


def _cotangents(outputs: list, given, create_graph: bool) -> list:
    given = _tensors(given) if given is not None else [None] * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(f"got {len(given)} gradients for {len(outputs)} outputs")
    cts = []
    for k, (out, g) in enumerate(zip(outputs, given)):
        if g is None:
            if out._array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            cts.append(np.array(1, out.dtype).reshape(out.shape))
            continue
        array = np.asarray(g._array if isinstance(g, Tensor) else g)
        if array.shape != out.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of "
                               f"{list(array.shape)} and output[{k}] has a shape of "
                               f"{list(out.shape)}.")
        array = array.astype(out.dtype, copy=False)
        if isinstance(g, Tensor) and create_graph:
            cts.append(g if g.dtype == out.dtype else g.astype(out.dtype))
        else:
            cts.append(array)
    return cts


def _check_outputs(outputs: list) -> None:
    for k, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: output {k} is a {type(t).__name__}, not a Tensor")
        if not t._requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not "
                               "have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves
    (or of ``inputs`` only), weighting non-scalar outputs by ``grad_tensors``."""
    outputs = _tensors(tensors)
    _check_outputs(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    cts = _cotangents(outputs, grad_tensors, create_graph)
    rec = _Recording(outputs)
    if inputs is not None:
        targets = _tensors(inputs)
        if not targets:
            raise RuntimeError("backward: 'inputs' argument should not be empty")
    else:
        targets = _default_targets(rec)
    grads = _gradients(outputs, cts, targets, retain_graph, create_graph, rec)
    for t, g in zip(targets, grads):
        if g is not None:
            _accumulate(t, g, create_graph)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False,
                     inputs=None) -> None:
    """``t.backward()``: ``backward([t], [gradient], ...)``."""
    backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)


_tensor_backward.__name__ = "backward"
_tensor_backward.__qualname__ = "Tensor.backward"
Tensor.backward = _tensor_backward  # the Tensor module does not import this one


def _default_targets(rec: _Recording) -> list:
    """Leaves requiring grad, and non-leaves that retain their grad."""
    targets = []
    for source in rec.sources:
        if isinstance(source, Tensor):  # a leaf output
            targets.append(source)
        elif source.requires_grad:
            leaf = source.ref()
            if leaf is not None:
                targets.append(leaf)
    for node in rec.nodes:
        out = node.out_ref()
        if out is not None and out._retains_grad and out.grad_fn is node:
            targets.append(out)
    return targets


def _accumulate(t: Tensor, g, create_graph: bool) -> None:
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor._make(np.array(g, dtype=t.dtype, copy=True))
    elif t.grad.grad_fn is not None or t.grad._requires_grad:
        t.grad = t.grad + Tensor._make(np.asarray(g, t.dtype))
    else:
        t.grad._array += g
        t.grad._version.value += 1


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (nothing accumulates)."""
    outs = _tensors(outputs)
    _check_outputs(outs)
    ins = _tensors(inputs)
    for t in ins:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    cts = _cotangents(outs, grad_outputs, create_graph)
    grads = _gradients(outs, cts, ins, retain_graph, create_graph)
    results = []
    for g in grads:
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            results.append(None)
        else:
            results.append(g if isinstance(g, Tensor) else Tensor._make(np.array(g, copy=True)))
    return tuple(results)


# -- TensorFlow's spelling --------------------------------------------------------------------
_ACTIVE_TAPES: list = []


class GradientTape:
    """``with sg.GradientTape() as tape: ...; tape.gradient(y, x)``.

    Operations on tensors that require grad are recorded whether or not a tape
    is open; ``watch(t)`` makes a constant ``t`` require grad while the tape
    is open. A non-persistent tape answers once. ``gradient`` called while a
    tape is still open is itself recorded (nested tapes give higher orders).
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self._answered = False
        self._watched: list = []
        self._grad_mode = enable_grad()

    def __enter__(self) -> "GradientTape":
        _ACTIVE_TAPES.append(self)
        self._grad_mode.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        self._grad_mode.__exit__(*exc)
        _ACTIVE_TAPES.remove(self)
        for t in self._watched:
            t._requires_grad = False
        self._watched.clear()
        return False

    def watch(self, tensor) -> None:
        for t in _tape_tensors(tensor)[0]:
            if not t._requires_grad:
                t.requires_grad_(True)
                self._watched.append(t)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=None):
        if self._answered and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        self._answered = True
        all_targets = _tape_tensors(target)[0]
        weights = None if output_gradients is None else _tape_tensors(output_gradients)[0]
        if weights is not None and len(weights) != len(all_targets):
            raise ValueError(f"GradientTape.gradient: {len(weights)} output_gradients for "
                             f"{len(all_targets)} targets")
        # Targets that do not require grad contribute nothing; drop each with
        # its own weight, so the others stay paired with theirs.
        keep = [k for k, t in enumerate(all_targets) if t._requires_grad]
        targets = [all_targets[k] for k in keep]
        flat, structure = _tape_tensors(sources)
        if not targets:
            return pytree.unflatten(structure, [None] * len(flat))
        create = bool(_ACTIVE_TAPES)  # called inside a tape: the gradient is recorded too
        cts = ([np.ones(t.shape, t.dtype) for t in targets] if weights is None
               else _cotangents(targets, [weights[k] for k in keep], create))
        grads = _gradients(targets, cts, flat, self.persistent or create, create)
        grads = [g if g is None or isinstance(g, Tensor) else Tensor._make(np.array(g, copy=True))
                 for g in grads]
        if unconnected_gradients in ("zero", "ZERO"):
            grads = [g if g is not None else Tensor._make(np.zeros(t.shape, t.dtype))
                     for g, t in zip(grads, flat)]
        return pytree.unflatten(structure, grads)


def _tape_tensors(tree) -> tuple[list, object]:
    """The Tensors of a nest of lists, tuples and dicts, and its structure."""
    leaves, treedef = pytree.flatten(tree, none_is_leaf=True)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensors, got {type(x).__name__}")
    return leaves, treedef

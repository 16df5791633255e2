"""The one NumPy evaluator of a Graph: the reference semantics of every op.

Everything that computes a node's value with NumPy goes through here: the
interpreter backend (``Interpreter``), trace-time values (``apply``, one node
as it is created), constant folding (``apply``) and the eager Tensor's
fragments (``Program``). Floating-point warnings are silenced: a NaN or an
inf is a value, as in the compiled kernels. ``walk`` runs a graph on values
of another kind (eager Tensors, so a replayed backward records itself).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

import compiler.ops as O
from compiler.errors import GuardFailure, ShapeError
from compiler.ir import Graph


@np.errstate(all="ignore")
def apply(op: str, arrays: Sequence[Any], attrs: dict) -> np.ndarray:
    """The value of one ``op`` node whose inputs have the values ``arrays``."""
    return np.asarray(O.get_op(op).impl(*arrays, **attrs))


def walk(graph: Graph, args: Sequence[Any], apply_node: Callable[[str, list, dict], Any],
         constant: Callable[[np.ndarray], Any]) -> list:
    """The outputs of every node of ``graph`` taken in topological order, on
    ``args`` of any kind: a node's value is ``apply_node(op, input values,
    attrs)``, a constant's ``constant(array)``."""
    env = dict(zip(graph.params, args))
    for nid in graph.nodes():
        d = graph.node(nid)
        if d["op"] == "const":
            env[nid] = constant(d["attrs"]["value"])
        elif d["op"] != "param":
            env[nid] = apply_node(d["op"], [env[i] for i in d["inputs"]], d["attrs"])
    return [env[o] for o in graph.outputs]


class Program:
    """A graph's needed nodes flattened once into steps over numbered slots.

    Slots hold the params (first, in order), then the constants (filled once)
    and the computed nodes; ``run`` copies the slot list, fills in the
    arguments and calls each op's NumPy implementation in topological order.
    An eager op is one or two NumPy calls, so per-call bookkeeping is what it
    costs: ``run_single`` calls a program of one op on the params in order as
    that op, with nothing around it.
    """

    __slots__ = ("graph", "arity", "outputs", "run_single", "_env", "_steps", "_direct")

    def __init__(self, graph: Graph):
        self.graph = graph
        slot = {p: k for k, p in enumerate(graph.params)}
        self.arity = len(slot)
        self._env: list[Any] = [None] * self.arity
        self._steps = []
        for nid in sorted(graph.needed()):
            d = graph.node(nid)
            if d["op"] == "param":
                continue
            slot[nid] = len(self._env)
            if d["op"] == "const":
                self._env.append(d["attrs"]["value"])
                continue
            self._env.append(None)
            self._steps.append((O.get_op(d["op"]).impl, tuple(slot[i] for i in d["inputs"]),
                                d["attrs"], slot[nid], nid))
        self.outputs = [slot[o] for o in graph.outputs]
        self._direct = None
        if (len(self._steps) == 1 and len(self._env) == self.arity + 1
                and self._steps[0][1] == tuple(range(self.arity)) and self.outputs == [self.arity]):
            self._direct = self._steps[0][0], self._steps[0][2]
            self.run_single = self._run_direct
        else:
            self.run_single = self._run_first

    @np.errstate(all="ignore")  # as a decorator it costs half what a with-block does
    def run(self, arrays: Sequence[Any]) -> list:
        """The outputs' values (NumPy arrays or scalars) for the params' ``arrays``.

        A guard that does not hold raises GuardFailure naming its node.
        """
        env = self._env.copy()
        env[:self.arity] = arrays
        nid = None
        try:
            for impl, inputs, attrs, out, nid in self._steps:
                env[out] = impl(*[env[i] for i in inputs], **attrs)
        except GuardFailure as failure:
            raise GuardFailure(failure.site, nid) from None
        return [env[o] for o in self.outputs]

    @np.errstate(all="ignore")
    def _run_direct(self, arrays: Sequence[Any]) -> Any:
        impl, attrs = self._direct
        return impl(*arrays, **attrs)

    def _run_first(self, arrays: Sequence[Any]) -> Any:
        return self.run(arrays)[0]


class Interpreter:
    """Evaluates a graph's outputs from its params, checking their shapes and
    the graph's guards: the oracle the compiled code is tested against, and
    the fallback backend."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.params = list(graph.params)
        self.outputs = list(graph.outputs)
        self.program = Program(graph)
        self.shapes = [(graph.shape(p), graph.dtype(p)) for p in graph.params]

    def __call__(self, *args: Any) -> list[np.ndarray]:
        if len(args) != len(self.shapes):
            raise TypeError(f"graph takes {len(self.shapes)} arguments, got {len(args)}")
        arrays = [np.asarray(a) for a in args]
        for k, (a, (shape, _)) in enumerate(zip(arrays, self.shapes)):
            if a.shape != shape:
                raise ShapeError(f"argument {k}: expected shape {shape}, got {a.shape}")
        return [np.asarray(v) for v in self.program.run(arrays)]


def evaluate(graph: Graph, args: Sequence[Any]) -> list[np.ndarray]:
    """One-off evaluation of ``graph.outputs``."""
    return Interpreter(graph)(*args)

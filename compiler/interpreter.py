"""NumPy reference evaluation of any Graph: the oracle and the fallback."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import compiler.ops as O
from compiler.errors import GuardFailure, ShapeError
from compiler.ir import Graph


class Interpreter:
    """Evaluates a graph's outputs from its params, checking its guards.

    The instruction list is built once; each call walks it with NumPy.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        keep = graph.needed()
        self.params = list(graph.params)
        self.outputs = list(graph.outputs)
        self.program = []
        for nid in graph.nodes():
            op = graph.op(nid)
            if nid in keep and op != "param":
                self.program.append((nid, O.get_op(op).impl, graph.inputs(nid), graph.attrs(nid)))
        self.shapes = [(graph.shape(p), graph.dtype(p)) for p in graph.params]

    def __call__(self, *args: Any) -> list[np.ndarray]:
        if len(args) != len(self.params):
            raise TypeError(f"graph takes {len(self.params)} arguments, got {len(args)}")
        env: dict[int, Any] = {}
        for p, a, (shape, dtype) in zip(self.params, args, self.shapes):
            a = np.asarray(a)
            if a.shape != shape:
                raise ShapeError(f"argument {len(env)}: expected shape {shape}, got {a.shape}")
            env[p] = a
        with np.errstate(all="ignore"):
            for nid, impl, inputs, attrs in self.program:
                try:
                    env[nid] = impl(*[env[i] for i in inputs], **attrs)
                except GuardFailure as failure:
                    raise GuardFailure(failure.site, nid) from None
        return [np.asarray(env[o]) for o in self.outputs]


def evaluate(graph: Graph, args: Sequence[Any]) -> list[np.ndarray]:
    """One-off evaluation of ``graph.outputs``."""
    return Interpreter(graph)(*args)

"""The IR: a Graph of primitive ops held in a networkx DiGraph, and Value handles.

Nodes are integers in creation order, so creation order is a topological
order. Each node carries ``op`` (a name in the op registry), ``inputs`` (the
ordered tuple of argument nodes: ``x * x`` has inputs ``(x, x)`` while the
DiGraph keeps a single edge), ``attrs`` (static parameters), ``shape`` and
``dtype``. Edges mirror ``inputs`` so networkx algorithms (ancestors,
descendants, cuts, DOT export) work on ``graph.nx`` directly.

This module imports nothing from ``compiler.ops``, which builds on it: the op
registry installs itself (``Graph.op_rules``, the lookup of an op's shape rule
and traits by name) and ``Value``'s Python operators when it is imported.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from compiler.errors import CompilerError


def freeze(value: Any) -> Any:
    """A hashable, deterministic key for a static value (an op's attribute, an
    eager call's static argument): arrays by their bytes, containers element
    by element, scalars with their type, so ``2``, ``2.0`` and ``True`` differ.
    A value of another kind is its own key (hash it to know it is one)."""
    if isinstance(value, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()
        return ("array", value.dtype.str, value.shape, digest)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, slice):
        return ("slice", freeze(value.start), freeze(value.stop), freeze(value.step))
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.item())
    if isinstance(value, type) and value not in (int, float, bool, complex):
        try:
            return ("dtype", np.dtype(value).str)
        except TypeError:
            pass
    return (type(value).__name__, value)


def _no_op_registry(name: str) -> Any:
    raise CompilerError(f"no op registry to look up {name!r} in: import compiler.ops")


def attrs_key(attrs: dict) -> tuple:
    """Hashable key of an attrs dict (arrays hashed by their bytes)."""
    return tuple(sorted((k, freeze(v)) for k, v in attrs.items() if not k.startswith("_")))


class Graph:
    """A static dataflow graph of primitive ops.

    ``params`` are the input nodes (op ``param``) in argument order;
    ``outputs`` the nodes the graph computes. Listeners registered in
    ``listeners`` are called with each new node id (tracing uses this to
    evaluate every node concretely as it is created).
    """

    def __init__(self) -> None:
        self.nx = nx.DiGraph()
        self.params: list[int] = []
        self.outputs: list[int] = []
        self.listeners: list[Callable[[int], None]] = []
        self._next = 0

    # The op registry's lookup, ``op_rules(name) -> Op`` (installed by compiler.ops).
    op_rules: Callable[[str], Any] = staticmethod(_no_op_registry)

    # -- building -------------------------------------------------------
    def add(self, op: str, inputs: Sequence[int] = (), attrs: dict | None = None) -> int:
        """Add a node, inferring its shape and dtype from the op's rule."""
        opdef = self.op_rules(op)
        attrs = dict(attrs or {})
        inputs = tuple(int(i) for i in inputs)
        shapes = [self.nx.nodes[i]["shape"] for i in inputs]
        dtypes = [self.nx.nodes[i]["dtype"] for i in inputs]
        attrs = opdef.canonicalize(shapes, dtypes, attrs)
        shape, dtype = opdef.infer(shapes, dtypes, attrs)
        return self._insert(op, inputs, attrs, tuple(shape), np.dtype(dtype))

    def _insert(self, op: str, inputs: tuple, attrs: dict, shape: tuple, dtype: np.dtype) -> int:
        nid = self._next
        self._next += 1
        self.nx.add_node(nid, op=op, inputs=inputs, attrs=attrs, shape=shape, dtype=dtype)
        for i in inputs:
            self.nx.add_edge(i, nid)
        for listener in self.listeners:
            listener(nid)
        return nid

    def param(self, shape: Sequence[int], dtype: Any, name: str | None = None) -> "Value":
        """Append an input of the given shape and dtype."""
        index = len(self.params)
        nid = self._insert("param", (), {"index": index, "name": name or f"arg{index}"},
                           tuple(int(s) for s in shape), np.dtype(dtype))
        self.params.append(nid)
        return Value(self, nid)

    def const(self, value: Any, dtype: Any = None) -> "Value":
        """A constant node holding ``value`` (an array or a scalar)."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype == object:
            raise CompilerError(f"cannot make a constant of {type(value).__name__}")
        array = array.copy()
        array.setflags(write=False)
        return Value(self, self._insert("const", (), {"value": array}, array.shape, array.dtype))

    def value(self, nid: int) -> "Value":
        return Value(self, nid)

    # -- reading --------------------------------------------------------
    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def __contains__(self, nid: int) -> bool:
        return nid in self.nx

    def nodes(self) -> list[int]:
        """Node ids in topological (creation) order."""
        return sorted(self.nx.nodes)

    def node(self, nid: int) -> dict:
        return self.nx.nodes[nid]

    def op(self, nid: int) -> str:
        return self.nx.nodes[nid]["op"]

    def inputs(self, nid: int) -> tuple:
        return self.nx.nodes[nid]["inputs"]

    def attrs(self, nid: int) -> dict:
        return self.nx.nodes[nid]["attrs"]

    def shape(self, nid: int) -> tuple:
        return self.nx.nodes[nid]["shape"]

    def dtype(self, nid: int) -> np.dtype:
        return self.nx.nodes[nid]["dtype"]

    def is_const(self, nid: int) -> bool:
        return self.op(nid) == "const"

    def const_value(self, nid: int) -> np.ndarray:
        return self.attrs(nid)["value"]

    def needed(self, roots: Iterable[int] | None = None) -> set[int]:
        """Nodes the outputs (and guards) depend on, themselves included."""
        roots = list(self.outputs if roots is None else roots)
        roots += [n for n in self.nx.nodes if self.op_rules(self.op(n)).effect]
        keep = set(roots)
        for r in roots:
            keep |= nx.ancestors(self.nx, r)
        return keep

    # -- identity, checking, export ------------------------------------
    def structural_key(self) -> str:
        """A stable hash of ops, inputs, attrs, shapes and dtypes, params and outputs.

        Constants are hashed by their bytes, so a changed captured array or a
        changed function body gives a different key.
        """
        h = hashlib.sha256()
        renumber = {nid: k for k, nid in enumerate(self.nodes())}
        for nid in self.nodes():
            d = self.nx.nodes[nid]
            record = (d["op"], tuple(renumber[i] for i in d["inputs"]), attrs_key(d["attrs"]),
                      d["shape"], d["dtype"].str)
            h.update(repr(record).encode())
        h.update(repr(([renumber[p] for p in self.params],
                       [renumber[o] for o in self.outputs])).encode())
        return h.hexdigest()

    def check(self) -> "Graph":
        """Lint: edges mirror inputs, inputs precede users, shapes match the op rules."""
        for nid in self.nodes():
            d = self.nx.nodes[nid]
            opdef = self.op_rules(d["op"])
            for i in d["inputs"]:
                if i not in self.nx or i >= nid:
                    raise CompilerError(f"node {nid} ({d['op']}) reads node {i}, "
                                        "which is missing or not earlier")
            if set(self.nx.predecessors(nid)) != set(d["inputs"]):
                raise CompilerError(f"node {nid} ({d['op']}): edges do not mirror inputs")
            if d["op"] not in ("param", "const"):
                shapes = [self.shape(i) for i in d["inputs"]]
                dtypes = [self.dtype(i) for i in d["inputs"]]
                shape, dtype = opdef.infer(shapes, dtypes, d["attrs"])
                if tuple(shape) != d["shape"] or np.dtype(dtype) != d["dtype"]:
                    raise CompilerError(f"node {nid} ({d['op']}): recorded {d['shape']} "
                                        f"{d['dtype']} but the rule gives {shape} {dtype}")
        for p in self.params:
            if self.op(p) != "param":
                raise CompilerError(f"parameter {p} is a {self.op(p)} node")
        for o in self.outputs:
            if o not in self.nx:
                raise CompilerError(f"output {o} is not in the graph")
        return self

    def label(self, nid: int) -> str:
        d = self.nx.nodes[nid]
        attrs = ", ".join(f"{k}={v}" for k, v in d["attrs"].items()
                          if k not in ("value", "site") and not k.startswith("_"))
        if d["op"] == "const":
            v = d["attrs"]["value"]
            attrs = repr(v.item()) if v.size == 1 else f"array{v.shape}"
        shape = "x".join(map(str, d["shape"])) or "scalar"
        return f"%{nid} {d['op']}" + (f"({attrs})" if attrs else "") + f"\n{shape} {d['dtype']}"

    def to_dot(self) -> str:
        """Graphviz DOT text: one box per node labelled with op, attrs, shape, dtype."""
        lines = ["digraph staticgrad {", "  node [shape=box, fontname=monospace];"]
        for nid in self.nodes():
            label = self.label(nid).replace('"', r"\"").replace("\n", r"\n")
            style = ""
            if nid in self.params:
                style = ", style=filled, fillcolor=lightblue"
            elif nid in self.outputs:
                style = ", style=filled, fillcolor=lightyellow"
            lines.append(f'  n{nid} [label="{label}"{style}];')
        for nid in self.nodes():
            for pos, i in enumerate(self.inputs(nid)):
                lines.append(f'  n{i} -> n{nid} [label="{pos}"];')
        lines.append("}")
        return "\n".join(lines)

    def __str__(self) -> str:
        rows = []
        for nid in self.nodes():
            d = self.nx.nodes[nid]
            args = ", ".join(f"%{i}" for i in d["inputs"])
            rows.append(f"%{nid} = {self.label(nid).splitlines()[0].split(' ', 1)[1]}({args})"
                        f"  : {d['shape']} {d['dtype']}")
        rows.append(f"params {self.params}  outputs {self.outputs}")
        return "\n".join(rows)


class Value:
    """A symbolic value: a handle on (graph, node) with NumPy-like operators
    (``+ - * / ** @``, unary ``-``, comparisons, ``[]``, ``.T``, ``.sum``,
    ``.reshape``, ``.astype``), installed by compiler.ops, where each is defined.

    Derivative rules are written with Values, so derivatives are graphs and
    can be differentiated again.
    """

    __slots__ = ("graph", "node")
    __array_priority__ = 1000

    def __init__(self, graph: Graph, node: int):
        self.graph = graph
        self.node = node

    @property
    def shape(self) -> tuple:
        return self.graph.shape(self.node)

    @property
    def dtype(self) -> np.dtype:
        return self.graph.dtype(self.node)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def op(self) -> str:
        return self.graph.op(self.node)

    def __repr__(self) -> str:
        return f"Value(%{self.node} {self.op} {self.shape} {self.dtype})"

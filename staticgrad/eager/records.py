"""What the graph of an eager computation is made of: a tensor's identity and
version counter, and the ``grad_fn`` nodes with an edge per operand.

Nodes point to their operands' nodes and hold leaf tensors only weakly, so a
gradient recorded with ``create_graph=True`` (``x.grad`` whose graph reads
``x``) makes no reference cycle: everything is freed by reference counting.
"""
from __future__ import annotations

import functools
import itertools
import weakref

# Every tensor gets a number of its own (how a backward tells leaves apart).
_UIDS = itertools.count()


class _Version:
    """A tensor's version counter, bumped by every in-place change; shared by
    ``detach()`` results, which share the array."""

    value = 0  # until the first change: made without an __init__ call


class Edge:
    """One operand of a recorded op: its producer node (None for a leaf), its
    array and the version that array had when it was recorded."""

    __slots__ = ("node", "uid", "_array", "version", "seen", "ref", "requires_grad")

    def __init__(self, t: "Tensor"):
        self.node = t.grad_fn
        self.uid = t._uid
        self._array = t._array
        self.version = t._version
        self.seen = t._version.value
        self.requires_grad = t._requires_grad
        self.ref = weakref.ref(t) if t.grad_fn is None else None


_SEQUENCE = itertools.count()


class Node:
    """A ``grad_fn``: the fragment that produced a tensor, and its operands.

    Subclassed per name (``MulBackward0``) so ``type(t.grad_fn).__name__`` and
    the repr read as in PyTorch.
    """

    __slots__ = ("fragment", "edges", "seq", "out_data", "out_version", "out_seen",
                 "out_ref", "freed", "__weakref__")

    def __init__(self, fragment: Fragment, operands: list, out: "Tensor"):
        self.fragment = fragment
        self.edges = tuple(map(Edge, operands))
        self.seq = next(_SEQUENCE)
        self.out_data = out._array
        self.out_version = out._version
        self.out_seen = out._version.value
        self.out_ref = weakref.ref(out)
        self.freed = False

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        return tuple((e.node, 0) for e in self.edges if e.requires_grad)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


@functools.lru_cache(maxsize=None)
def _node_class(name: str) -> type:
    variant = name[-1] if name[-1].isdigit() else "0"  # "Sum1" -> SumBackward1
    return type(name.rstrip("0123456789") + "Backward" + variant, (Node,), {"__slots__": ()})

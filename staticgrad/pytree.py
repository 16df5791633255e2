"""Nested tuples, lists and dicts of arrays, flattened to leaves and back.

Leaves are the array-like values: arrays, NumPy scalars, Python numbers and
anything with ``__array__`` (traced values, Tensors). Every other value
(strings, None, callables, enums, dtypes, ...) is *static*: it is kept in the
structure itself, so it is part of a cache key and comes back unchanged, as
torch.compile treats non-tensor arguments.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

_NUMBERS = (bool, int, float, complex, np.generic, np.ndarray)


def is_leaf(node: Any) -> bool:
    """Array-like: traced (or an operand), never static."""
    return isinstance(node, _NUMBERS) or hasattr(type(node), "__array__") \
        or hasattr(node, "__array_interface__")


def flatten(tree: Any, none_is_leaf: bool = False) -> tuple[list, Any]:
    """Leaves in order, and a hashable description of the structure (dicts in
    the order of their sorted keys). ``None`` is structure, not a leaf, unless
    ``none_is_leaf``."""
    leaves: list = []

    def walk(node):
        if isinstance(node, (tuple, list)):
            return (type(node).__name__, tuple(walk(n) for n in node))
        if isinstance(node, dict):
            keys = tuple(sorted(node))
            return ("dict", keys, tuple(walk(node[k]) for k in keys))
        if node is None and not none_is_leaf:
            return ("none",)
        if not is_leaf(node):
            return ("static", node)
        leaves.append(node)
        return ("leaf",)

    return leaves, walk(tree)


def unflatten(treedef: Any, leaves: list) -> Any:
    it = iter(leaves)

    def build(d):
        kind = d[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return None
        if kind == "static":
            return d[1]
        if kind == "dict":
            return {k: build(c) for k, c in zip(d[1], d[2])}
        children = [build(c) for c in d[1]]
        return tuple(children) if kind == "tuple" else list(children)

    return build(treedef)


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(leaf) for leaf in leaves])

"""Nested tuples, lists and dicts of arrays, flattened to leaves and back."""
from __future__ import annotations

from typing import Any, Callable


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
        if kind == "dict":
            return {k: build(c) for k, c in zip(d[1], d[2])}
        children = [build(c) for c in d[1]]
        return tuple(children) if kind == "tuple" else list(children)

    return build(treedef)


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(leaf) for leaf in leaves])

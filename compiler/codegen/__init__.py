"""The Numba backend: a Graph becomes one compiled Numba function.

``compile_graph(graph)`` returns a :class:`~compiler.codegen.compile.Compiled`
executable, ``(*arrays) -> list of arrays``. The fusion plan (``plan.py``),
the loop IR (``loopir.py``) and the source generator (``source.py``) need no
Numba; ``compile.py`` imports it, on first use.
"""
from __future__ import annotations


def compile_graph(graph, name: str = "kernel", fuse: bool = True, disk: bool = True,
                  part_size: int | None = None):
    """Generate, cache and compile the kernel of ``graph`` (see ``compile.py``)."""
    from compiler.codegen.compile import compile_graph as compile_

    return compile_(graph, name=name, fuse=fuse, disk=disk, part_size=part_size)


def generate_source(graph, fuse: bool = True) -> str:
    """The generated kernel source of ``graph``, without compiling it."""
    from compiler.codegen.source import generate

    return generate(graph, fuse=fuse).source

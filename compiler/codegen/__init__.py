"""The Numba backend: a Graph becomes one compiled Numba function.

``compile_graph(graph)`` returns a :class:`~compiler.codegen.compile.Compiled`
executable, ``(*arrays) -> list of arrays``. The fusion plan (``plan.py``),
the loop IR (``loopir.py``) and the source generator (``source.py``) need no
Numba; ``compile.py`` imports it, on first use.
``compile_graph_in_background(graph)`` returns a future of the same.
"""
from __future__ import annotations


def compile_graph(graph, name: str = "kernel", fuse: bool = True, disk: bool = True,
                  part_size: int | None = None, vector_math: bool = True):
    """Generate, cache and compile the kernel of ``graph`` (see ``compile.py``)."""
    from compiler.codegen.compile import compile_graph as compile_

    options = {} if vector_math else {"vector_math": False}   # as in background.py
    return compile_(graph, name=name, fuse=fuse, disk=disk, part_size=part_size, **options)


def generate_source(graph, fuse: bool = True, vector_math: bool = True) -> str:
    """The generated kernel source of ``graph``, without compiling it."""
    from compiler.codegen.source import generate

    return generate(graph, fuse=fuse, vector_math=vector_math).source


def compile_graph_in_background(graph, name: str = "kernel", fuse: bool = True,
                                disk: bool = True, vector_math: bool = True):
    """A ``concurrent.futures.Future`` of ``compile_graph(graph, ...)``, compiled
    on a background thread (see ``background.py``)."""
    from compiler.codegen.background import compile_graph_in_background as compile_

    return compile_(graph, name=name, fuse=fuse, disk=disk, vector_math=vector_math)


def in_background(job):
    """A future of ``job()``, run on the compiling thread (see ``background.py``)."""
    from compiler.codegen.background import in_background as in_background_

    return in_background_(job)


def warm_up():
    """Start Numba (its import and typing registries) on the background thread;
    returns a future."""
    from compiler.codegen.background import warm_up as warm_up_

    return warm_up_()

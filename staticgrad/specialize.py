"""Specialisations: signature keys, guard paths, retraces and cache_info().

A transformed function keeps, per signature (argument shapes, dtypes, memory
layout, static arguments), a short list of specialisations, one per path
through the user's Python control flow. A call tries them in turn; each
checks its guards; if none holds, the function is retraced and the new path
kept beside the others.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Callable

import numpy as np

from compiler.errors import GuardFailure, UnsupportedOperationError
from compiler.interpreter import Interpreter
from staticgrad import pytree
from staticgrad.errors import RetraceLimitError

log = logging.getLogger("staticgrad")


@dataclasses.dataclass
class Config:
    """Library-wide settings (``sg.config``).

    - ``max_specializations``: paths kept per signature when a *value* guard
      fails (``float(x)``/``int(x)`` of a traced value: a new specialisation per
      value), before RetraceLimitError names the guard's source line.
    - ``max_paths``: paths kept per signature when a *branch* guard fails
      (``if``/``while``): a loop taking 0..k iterations has k + 1 paths.
    - ``backend``: ``"numba"`` (compiled) or ``"interpreter"`` (NumPy reference).
    - ``eager_compile_threshold``: an eager backward is compiled the n-th time
      its graph structure is seen.
    - ``max_loop_iterations``: a ``sg.while_loop`` running more iterations
      raises LoopLimitError (None: no limit). Read when the loop runs in plain
      NumPy, and when it is traced (the traced loop keeps that limit).
    """

    max_specializations: int = 8
    max_paths: int = 64
    backend: str = os.environ.get("STATICGRAD_BACKEND", "numba")
    eager_compile_threshold: int = 2
    max_loop_iterations: int | None = None


config = Config()


def _leaf_signature(x: Any) -> tuple:
    if isinstance(x, np.ndarray):
        return (x.shape, x.dtype.str, x.flags.c_contiguous)
    if isinstance(x, np.generic):  # before float: np.float64 is a float subclass
        return ((), x.dtype.str, True)
    if isinstance(x, (bool, int, float, complex)):
        return (type(x).__name__,)
    array = np.asarray(x)
    if array.dtype == object:
        raise TypeError(f"argument of type {type(x).__name__} is not an array; "
                        "pass an array or mark it static (static_argnums)")
    return ("list", array.shape, array.dtype.str)


def _signature_change(old: tuple, new: tuple) -> str:
    """Why a key is new, e.g. "new signature: argument 0 (3,) float64 -> (4,) float64"."""
    (old_tree, old_static, old_sig), (new_tree, new_static, new_sig) = old, new
    if old_tree != new_tree or len(old_sig) != len(new_sig):
        return "new signature: different argument structure"
    if old_static != new_static:
        return f"new signature: static arguments {old_static!r} -> {new_static!r}"
    changes = [f"argument {k} {_show(a)} -> {_show(b)}"
               for k, (a, b) in enumerate(zip(old_sig, new_sig)) if a != b]
    return "new signature: " + "; ".join(changes)


def _show(leaf_sig: tuple) -> str:
    if len(leaf_sig) == 1:
        return f"Python {leaf_sig[0]}"
    shape, dtype = leaf_sig[-3:-1] if leaf_sig[0] != "list" else leaf_sig[1:]
    layout = "" if len(leaf_sig) < 3 or leaf_sig[0] == "list" or leaf_sig[2] else " non-contiguous"
    return f"{shape} {np.dtype(dtype).name}{layout}"


def signature(leaves: list) -> tuple:
    return tuple(_leaf_signature(x) for x in leaves)


def backend(graph, name: str = "kernel", disk: bool = True):
    """The executable of an optimised graph: compiled, or the interpreter.

    A graph holding an op form the Numba backend has no emitter for runs on
    the interpreter (same results, NumPy speed), with a warning naming it.
    """
    if config.backend == "numba":
        from compiler.codegen import compile_graph
        try:
            return compile_graph(graph, name=name, disk=disk)
        except UnsupportedOperationError as e:
            log.warning("staticgrad: %s runs on the interpreter: %s", name, e)
    return Interpreter(graph)


def caller(run, out_tree):
    """The hot-path function of a specialisation: leaves -> the user's result."""
    single = out_tree == ("leaf",)
    finish = None if single else (lambda outs: pytree.unflatten(out_tree, outs))
    make = getattr(run, "caller", None)
    if make is not None:
        return make(finish)

    def call(*leaves):
        outs = [o[()] if isinstance(o, np.ndarray) and o.ndim == 0 else o for o in run(*leaves)]
        return outs[0] if single else finish(outs)
    return call


@dataclasses.dataclass
class Specialization:
    graph: Any            # the optimised graph that runs (the traced one, with every
                          # concrete value of the trace, is not kept)
    run: Callable         # executable: leaves -> list of arrays; raises GuardFailure
    out_tree: Any
    value_guards: int = 0  # value-guard retraces that led here
    call: Callable = None  # the hot path: leaves -> result (see ``caller``)

    def __post_init__(self):
        if self.call is None:
            self.call = caller(self.run, self.out_tree)


@dataclasses.dataclass
class CacheInfo:
    """What ``f.cache_info()`` returns."""

    name: str
    specializations: int = 0
    hits: int = 0
    traces: int = 0
    retraces: list = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.specializations} specialisation(s), {self.hits} hit(s), "
                 f"{self.traces} trace(s), {len(self.retraces)} retrace(s)"]
        lines += [f"  retrace: {r}" for r in self.retraces]
        return "\n".join(lines)


class Specializer:
    """The per-function cache: signature -> list of specialisations."""

    def __init__(self, name: str):
        self.name = name
        self.table: dict[tuple, list[Specialization]] = {}
        self.info = CacheInfo(name)

    def lookup(self, key: tuple, leaves: list):
        """(spec, outputs) for the first specialisation whose guards hold, or
        (None, failure) where failure is the GuardFailure of the newest path."""
        specs = self.table.get(key)
        if not specs:
            return None, None
        failure = None
        for k, spec in enumerate(specs):
            try:
                outs = spec.run(*leaves)
            except GuardFailure as f:
                failure = failure or (f, spec)
                continue
            if k:  # keep the path in use at the front
                specs.insert(0, specs.pop(k))
            self.info.hits += 1
            return spec, outs
        return None, failure

    def admit(self, key: tuple, failure) -> str | None:
        """Check the limits before a retrace; return the kind of guard that failed."""
        specs = self.table.get(key, [])
        self.info.traces += 1
        if failure is None:
            known = list(self.table)
            reason = _signature_change(known[-1], key) if known else "first call"
            if known:
                self.info.retraces.append(reason)
            log.info("staticgrad: tracing %s: %s", self.name, reason)
            return None
        f, spec = failure
        kind = spec.graph.attrs(f.node).get("kind", "branch") if f.node in spec.graph else "branch"
        value_guards = sum(s.value_guards for s in specs)
        if kind == "value" and value_guards + 1 >= config.max_specializations:
            raise RetraceLimitError(
                f"{self.name}: {value_guards + 1} specialisations for one signature; the value "
                f"guard at {f.site} (float()/int() of a traced value) fails on every new value. "
                "Pass that value as a static argument (static_argnums) or keep it an array. "
                f"(limit: sg.config.max_specializations = {config.max_specializations})")
        if len(specs) >= config.max_paths:
            raise RetraceLimitError(
                f"{self.name}: more than {config.max_paths} paths for one signature; the guard "
                f"at {f.site} keeps failing (limit: sg.config.max_paths)")
        reason = f"guard at {f.site} failed ({kind})"
        self.info.retraces.append(reason)
        log.info("staticgrad: retracing %s: %s", self.name, reason)
        return kind

    def store(self, key: tuple, spec: Specialization, kind_of_failure: str | None) -> None:
        spec.value_guards = int(kind_of_failure == "value")
        self.table.setdefault(key, []).insert(0, spec)
        self.info.specializations += 1

"""Specialisations: signature keys, guard paths, retraces and cache_info().

A transformed function keeps, per signature (argument shapes, dtypes, memory
layout, static arguments), a short list of specialisations, one per path
through the user's Python control flow. A call tries them in turn; each
checks its guards; if none holds, the function is retraced and the new path
kept beside the others.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
from typing import Any, Callable

import numpy as np

from compiler.errors import GuardFailure, UnsupportedOperationError
from compiler.interpreter import Interpreter
from staticgrad import pytree
from staticgrad.errors import ArgumentTypeError, RetraceLimitError

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
    - ``compile_in_background``: with the numba backend, a new specialisation's
      kernel compiles on a background thread; until it is ready, calls run on
      the reference interpreter (same results to rounding), then on the kernel.
      ``False`` (``STATICGRAD_COMPILE_IN_BACKGROUND=0``) waits for the kernel on
      the first call and answers it from the kernel. ``f.compile(...)`` always
      waits. With the numba backend, importing staticgrad starts Numba on the
      compiler thread (``STATICGRAD_WARM_UP=0`` does not).
    - ``max_loop_iterations``: a ``sg.while_loop`` running more iterations
      raises LoopLimitError (None: no limit). Read when the loop runs in plain
      NumPy, and when it is traced (the traced loop keeps that limit).
    - ``vector_math``: compiled loops compute exp, expm1, log, log1p, tanh,
      sin, cos and sigmoid with branch-free kernels LLVM vectorises
      (compiler/codegen/vecmath.py, within 4 ulp of NumPy) instead of libm, in
      loops long enough to vectorise; False keeps libm everywhere. Read when a
      specialisation is compiled: kernels compiled before a change keep theirs.
    """

    max_specializations: int = 8
    max_paths: int = 64
    backend: str = os.environ.get("STATICGRAD_BACKEND", "numba")
    eager_compile_threshold: int = 2
    compile_in_background: bool = os.environ.get("STATICGRAD_COMPILE_IN_BACKGROUND",
                                                 "1").strip().lower() not in ("0", "false", "no")
    max_loop_iterations: int | None = None
    vector_math: bool = True


config = Config()


def _leaf_signature(x: Any, name: str = "function") -> tuple:
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise ArgumentTypeError(
                f"{name}: an argument is a NumPy array of dtype object (shape {x.shape}); "
                "staticgrad traces numeric arrays: convert it (np.asarray(x, dtype=float)) "
                "or pass it as a static argument (static_argnums)")
        return (x.shape, x.dtype.str, x.flags.c_contiguous)
    if isinstance(x, np.generic):  # before float: np.float64 is a float subclass
        return ((), x.dtype.str, True)
    if isinstance(x, (bool, int, float, complex)):
        return (type(x).__name__,)
    array = np.asarray(x)
    if array.dtype == object:
        raise ArgumentTypeError(f"{name}: an argument of type {type(x).__name__} is not a "
                                "numeric array; pass an array or mark it static "
                                "(static_argnums)")
    return ("list", array.shape, array.dtype.str)


def _signature_change(old: tuple, new: tuple) -> str:
    """Why a key is new, e.g. "new signature: argument 0 (3,) float64 -> (4,) float64"."""
    (old_tree, old_static, old_sig), (new_tree, new_static, new_sig) = old, new
    if old_tree != new_tree or len(old_sig) != len(new_sig):
        return "new signature: different argument structure or static (non-array) values"
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


def signature(leaves: list, name: str = "function") -> tuple:
    return tuple(_leaf_signature(x, name) for x in leaves)


def backend(graph, name: str = "kernel", disk: bool = True):
    """The executable of an optimised graph: compiled, or the interpreter.

    A graph holding an op form the Numba backend has no emitter for runs on
    the interpreter (same results, NumPy speed), with a warning naming it.
    """
    if config.backend == "numba":
        from compiler.codegen import compile_graph
        try:
            return compile_graph(graph, name=name, disk=disk, vector_math=config.vector_math)
        except (UnsupportedOperationError, RecursionError) as e:
            _warn_interpreted(graph, name, e)
    return Interpreter(graph)


def _warn_interpreted(graph, name: str, e: BaseException) -> None:
    """Say why ``graph`` runs on the interpreter: Numba cannot compile it."""
    if isinstance(e, RecursionError):
        # A very deep chain of fused expressions (a long unrolled Python
        # loop) is more than the code generator's recursion can write.
        log.warning("staticgrad: %s runs on the interpreter: its graph (%d nodes) is too "
                    "deep for the Numba code generator", name, len(graph))
    else:
        log.warning("staticgrad: %s runs on the interpreter: %s", name, e)


def _kernel_or_interpreter(future, graph, name: str, wait: bool):
    """The executable a background compile ended with: its kernel, or the
    interpreter (with the warning ``backend`` gives) when Numba could not
    compile it; None when it is not done and not waited for."""
    try:
        return future.result() if wait or future.done() else None
    except (UnsupportedOperationError, RecursionError) as e:  # as in backend()
        _warn_interpreted(graph, name, e)
    except concurrent.futures.CancelledError:
        pass
    except Exception as e:  # results stay right on the interpreter; say why
        log.warning("staticgrad: %s runs on the interpreter: compiling its kernel failed "
                    "(%s: %s)", name, type(e).__name__, e, exc_info=True)
    return Interpreter(graph)


class TieredRun:
    """An executable, leaves -> outputs, that runs on the interpreter until
    the kernel compiling in the background is ready, then on the kernel
    (for specialisations received by pickling, whose hot path is generic)."""

    def __init__(self, graph, name: str = "kernel", disk: bool = True):
        from compiler.codegen import compile_graph_in_background

        self.graph, self.name = graph, name
        self.interpreter = Interpreter(graph)
        self.pending = compile_graph_in_background(graph, name=name, disk=disk,
                                                   vector_math=config.vector_math)
        self.run = None

    def __call__(self, *leaves):
        run = self.run if self.run is not None else self._ready()
        return (run if run is not None else self.interpreter)(*leaves)

    def _ready(self):
        self.run = _kernel_or_interpreter(self.pending, self.graph, self.name, wait=False)
        return self.run


def executable(graph, name: str = "kernel", disk: bool = True):
    """``backend(graph)``, or with ``config.compile_in_background`` a
    ``TieredRun`` that does not wait for the kernel."""
    if config.backend == "numba" and config.compile_in_background:
        return TieredRun(graph, name, disk)
    return backend(graph, name, disk)


def specialization(graph, out_tree, name: str = "kernel", disk: bool = True) -> "Specialization":
    """A new specialisation of ``graph``: compiled now, compiling in the
    background (``config.compile_in_background``), or interpreted."""
    if config.backend == "numba" and config.compile_in_background:
        return Specialization.tiered(graph, out_tree, name, disk)
    return Specialization(graph, backend(graph, name, disk=disk), out_tree, name=name)


def _template(tree, counter) -> str | None:
    """The Python expression that builds a result of structure ``tree`` (tuples,
    lists and leaves) from the outputs ``{0}``, ``{1}``, ...; None for others."""
    kind = tree[0]
    if kind == "leaf":
        return "{" + str(next(counter)) + "}"
    if kind not in ("tuple", "list"):
        return None
    items = [_template(t, counter) for t in tree[1]]
    if None in items:
        return None
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    return "(" + "".join(i + ", " for i in items) + ")"


def caller(run, out_tree, hot: bool = False):
    """The hot-path function of a specialisation: leaves -> the user's result.
    Its callers (``Transformed``'s fast path) pass arrays of exactly the traced
    dtypes, shapes and C order, so a kernel's entry point is called directly.

    ``hot``: a function that takes any arguments, checks their types (in Numba's
    dispatcher) and shapes (in the kernel module's ``hot()``) and raises
    ``HotMiss`` when they are not the compiled ones or a guard fails; None
    when the executable has no such entry (see ``Compiled.caller``)."""
    import itertools

    single = out_tree == ("leaf",)
    finish = None if single else (lambda outs: pytree.unflatten(out_tree, outs))
    make = getattr(run, "caller", None)
    if make is not None:
        template = None if single else _template(out_tree, itertools.count())
        if not hot:
            return make(finish, template, exact=True)
        try:
            return make(finish, template, hot=True)
        except UnsupportedOperationError:
            return None
    if hot:
        return None

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
    name: str = "kernel"
    pending: Any = None   # the Future of the kernel compiling in the background
    on_switch: list = dataclasses.field(default_factory=list)  # called with the new call
    hot: Any = None       # caller(run, out_tree, hot=True), made when first asked for

    def __post_init__(self):
        if self.call is None:
            self.call = caller(self.run, self.out_tree)

    @classmethod
    def tiered(cls, graph, out_tree, name: str, disk: bool = True) -> "Specialization":
        """A specialisation that answers from the interpreter until its kernel,
        compiling in the background, is ready, and from the kernel after."""
        from compiler.codegen import compile_graph_in_background

        spec = cls(graph, Interpreter(graph), out_tree, name=name)
        interpreted_run, interpreted_call = spec.run, spec.call
        spec.pending = compile_graph_in_background(graph, name=name, disk=disk,
                                                   vector_math=config.vector_math)

        def tier(attr: str, interpreted):
            """``spec.<attr>`` until the switch: the interpreter's, then the kernel's."""
            def tiered_call(*leaves):
                future = spec.pending
                if future is not None and future.done():
                    spec.switch()
                current = getattr(spec, attr)
                return (current if current is not tiered_call else interpreted)(*leaves)
            return tiered_call

        spec.run, spec.call = tier("run", interpreted_run), tier("call", interpreted_call)
        return spec

    def hot_call(self):
        """``caller(..., hot=True)`` of the compiled kernel, made once; None
        while the interpreter answers or when the kernel has none."""
        if self.hot is None and self.compiled:
            try:
                self.hot = caller(self.run, self.out_tree, hot=True) or False
            except Exception as e:  # the keyed path answers as before; say why
                log.warning("staticgrad: %s has no hot entry (%s: %s)", self.name,
                            type(e).__name__, e)
                self.hot = False
        return self.hot or None

    @property
    def compiled(self) -> bool:
        """Does a compiled kernel answer (not the interpreter, not yet compiling)?"""
        return self.pending is None and not isinstance(self.run, Interpreter)

    def switch(self, wait: bool = False, kernel=None) -> None:
        """Run on the compiled kernel from now on (``wait``: once it is compiled;
        ``kernel``: this one, compiled elsewhere). A kernel Numba cannot compile
        leaves the interpreter, with a warning."""
        future, self.pending = self.pending, None
        if future is None:
            return
        run = kernel or _kernel_or_interpreter(future, self.graph, self.name, wait)
        if run is None:  # not ready and not waited for
            self.pending = future
            return
        self.run, self.call = run, caller(run, self.out_tree)
        for notify in self.on_switch:
            notify(self.call)
        self.on_switch.clear()


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


def _start_numba() -> None:
    """Numba's per-process start-up (its import, then its typing and lowering
    registries, SciPy's BLAS among them: about 0.3 s, paid even for a kernel
    loaded from the disk cache) begins on the compiler thread when staticgrad
    is imported, so that the first kernel does not wait for it."""
    if config.backend == "numba" and os.environ.get("STATICGRAD_WARM_UP", "1") != "0":
        from compiler.codegen import warm_up
        warm_up()


_start_numba()

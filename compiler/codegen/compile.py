"""Compile generated kernels with Numba, through an in-memory and an on-disk cache.

The on-disk cache is a directory of generated modules, ``sg_<hash>.py``,
named by the hash of their text (which records the graph's structural key,
so a changed function body or captured constant never meets stale code).
Each is imported from its file and compiled with ``numba.njit(cache=True)``,
so Numba keeps the machine code in ``__pycache__`` beside it and a new
process loads it instead of compiling. Files are written to a temporary name
and renamed into place (two processes writing one entry never mix); a file
whose text does not match its name (truncated, corrupted) is rewritten.

The directory is ``STATICGRAD_CACHE_DIR``, else the user cache directory
(``$XDG_CACHE_HOME/staticgrad`` or ``~/.cache/staticgrad``), created mode
0o700. Its modules are code this process runs, so a directory other users
can write (or that someone else owns) is refused: the kernels then go to a
private temporary directory for this process.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import stat
import sys
import tempfile
import threading
import time

import numba
import numpy as np

from compiler.codegen.source import NJIT_OPTIONS, Kernel, generate
from compiler.errors import GuardFailure, ShapeError, UnsupportedOperationError

# The compiler's own logger; a child of "staticgrad", so STATICGRAD_LOG and a
# handler on the "staticgrad" logger show its compiles too.
log = logging.getLogger("staticgrad.compiler")

#: counters tests and benchmarks read: Numba compilations (cache misses),
#: kernels loaded from the disk cache, in-memory cache hits
stats = {"compilations": 0, "disk_hits": 0, "memory_hits": 0}

_memory: dict = {}
_lock = threading.Lock()
_private_fallback: str | None = None
_scratch: "tempfile.TemporaryDirectory | None" = None


def _new_lock_in_child() -> None:
    global _lock  # a compile on the parent's background thread may hold it at the fork
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


# -- the cache directory -------------------------------------------------------
def cache_dir() -> str:
    """The kernel directory, created private; a directory others can write is refused."""
    global _private_fallback
    root = os.environ.get("STATICGRAD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "staticgrad")
    path = os.path.join(root, "kernels")
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        os.makedirs(path, mode=0o700, exist_ok=True)
        problem = _unsafe(root) or _unsafe(path)
    except OSError as e:
        problem = str(e)
    if problem is None:
        return path
    if _private_fallback is None:
        _private_fallback = tempfile.mkdtemp(prefix="staticgrad-")
        log.warning("staticgrad: not using the kernel cache %s (%s); compiling into %s for this "
                    "process", path, problem, _private_fallback)
    return _private_fallback


def _unsafe(path: str) -> str | None:
    st = os.stat(path)
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return "owned by another user"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "writable by other users"
    return None


def _write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- the module text -----------------------------------------------------------
_HEADER = '''\
# staticgrad kernel for {name}
# graph {key}
# Generated code: edits are overwritten. With guards, kernel() returns
# (status, *outputs), status k > 0 when the k-th guard failed; without, its
# output(s). entry() is the interop form.
import numpy as np
import numba
from compiler.codegen.blas import dot as blas_dot, dot_into as blas_dot_into
from compiler.codegen.reduction import accumulate, pairwise_push, pairwise_total
from compiler.codegen.compile import HotMiss
{vector_math}{consts}

'''

_ENTRY = '''

@numba.njit({options})
def entry({params}):
    r = kernel({args})
{checks}    return {result}


@numba.njit({options})
def hot({hot_params}):
{hot_checks}    r = kernel({hot_params})
{hot_status}    return {result}
'''


class HotMiss(Exception):
    """Raised by a kernel module's ``hot()``: its arguments are not of the
    compiled shapes, or a guard failed; the caller takes the full path."""


def module_text(kernel: Kernel, name: str, key: str, shapes: list, n_outputs: int) -> str:
    n_params = len(shapes)
    params = ", ".join(f"a{k}" for k in range(n_params))
    consts = ""
    if kernel.consts:
        consts = ("_saved = np.load(__file__[:-3] + '.npz')\n"
                  + "".join(f"K{k} = _saved['k{k}']\n" for k in range(len(kernel.consts))))
    checks = "".join(
        f"    if r[0] == {k + 1}:\n        raise ValueError({_guard_message(site)!r})\n"
        for k, (site, _) in enumerate(kernel.guards))
    outs = [f"r[{k + 1}]" for k in range(n_outputs)]
    result = outs[0] if n_outputs == 1 else "(" + ", ".join(outs) + ",)"
    if not kernel.guards:
        result = "r"
    args = ", ".join([f"a{k}" for k in range(n_params)] + [f"K{k}" for k in range(len(kernel.consts))])
    options = NJIT_OPTIONS.format(nogil=not kernel.object_mode)
    vector_math = ""
    if kernel.vector_math:
        # Numba's disk cache does not see changes in the functions a kernel
        # inlines: vecmath's hash in the text renames the module when it changes.
        from compiler.codegen import vecmath
        vector_math = f"{vecmath.IMPORT_LINE}  # vecmath {vecmath.SOURCE_HASH}\n"
    if kernel.revolve:
        # the same for the schedule of checkpointed loops
        from compiler.codegen import revolve
        vector_math += f"{revolve.IMPORT_LINE}  # revolve {revolve.SOURCE_HASH}\n"
    # hot(): the kernel for exactly the compiled shapes (the constants passed
    # as arguments, like kernel's), a miss or a failed guard raising HotMiss
    # (see Compiled.caller(hot=True)).
    sizes = [f"a{k}.shape[{d}] != {size}" for k, shape in enumerate(shapes)
             for d, size in enumerate(shape)]
    hot_checks = f"    if {' or '.join(sizes)}:\n        raise HotMiss\n" if sizes else ""
    hot_status = "    if r[0]:\n        raise HotMiss\n" if kernel.guards else ""
    return (_HEADER.format(name=name.replace("\n", " "), key=key, consts=consts,
                           vector_math=vector_math)
            + kernel.source
            + _ENTRY.format(options=options, params=params, args=args, checks=checks,
                            result=result if n_outputs else "None", hot_params=args,
                            hot_checks=hot_checks, hot_status=hot_status))


def _guard_message(site: str) -> str:
    return (f"staticgrad: the guard recorded at {site} does not hold for these inputs; "
            "call the transformed function from Python to retrace for this path")


# -- loading -------------------------------------------------------------------
def _scratch_dir() -> str:
    """A private directory for kernels that must not persist (``jit(cache=False)``)."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="staticgrad-nocache-")
    return _scratch.name


def _load(text: str, consts: list, directory: str):
    """Import the module of ``text`` from ``directory``, writing it if needed."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    path = os.path.join(directory, f"sg_{digest}.py")
    data_path = path[:-3] + ".npz"
    intact = False
    try:
        with open(path, "rb") as f:
            intact = hashlib.sha256(f.read()).hexdigest()[:32] == digest
    except OSError:
        pass
    if consts and intact:
        try:
            with np.load(data_path) as saved:
                intact = all(np.array_equal(saved[f"k{k}"], c) for k, c in enumerate(consts))
        except Exception:   # a missing or damaged archive is rewritten below
            intact = False
    if not intact:
        if os.path.exists(path):
            log.warning("staticgrad: rebuilding damaged kernel cache entry %s", path)
        if consts:
            import io
            buffer = io.BytesIO()
            np.savez(buffer, **{f"k{k}": c for k, c in enumerate(consts)})
            _write_atomic(data_path, buffer.getvalue())
        _write_atomic(path, text.encode())
    module_name = f"staticgrad_kernels.sg_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    return module


def _numba_type(shape: tuple, dtype: np.dtype):
    scalar = numba.from_dtype(dtype)
    return scalar if not shape else numba.types.Array(scalar, len(shape), "C")


# -- the executable --------------------------------------------------------------
class Compiled:
    """A compiled graph: ``(*arrays) -> list of arrays``, one per graph output
    (0-d outputs as 0-d arrays); raises ``GuardFailure`` when a guard fails.

    - ``source``: the generated module (``v12 = np.exp(v7)  # exp`` lines);
    - ``kernel``: the Numba dispatcher ``kernel(*params, *consts) -> (status, *outputs)``;
    - ``numba_function``: the Numba dispatcher for user ``@numba.njit`` code. It takes
      the same positional arrays as the graph (0-d ones as scalars) and returns the
      single output as an array, several as a tuple, 0-d outputs as scalars
      (Python floats); a failed guard raises ``ValueError`` naming the guard's line.
    """

    def __init__(self, name: str, module, kernel: Kernel, graph, text: str):
        self.name = name
        self.module = module
        self.source = text
        self.kernel = module.kernel
        self.numba_function = module.entry
        self.consts = tuple(kernel.consts)
        self.guards = list(kernel.guards)
        self.plan = kernel.plan
        self.param_shapes = [(graph.shape(p), graph.dtype(p)) for p in graph.params]
        self.out_dtypes = [graph.dtype(o) if not graph.shape(o) else None for o in graph.outputs]
        self.status = bool(self.guards)   # does the kernel return a status first?
        self.signature = None             # the Numba argument types it is compiled for

    def __repr__(self) -> str:
        return f"<compiled {self.name}>"

    def raise_guard(self, status: int):
        site, node = self.guards[status - 1]
        raise GuardFailure(site, node)

    def _prepare(self, arrays) -> list:
        if len(arrays) != len(self.param_shapes):
            raise TypeError(f"{self.name}: takes {len(self.param_shapes)} arguments, "
                            f"got {len(arrays)}")
        out = []
        for k, (x, (shape, dtype)) in enumerate(zip(arrays, self.param_shapes)):
            x = np.asarray(x)
            if x.shape != shape:
                raise ShapeError(f"{self.name}: argument {k} has shape {x.shape}, the compiled "
                                 f"graph expects {shape}")
            if x.dtype != dtype:
                if not np.can_cast(x.dtype, dtype, "same_kind"):
                    raise TypeError(f"{self.name}: argument {k} has dtype {x.dtype}, the "
                                    f"compiled graph expects {dtype}")
                x = x.astype(dtype)
            out.append(x[()] if not shape else x)
        return out

    def __call__(self, *arrays) -> list:
        return [np.asarray(o, dtype=d) if d is not None else o
                for o, d in zip(self._outputs(self.kernel(*self._prepare(arrays), *self.consts)),
                                self.out_dtypes)]

    def _outputs(self, result) -> tuple:
        if self.status:
            if result[0]:
                self.raise_guard(result[0])
            return result[1:]
        return (result,) if len(self.out_dtypes) == 1 else result

    def low_level_callable(self):
        """A ``scipy.LowLevelCallable`` for graphs of one float64 scalar output:
        with float64 scalar parameters, ``double f(int n, double *x)`` (as
        ``scipy.integrate.quad`` calls it); with one 1-D float64 parameter,
        ``int f(double *x, intptr_t n, double *out, void *data)`` (as
        ``scipy.ndimage.generic_filter`` calls it). Graphs with guards have
        none: a C callback cannot ask for a retrace."""
        import scipy

        shapes = [s for s, _ in self.param_shapes]
        dtypes = {d for _, d in self.param_shapes} | set(self.out_dtypes)
        if self.status or self.out_dtypes != [np.dtype(np.float64)] or \
                dtypes != {np.dtype(np.float64)} or \
                not (all(s == () for s in shapes) or len(shapes) == 1 and len(shapes[0]) == 1):
            raise UnsupportedOperationError(
                f"{self.name}: a LowLevelCallable needs one float64 scalar output, no guards, "
                "and float64 scalar parameters or one 1-D float64 parameter")
        consts = "".join(f", K{k}" for k in range(len(self.consts)))
        scope = {"numba": numba, "kernel": self.kernel,
                 **{f"K{k}": c for k, c in enumerate(self.consts)}}
        if shapes and shapes[0]:
            signature = "intc(CPointer(float64), intp, CPointer(float64), voidptr)"
            source = (f"def callback(x, n, out, data):\n"
                      f"    out[0] = kernel(numba.carray(x, ({shapes[0][0]},)){consts})\n"
                      f"    return 1\n")
        else:
            signature = "float64(intc, CPointer(float64))"
            args = ", ".join(f"x[{k}]" for k in range(len(shapes)))
            source = f"def callback(n, x):\n    return kernel({args}{consts})\n"
        exec(source, scope)
        return scipy.LowLevelCallable(numba.cfunc(signature)(scope["callback"]).ctypes)

    def caller(self, finish, template: str | None = None, exact: bool = False,
               hot: bool = False):
        """A function of the parameters (already of the right shapes and dtypes)
        that returns ``finish(outputs)``, 0-d outputs as NumPy scalars: the hot
        path of a transformed function, one Numba call.

        ``template``, a Python expression of the outputs ``{0}``, ``{1}``, ...
        (``"({0}, ({1}, {2}))"``), builds the result in place of ``finish``.
        ``exact``: the caller guarantees the arguments' exact types (arrays of
        the compiled dtype, shape and C order; Python scalars), so the compiled
        overload's entry point is called directly, without the dispatcher's
        type resolution (it would misread an array of another dtype or layout).
        ``hot``: the caller guarantees nothing: the module's ``hot()``, locked to
        the compiled types (Numba's dispatcher refuses others with TypeError)
        and checking the shapes, is called, and raises ``HotMiss`` on a miss or
        a failed guard; None when there is no such entry (the kernel is not
        compiled for native types).
        The function is generated as source, for its arity and outputs: no
        loops, no lists, no ``*args``."""
        single = len(self.out_dtypes) == 1
        target, status = self.kernel, self.status
        if (exact or hot) and self.signature is not None and all(
                d.isnative for _, d in self.param_shapes):
            if hot:
                target, status = self.module.hot, False
                if self.signature not in target.overloads:
                    # One module serves every Compiled of its text; once locked
                    # to one's types, another (say, constants typed otherwise)
                    # has no hot entry.
                    if not target._can_compile:
                        return None
                    _compile(target, self.signature, self.name)
                    target.disable_compile()
            else:
                overload = self.kernel.overloads.get(self.signature)
                if overload is not None:
                    target = overload.entry_point
        elif hot:
            return None
        params = ", ".join(f"a{k}" for k in range(len(self.param_shapes)))
        args = ", ".join([f"a{k}" for k in range(len(self.param_shapes))]
                         + [f"K{k}" for k in range(len(self.consts))])
        scope = {"kernel": target, "raise_guard": self.raise_guard, "finish": finish,
                 **{f"K{k}": c for k, c in enumerate(self.consts)}}
        outs = []
        for k, d in enumerate(self.out_dtypes):
            o = f"r[{k + 1}]" if status else ("r" if single else f"r[{k}]")
            if d is not None:
                scope[f"to{k}"] = np.dtype(d).type
                o = f"to{k}({o})"
            outs.append(o)
        if template is not None:
            result = template.format(*outs)
        elif finish is None and single:
            result = outs[0]
        else:
            result = "finish([" + ", ".join(outs) + "])"
        if not status and result == "r" and not self.consts:
            return target
        lines = [f"def call({params}):", f"    r = kernel({args})"]
        if status:
            lines += ["    if r[0]:", "        raise_guard(r[0])"]
        lines.append(f"    return {result}")
        exec("\n".join(lines), scope)
        return scope["call"]


def _compile(dispatcher, signature, name: str) -> None:
    """Compile (or load from Numba's cache); a damaged Numba cache file is
    dropped and the kernel compiled afresh."""
    try:
        dispatcher.compile(signature)
        return
    except numba.core.errors.NumbaError as e:
        raise UnsupportedOperationError(
            f"Numba could not compile the kernel of {name}: {str(e).splitlines()[0]}") from e
    except Exception as e:  # unpickling a truncated index or data file
        log.warning("staticgrad: rebuilding the damaged Numba cache of %s (%s: %s)",
                    name, type(e).__name__, e)
    dispatcher._cache.flush()
    dispatcher.compile(signature)


def compile_graph(graph, name: str = "kernel", fuse: bool = True, disk: bool = True,
                  part_size: int | None = None, vector_math: bool = True) -> Compiled:
    """Generate, cache and compile the kernel of ``graph``; ``disk=False`` keeps
    the kernel out of the on-disk cache (it lives in a temporary directory);
    ``part_size`` overrides the statements per function of a split kernel;
    ``vector_math=False`` keeps libm in every loop (see ``vecmath.py``)."""
    key = graph.structural_key()
    memory_key = (key, fuse, part_size, vector_math)
    with _lock:
        hit = _memory.get(memory_key)
        if hit is not None:
            stats["memory_hits"] += 1
            return hit
        kernel = generate(graph, fuse=fuse, part_size=part_size, vector_math=vector_math)
        text = module_text(kernel, name, key, [graph.shape(p) for p in graph.params],
                           len(graph.outputs))
        module = _load(text, kernel.consts, cache_dir() if disk else _scratch_dir())
        dispatcher = module.kernel
        signature = tuple(_numba_type(graph.shape(p), graph.dtype(p)) for p in graph.params) \
            + tuple(numba.typeof(c) for c in kernel.consts)
        hits_before = sum(dispatcher.stats.cache_hits.values())
        start = time.perf_counter()
        # Numba compiles a called function while typing its caller: each part
        # of a split kernel nests about 25 frames deeper than the one before.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 2000 + 100 * kernel.parts))
        try:
            _compile(dispatcher, signature, name)
        finally:
            sys.setrecursionlimit(limit)
        elapsed = time.perf_counter() - start
        if sum(dispatcher.stats.cache_hits.values()) > hits_before:
            stats["disk_hits"] += 1
            log.debug("staticgrad: loaded %s from the kernel cache in %.3f s", name, elapsed)
        else:
            stats["compilations"] += 1
            log.info("compiled %s in %.3f s", name, elapsed)
        compiled = Compiled(name, module, kernel, graph, text)
        compiled.signature = signature
        _memory[memory_key] = compiled
        return compiled

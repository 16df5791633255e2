"""Concrete tracing: run the user's NumPy function on Tracers.

A Tracer is a handle on a node of the graph being built; it also carries the
node's real NumPy value (the trace context evaluates every node as it is
created), so Python control flow on traced values works: ``if``/``while``/
``bool()`` record a guard that the branch goes the same way, and
``float()``/``int()`` record a guard that the value is the same, as ADOL-C
records comparisons on its tape. A compiled function checks its guards and is
retraced when one fails.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any, Callable

import networkx as nx
import numpy as np

import compiler.ops as O
from compiler.evaluate import apply
from compiler.ir import Graph, Value
from staticgrad.errors import (ArgumentTypeError, InPlaceMutationError, IntegerInputError,
                               TracerConversionError, UnsupportedOperationError)

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(os.path.join(d, "") for d in (
    os.path.join(_ROOT, "compiler"), os.path.join(_ROOT, "staticgrad"), os.path.dirname(np.__file__)))


def user_site() -> str:
    """``file:line`` of the innermost frame outside staticgrad, compiler and NumPy."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_LIBRARY_DIRS):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


_RUNNING = threading.local()


def running_context() -> "TraceContext | None":
    """The innermost trace running on this thread, or None outside every
    transform (structured loops use it to tell tracing from plain NumPy)."""
    stack = getattr(_RUNNING, "stack", None)
    return stack[-1] if stack else None


def traceback_site(tb) -> str:
    """``file:line`` of the innermost frame of a traceback outside staticgrad,
    compiler and NumPy (where the user's code raised)."""
    site = "<unknown>"
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if not filename.startswith(_LIBRARY_DIRS):
            site = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return site


class _Values(dict):
    """The concrete value of every node of a trace. A structured loop (and what
    is computed from it) is evaluated only when its value is asked for (a guard,
    ``float()``, the result of a call answered from the trace): a compiled
    first call then costs the same whatever the trip count."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def __missing__(self, nid: int):
        stack = [nid]
        while stack:   # inputs first, without recursion (chains may be long)
            n = stack[-1]
            pending = [i for i in self.graph.inputs(n) if not dict.__contains__(self, i)]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if not dict.__contains__(self, n):
                d = self.graph.node(n)
                dict.__setitem__(self, n, apply(d["op"], [dict.__getitem__(self, i)
                                                          for i in d["inputs"]], d["attrs"]))
        return dict.__getitem__(self, nid)


class TraceContext:
    """One trace: the graph being built and the concrete value of every node."""

    @contextlib.contextmanager
    def running(self):
        """Mark this trace as the one running while the user's function runs."""
        stack = _RUNNING.__dict__.setdefault("stack", [])
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def __init__(self, name: str = "<function>"):
        self.name = name
        self.graph = Graph()
        self.env: dict[int, np.ndarray] = _Values(self.graph)
        self.sensitive: set[int] = set()  # differentiation points
        # Nodes standing for Python scalars (bool, int, float, complex arguments
        # and what ufuncs compute from them alone): weakly typed as in NumPy
        # (NEP 50), so float32_array * s stays float32 for a Python float s.
        self.weak: set[int] = set()
        self.graph.listeners.append(self._evaluate)

    def _evaluate(self, nid: int) -> None:
        d = self.graph.node(nid)
        if d["op"] == "param":
            return
        if d["op"] == "loop" or any(i not in self.env for i in d["inputs"]):
            return   # evaluated when asked for (see _Values)
        self.env[nid] = apply(d["op"], [self.env[i] for i in d["inputs"]], d["attrs"])

    def param(self, value: Any, name: str | None = None) -> "Tracer":
        array = np.asarray(value)
        if array.dtype == object:
            raise ArgumentTypeError(
                f"{self.name}: an argument of type {type(value).__name__} is not a numeric "
                "array; pass an array or mark it static (static_argnums)")
        v = self.graph.param(array.shape, array.dtype, name)
        self.env[v.node] = array
        if type(value) in (bool, int, float, complex):
            self.weak.add(v.node)
        return Tracer(self, v.node, is_input=True)

    def lift(self, x: Any) -> "Tracer":
        """x as a Tracer of this context (constants become const nodes)."""
        if isinstance(x, Tracer):
            if x.ctx is not self:
                raise UnsupportedOperationError(
                    f"{self.name}: a traced value from another trace leaked in "
                    "(a traced value stored outside the function and used in a later call?)")
            return x
        array = np.asarray(x)
        if array.dtype == object:
            raise TypeError(f"{self.name}: cannot use a {type(x).__name__} as an array")
        return Tracer(self, self.graph.const(array).node)

    def differentiation_point(self, x: Any, what: str) -> "Tracer":
        """A fresh node standing for x, to differentiate with respect to."""
        t = self.lift(x)
        if t.dtype.kind not in "fc":
            raise IntegerInputError(
                f"{self.name}: {what} has dtype {t.dtype}; differentiation needs floating-point "
                "inputs (pass x.astype(float), or use jit for integer inputs)")
        point = Tracer(self, O.identity(t.value).node, is_input=t.is_input)
        self.sensitive.add(point.node)
        if t.node in self.weak:
            self.weak.add(point.node)
        return point

    def depends_on_sensitive(self, nid: int) -> bool:
        return bool(self.sensitive) and bool(
            (nx.ancestors(self.graph.nx, nid) | {nid}) & self.sensitive)


def to_value(x: Any) -> Any:
    """Tracer -> Value, recursively through lists and tuples; others unchanged."""
    if isinstance(x, Tracer):
        x.check_fresh()
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(to_value(v) for v in x)
    return x


def to_tracer(ctx: TraceContext, x: Any) -> Any:
    if isinstance(x, Value):
        return Tracer(ctx, x.node)
    if isinstance(x, (list, tuple)):
        return type(x)(to_tracer(ctx, v) for v in x)
    return x


def first(args: Any, kind: type) -> Any:
    """The first instance of ``kind`` in (nested lists, tuples and dicts of) args."""
    if isinstance(args, kind):
        return args
    if isinstance(args, dict):
        args = list(args.values())
    if isinstance(args, (list, tuple)):
        for a in args:
            found = first(a, kind)
            if found is not None:
                return found
    return None


def find_context(args: Any) -> TraceContext | None:
    tracer = first(args, Tracer)
    return None if tracer is None else tracer.ctx


class Tracer:
    """A traced array: NumPy functions, operators and methods build graph nodes."""

    __slots__ = ("ctx", "node", "is_input", "base", "base_version", "version", "parent", "key")
    __array_priority__ = 1000

    def __init__(self, ctx: TraceContext, node: int, is_input: bool = False):
        self.ctx = ctx
        self.node = node
        self.is_input = is_input   # an argument of the traced function: never mutated
        self.base = None           # for a view (NumPy would share memory): its base
        self.base_version = 0      # the base's version when the view was taken
        self.version = 0           # bumped by each in-place update
        self.parent = None         # a view by basic indexing: the array indexed ...
        self.key = None            # ... and the index, to write updates through

    def make_view_of(self, source: "Tracer", key: Any = None) -> None:
        root = source.base if source.base is not None else source
        self.base, self.base_version = root, root.version
        self.is_input = root.is_input
        if key is not None:
            self.parent, self.key = source, key

    def check_fresh(self) -> None:
        """A view read after its base was updated in place would differ from NumPy."""
        if self.base is not None and self.base.version != self.base_version:
            raise InPlaceMutationError(
                f"{self.ctx.name}: a view of an array is used after the array was updated "
                f"in place (at {user_site()}); NumPy would show the update through the view. "
                "Take the view after the update, or copy it first (v = x[...].copy())")

    # -- what it is -----------------------------------------------------
    @property
    def value(self) -> Value:
        return Value(self.ctx.graph, self.node)

    @property
    def concrete(self) -> np.ndarray:
        return self.ctx.env[self.node]

    @property
    def shape(self) -> tuple:
        return self.ctx.graph.shape(self.node)

    @property
    def dtype(self) -> np.dtype:
        return self.ctx.graph.dtype(self.node)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"Tracer({np.array2string(self.concrete)}, shape={self.shape}, dtype={self.dtype})"

    __hash__ = None  # like ndarray: == is elementwise

    # -- NumPy protocols ------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from staticgrad.numpy_api import apply_ufunc
        return apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from staticgrad.numpy_api import apply_function
        return apply_function(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        call = library_call()
        if call is not None:
            raise UnsupportedOperationError(
                f"{self.ctx.name}: {call} is not supported on traced values by staticgrad: "
                f"it converts its argument to a NumPy array (at {user_site()})")
        raise TracerConversionError(
            f"{self.ctx.name}: a traced value (shape {self.shape}, {self.dtype}) cannot be "
            f"converted to a NumPy array (at {user_site()}). This happens with "
            "np.asarray/np.array, with NumPy "
            "functions staticgrad does not trace, and when storing a traced value into a "
            "NumPy array (out = np.zeros(n); out[i] = x): build arrays with np.stack / "
            "np.concatenate / np.where, or update a traced array (y = x.copy(); y[i] = v)")

    # -- guards: Python control flow on traced values -------------------
    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        value = self.value
        if value.dtype != np.bool_:
            value = O.not_equal(value, 0)
        if value.shape:
            value = O.reshape(value, ())
        taken = bool(self.ctx.env[value.node])
        O.guard(value, taken, user_site())
        return taken

    def _concretize(self, kind: str) -> np.ndarray:
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python scalars "
                            f"({kind}() of shape {self.shape})")
        if self.ctx.depends_on_sensitive(self.node):
            raise TracerConversionError(
                f"{self.ctx.name}: {kind}() of a traced value that depends on a value being "
                f"differentiated would drop its gradient (at {user_site()}); keep it an array "
                "(use NumPy functions on it), or branch with `if`, which is traced")
        concrete = self.concrete.reshape(())
        O.guard(O.equal(O.reshape(self.value, ()), concrete[()]), True, user_site(), "value")
        return concrete

    def __float__(self) -> float:
        return float(self._concretize("float"))

    def __int__(self) -> int:
        return int(self._concretize("int"))

    def __index__(self) -> int:
        if self.dtype.kind not in "iub":
            raise TypeError("only integer arrays can be used as an index")
        return int(self._concretize("int"))

    def item(self) -> Any:
        return self._concretize("item").item()

    def tolist(self):
        raise TracerConversionError(f"{self.ctx.name}: tolist() of a traced value is not "
                                    "supported; index it instead")

    # -- operators ------------------------------------------------------

    def __neg__(self):
        from staticgrad.numpy_api import apply_ufunc
        return apply_ufunc(np.negative, "__call__", (self,), {}, operator=True)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.abs(self)

    def __invert__(self):
        if self.dtype != np.bool_:
            raise UnsupportedOperationError("~ is only supported on boolean traced values")
        return np.logical_not(self)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    # -- indexing -------------------------------------------------------
    def __getitem__(self, key):
        from staticgrad.numpy_api import index
        return index(self, key)

    def _check_mutable(self, what: str) -> None:
        if self.is_input:
            raise InPlaceMutationError(
                f"{self.ctx.name}: {what} of an input (at {user_site()}); traced code never "
                "mutates its inputs. Work on a copy: y = x.copy(); y[...] = v")
        if self.base is not None and self.parent is None:
            raise InPlaceMutationError(
                f"{self.ctx.name}: {what} of a view made by a reshape or transpose (at "
                f"{user_site()}); the array it views would not see the change. Update the "
                "array itself, or copy the view first")
        self.check_fresh()

    def _update(self, new: Value, what: str) -> None:
        """This array now holds ``new``. A view made by basic indexing writes it
        through to the array it views (a functional setitem there), as NumPy's
        shared memory would: ``y[1:3] += v``, ``row = y[0]; row *= 2``."""
        self._check_mutable(what)
        if self.parent is not None:
            parent = self.parent
            parent._update(O.setitem(parent.value, to_value(self.key), new), what)
            self.base_version = self.base.version
        self.node = new.node
        self.version += 1

    def __setitem__(self, key, value):
        # Functional update: this Tracer now stands for the updated array, so
        # every name bound to it sees the change, as with an ndarray.
        self._check_mutable("in-place assignment")
        self._update(O.setitem(self.value, to_value(key), to_value(self.ctx.lift(value))),
                     "in-place assignment")

    def _inplace(ufunc):
        def method(self, other):
            self._check_mutable(f"in-place {ufunc.__name__}")
            result = getattr(self, "__" + {"add": "add", "subtract": "sub", "multiply": "mul",
                                           "divide": "truediv", "power": "pow"}[ufunc.__name__]
                             + "__")(other)
            if result.dtype != self.dtype:
                raise UnsupportedOperationError(
                    f"in-place {ufunc.__name__} would change dtype {self.dtype} to {result.dtype}")
            self._update(result.value, f"in-place {ufunc.__name__}")
            return self
        return method

    __iadd__ = _inplace(np.add)
    __isub__ = _inplace(np.subtract)
    __imul__ = _inplace(np.multiply)
    __itruediv__ = _inplace(np.divide)
    __ipow__ = _inplace(np.power)
    del _inplace

    # -- methods (NumPy's ndarray methods) ------------------------------
    @property
    def T(self):
        return np.transpose(self)

    def __getattr__(self, name):
        from staticgrad.numpy_api import method
        return method(self, name)


def _traced_operator(ufunc: np.ufunc, reflected: bool):
    def method(self, other):
        from staticgrad.numpy_api import apply_ufunc
        if isinstance(other, (str, bytes)) or (other is not None and not _arraylike(other)):
            return NotImplemented
        args = (other, self) if reflected else (self, other)
        return apply_ufunc(ufunc, "__call__", args, {}, operator=True)
    return method


#: Python's binary operators and the ufunc each one is; the arithmetic ones
#: also have a reflected form (__radd__ ...).
ARITHMETIC_OPERATORS = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
                        "truediv": np.true_divide, "pow": np.power, "matmul": np.matmul}
COMPARISON_OPERATORS = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less,
                        "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
                        "and": np.bitwise_and, "or": np.bitwise_or}


def install_operators(cls: type, make: Callable[[np.ufunc, bool], Callable]) -> type:
    """Give ``cls`` Python's binary operators, each ``make(ufunc, reflected)``."""
    for name, ufunc in ARITHMETIC_OPERATORS.items():
        setattr(cls, f"__{name}__", make(ufunc, False))
        setattr(cls, f"__r{name}__", make(ufunc, True))
    for name, ufunc in COMPARISON_OPERATORS.items():
        setattr(cls, f"__{name}__", make(ufunc, False))
    return cls


install_operators(Tracer, _traced_operator)
# % and // on traced values (not on eager Tensors, whose operators are the table above)
for _name, _ufunc in (("mod", np.remainder), ("floordiv", np.floor_divide)):
    setattr(Tracer, f"__{_name}__", _traced_operator(_ufunc, False))
    setattr(Tracer, f"__r{_name}__", _traced_operator(_ufunc, True))
del _name, _ufunc


def _public(module: str, qualname: str) -> str:
    parts = []
    for p in module.split("."):
        if p.startswith("_"):
            break
        parts.append(p)
    prefix = ".".join(parts)
    if prefix == "numpy" or prefix.startswith("numpy."):
        prefix = "np" + prefix[len("numpy"):]
    names = qualname.split(".")
    # a method of a SciPy distribution class: the class is private, the name is not
    name = names[-1] if names[0].endswith("_gen") or names[0].startswith("rv_") else qualname
    return f"{prefix}.{name}"


def library_call() -> str | None:
    """The outermost NumPy/SciPy function on the stack below the user's code,
    as the user spells it (``scipy.special.logsumexp``), or None (a C function
    such as ``np.asarray`` called by the user directly leaves no frame)."""
    frame = sys._getframe(1)
    found = []  # innermost first
    while frame is not None:
        module = frame.f_globals.get("__name__", "") or ""
        top = module.split(".")[0]
        if top in ("numpy", "scipy"):
            code = frame.f_code
            found.append((module, getattr(code, "co_qualname", code.co_name)))
        elif top not in ("staticgrad", "compiler", "contextlib", "functools"):
            break
        frame = frame.f_back
    # the outermost named function (decorators' inner wrappers have <locals> names)
    for module, qualname in reversed(found):
        if "<locals>" not in qualname and not qualname.startswith("_"):
            return _public(module, qualname)
    return _public(*found[-1]) if found else None


def _arraylike(x: Any) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic, int, float, bool, complex, list, tuple))

"""The eager Tensor: PyTorch/Paddle-style autograd on top of the static core.

A ``Tensor`` holds a NumPy array (``t._array``; ``t.data`` is, as in PyTorch,
an untracked Tensor sharing it). Every operation on Tensors is a *fragment*:
the NumPy-level call (``np.sin(t)``, ``t @ w``, ``t[0]``) traced once per
signature with the same Tracer and op table the functional API uses, cached,
and afterwards evaluated with the ops' NumPy implementations. While an
operand requires grad, the result also records a ``grad_fn`` node (the
fragment, an edge per operand with the operand's array and version, and the
result's own array and version). ``backward`` (staticgrad.autograd) inlines
the fragments reachable from the outputs into one Graph, differentiates it
with the symbolic adjoint pass and runs the result.

Nodes point to their operands' nodes and hold leaf tensors only weakly, so a
gradient recorded with ``create_graph=True`` (``x.grad`` whose graph reads
``x``) makes no reference cycle: everything is freed by reference counting.
"""
from __future__ import annotations

import functools
import itertools
import math
import weakref
from typing import Any, Callable

import numpy as np

import compiler.ops as O
from compiler.ir import Graph, Value
from staticgrad import pytree
from staticgrad.errors import UnsupportedOperationError
from staticgrad.numpy_api import FUNCTIONS, REDUCERS, UFUNCS
from staticgrad.tracing import TraceContext, Tracer, install_operators, to_value

float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
DEFAULT_FLOAT = np.dtype(np.float32)


# -- grad mode ----------------------------------------------------------------
class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class _SetGradEnabled:
    """Context manager and decorator that sets whether operations record grad_fn."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_GradMode.enabled)
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._saved.pop()
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def wrapper(*args, **kwargs):
            with _SetGradEnabled(self.mode):
                return fun(*args, **kwargs)
        return wrapper


class no_grad(_SetGradEnabled):
    """``with sg.no_grad():`` (or ``@sg.no_grad`` / ``@sg.no_grad()``): operations
    record nothing."""

    def __new__(cls, fun: Callable | None = None):
        self = super().__new__(cls)
        if fun is None:
            return self
        self.__init__()
        return self(fun)

    def __init__(self, fun: Callable | None = None):
        super().__init__(False)


class enable_grad(no_grad):
    """The opposite of ``no_grad``: record inside a no_grad block."""

    def __init__(self, fun: Callable | None = None):
        _SetGradEnabled.__init__(self, True)


class set_grad_enabled(_SetGradEnabled):
    """``sg.set_grad_enabled(False)`` switches recording off at once (as PyTorch);
    used in a ``with``, the previous mode comes back at its end."""

    def __init__(self, mode: bool):
        super().__init__(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous
        return False


# -- fragments: one traced, cached NumPy-level call ---------------------------
class Fragment:
    """A small graph: params = the call's array operands, one output.

    ``run`` evaluates it with the ops' NumPy implementations, as the
    Interpreter does, with its program flattened to a list once: an eager op
    is one or two NumPy calls, so per-call bookkeeping is what it costs.
    """

    __slots__ = ("name", "graph", "node_class", "fresh", "_key", "_saves", "_env", "_steps",
                 "_out", "_arity", "_direct")

    def __init__(self, name: str, graph: Graph):
        self.name = name
        self.graph = graph
        self.node_class = _node_class(name)
        self._key = None
        self._saves = None
        slot = {p: k for k, p in enumerate(graph.params)}
        self._env = [None] * len(slot)
        self._steps = []
        for nid in sorted(graph.needed()):
            d = graph.node(nid)
            if d["op"] == "param":
                continue
            slot[nid] = len(self._env)
            if d["op"] == "const":
                self._env.append(d["attrs"]["value"])
                continue
            self._env.append(None)
            self._steps.append((O.get_op(d["op"]).impl, tuple(slot[i] for i in d["inputs"]),
                                d["attrs"], slot[nid]))
        self._out = slot[graph.outputs[0]]
        self._arity = len(graph.params)
        # The result may be a constant, a view or an operand (copied by _result)
        # unless it comes from a ufunc, which always makes a new array.
        self.fresh = isinstance(O.get_op(graph.op(graph.outputs[0])).impl, np.ufunc)
        # One op applied to the operands in order (x + y, tanh(x), x ** 2): called as is.
        self._direct = None
        if (len(self._steps) == 1 and len(self._env) == self._arity + 1
                and self._steps[0][1] == tuple(range(self._arity))):
            self._direct = self._steps[0][0], self._steps[0][2]

    @np.errstate(all="ignore")  # as a decorator it costs half what a with-block does
    def run(self, arrays: list) -> np.ndarray:
        if self._direct is not None:
            impl, attrs = self._direct
            return impl(*arrays, **attrs)
        env = self._env.copy()
        env[:self._arity] = arrays
        for impl, inputs, attrs, out in self._steps:
            env[out] = impl(*[env[i] for i in inputs], **attrs)
        return env[self._out]

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = self.graph.structural_key()
        return self._key

    @property
    def saves(self) -> tuple:
        """(operand positions, output?) whose values the backward reads, as
        PyTorch's saved tensors: found by differentiating the fragment once."""
        if self._saves is None:
            self._saves = _saved_values(self.graph)
        return self._saves


def _saved_values(frag: Graph) -> tuple:
    from compiler.autodiff import vjp
    from compiler.passes import rebuild
    g = rebuild(frag)  # a copy: vjp adds to the graph it differentiates
    out, params = g.outputs[0], list(g.params)  # before the cotangent joins them
    if g.dtype(out).kind not in "fc":
        return frozenset(), False
    ct = g.param(g.shape(out), g.dtype(out))
    cts = vjp(g, [out], [ct], params)
    stack = [c.node for c in cts if c is not None]
    seen, out_saved = set(), False
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        if nid == out:
            out_saved = True
            continue
        stack.extend(g.inputs(nid))
    return frozenset(k for k, p in enumerate(params) if p in seen), out_saved


_FRAGMENTS: dict = {}
_MAX_FRAGMENTS = 4096


class _Slot:
    """Stands for the k-th array operand in an argument template."""

    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k


def _template(x: Any, operands: list) -> Any:
    if isinstance(x, Tensor):
        operands.append(x)
        return _Slot(len(operands) - 1)
    if isinstance(x, np.ndarray):
        operands.append(Tensor(x))
        return _Slot(len(operands) - 1)
    if isinstance(x, (list, tuple)) and any(isinstance(v, (Tensor, np.ndarray, list, tuple))
                                            for v in x):
        return type(x)(_template(v, operands) for v in x)
    return x


def _fill(x: Any, tracers: list) -> Any:
    if isinstance(x, _Slot):
        return tracers[x.k]
    if isinstance(x, (list, tuple)):
        return type(x)(_fill(v, tracers) for v in x)
    return x


def _freeze(x: Any) -> Any:
    """A hashable key for a static argument; 2 and 2.0 and True differ."""
    if isinstance(x, _Slot):
        return ("slot", x.k)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__,) + tuple(_freeze(v) for v in x)
    if isinstance(x, dict):
        return ("dict",) + tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, slice):
        return ("slice", _freeze(x.start), _freeze(x.stop), _freeze(x.step))
    if isinstance(x, np.generic):
        return ("scalar", x.dtype.str, x.item())
    if isinstance(x, (np.dtype, type)) and x not in (int, float, bool, complex):
        try:
            return ("dtype", np.dtype(x).str)
        except TypeError:
            pass
    hash(x)
    return (type(x).__name__, x)


def _trace(name: str, fn: Callable, targs: tuple, tkwargs: dict, arrays: list):
    ctx = TraceContext(name)
    tracers = [ctx.param(a) for a in arrays]
    with np.errstate(all="ignore"):
        result = fn(*_fill(targs, tracers), **{k: _fill(v, tracers) for k, v in tkwargs.items()})
    if isinstance(result, Value):
        result = Tracer(ctx, result.node)
    if not isinstance(result, Tracer):
        return None, result
    node = result.node
    if ctx.graph.op(node) == "param":  # the output must be a node of its own
        node = O.identity(result.value).node
    ctx.graph.outputs = [node]
    ctx.graph.listeners.clear()
    return Fragment(name, ctx.graph), ctx.env[node]


# Arguments keyed by value without a template: static (ints, bools, None, strings).
_STATIC_SCALARS = frozenset((int, bool, type(None), str))


def _weak_floats(args: tuple) -> tuple:
    """Python floats among the operands become 0-d tensors, so a changing
    float (a learning rate, a temperature) is a value, not part of the
    structure. Their dtype follows NumPy's weak scalars: float32 stays float32."""
    dtypes = [a._array.dtype for a in args if isinstance(a, Tensor)]
    dtype = np.result_type(*dtypes, 0.0)
    return tuple(Tensor._make(np.asarray(a, dtype)) if type(a) is float else a for a in args)


def _call(name: str | Callable, fn: Callable, args: tuple, kwargs: dict | None = None):
    """Run ``fn(*args, **kwargs)`` (a NumPy-level call) on Tensors, eagerly.

    The call is traced with Tracers standing for the array operands the first
    time its signature is seen; later calls run the cached fragment. ``name``
    (the grad_fn's, or a function of nothing giving it) is needed only then.
    Python ints and bools are static (``x ** 2``); Python floats are operands.
    """
    # The common case (Tensors, floats, static scalars) is keyed without a template.
    key, operands = [fn], []
    for a in args:
        if isinstance(a, Tensor):
            key.append((a._array.shape, a._array.dtype.char))
            operands.append(a)
        elif type(a) is float:
            key.append(float)
            operands.append(a)
        elif type(a) in _STATIC_SCALARS:
            key.append((type(a), a))
        else:
            return _call_slow(name, fn, args, kwargs, None)
    if kwargs:
        for k, v in kwargs.items():
            if type(v) not in _STATIC_SCALARS:
                return _call_slow(name, fn, args, kwargs, None)
            key.append((k, type(v), v))
    frag = _FRAGMENTS.get(tuple(key))
    if frag is None:
        return _call_slow(name, fn, args, kwargs, tuple(key))
    if float in key:
        operands = _weak_floats(operands)
    return _result(frag, frag.run([t._array for t in operands]), operands)


def _call_slow(name, fn, args, kwargs, fast_key):
    if any(type(a) is float for a in args):
        args = _weak_floats(args)
    operands: list[Tensor] = []
    targs = _template(tuple(args), operands)
    tkwargs = {k: _template(v, operands) for k, v in (kwargs or {}).items()}
    arrays = [t._array for t in operands]
    try:
        key = (fn, _freeze(targs), _freeze(tkwargs),
               tuple((a.shape, a.dtype.str) for a in arrays))
        frag = _FRAGMENTS.get(key)
    except TypeError:
        key = frag = None
    if frag is None:
        frag, out = _trace(name if isinstance(name, str) else name(), fn, targs, tkwargs, arrays)
        if frag is None:
            return out
        if key is not None:
            if len(_FRAGMENTS) >= _MAX_FRAGMENTS:
                _FRAGMENTS.clear()
            _FRAGMENTS[key] = frag
            if fast_key is not None:
                _FRAGMENTS[fast_key] = frag
    else:
        out = frag.run(arrays)
    return _result(frag, out, operands)


def _result(frag: Fragment, out: np.ndarray, operands: list) -> "Tensor":
    out = np.asarray(out)  # a 0-d result may be a NumPy scalar
    # Results own their memory (views and constants are copied): an in-place
    # change of one must never reach another tensor behind its version counter.
    if not frag.fresh and (out.base is not None or not out.flags.writeable
                           or any([out is t._array for t in operands])):
        out = out.copy()
    result = Tensor.__new__(Tensor)  # Tensor._make, inlined on the hot path
    result._array, result._version, result._uid = out, _Version(), next(_UIDS)
    if _GradMode.enabled and out.dtype.kind in "fc":
        for t in operands:
            if t._requires_grad:
                result._requires_grad = True
                result.grad_fn = frag.node_class(frag, operands, result)
                break
    return result


def primitive(op: str, attrs: dict, inputs: list) -> "Tensor":
    """Apply one registered op to Tensors (how a recorded backward is replayed)."""
    return _call(op.capitalize(), _PRIMITIVES[op], tuple(inputs), {"_attrs": attrs})


class _PrimitiveBuilders(dict):
    def __missing__(self, op):
        def build(*xs, _attrs):
            return O.bind(op, [x.value for x in xs], dict(_attrs))
        build.__name__ = op
        self[op] = build
        return build


_PRIMITIVES = _PrimitiveBuilders()


# -- graph records --------------------------------------------------------------
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


# -- the Tensor -------------------------------------------------------------------
_UIDS = itertools.count()


def _as_dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else np.dtype(dtype)


def _array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array of ``data`` with PyTorch's defaults: Python floats -> float32."""
    dtype = _as_dtype(dtype)
    if isinstance(data, Tensor):
        data = data._array
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [np.asarray(v._array if isinstance(v, Tensor) else v) for v in data]
    array = np.array(data, dtype=dtype, copy=True)
    python_floats = not isinstance(data, (np.ndarray, np.generic)) and array.dtype == np.float64
    if dtype is None and python_floats:
        array = array.astype(DEFAULT_FLOAT)
    if array.dtype == object:
        raise TypeError(f"cannot make a tensor of {type(data).__name__}")
    return array


def _axis(dim, axis):
    return axis if axis is not None else (tuple(dim) if isinstance(dim, list) else dim)


def _keep(keepdim, keepdims):
    return bool(keepdims if keepdims is not None else keepdim)


def _reduce_kwargs(dim, keepdim, dtype, axis, keepdims) -> dict:
    """NumPy's reduction keywords from PyTorch's (dim, keepdim, dtype) or NumPy's."""
    kwargs = {"axis": _axis(dim, axis), "keepdims": _keep(keepdim, keepdims)}
    if dtype is not None:
        kwargs["dtype"] = _as_dtype(dtype)
    return kwargs


class Tensor:
    """An array with PyTorch/Paddle autograd semantics (see the module docstring)."""

    __array_priority__ = 1000
    # Defaults until set on the tensor: a new tensor costs three attributes.
    grad = grad_fn = None
    _requires_grad = _retains_grad = False

    def __init__(self, data: Any = (), dtype: Any = None, requires_grad: bool = False):
        """``Tensor(array)`` wraps the array itself; ``Tensor([1, 2])`` is float32,
        as ``torch.Tensor``."""
        if isinstance(data, Tensor):
            data = data._array
        elif not isinstance(data, np.ndarray):
            data = _array(data, dtype or DEFAULT_FLOAT)
        self._array = data if dtype is None else data.astype(_as_dtype(dtype), copy=False)
        self._version = _Version()
        self._uid = next(_UIDS)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, array: np.ndarray) -> "Tensor":
        t = cls.__new__(cls)
        t._array = array
        t._version = _Version()
        t._uid = next(_UIDS)
        return t

    # -- autograd attributes ------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                                   "If you want to use a computed variable in a subgraph that "
                                   "doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            return
        if flag and self._array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(this one is {self._array.dtype})")
        self._requires_grad = bool(flag)

    @property
    def stop_gradient(self) -> bool:
        """Paddle's spelling: ``not requires_grad``."""
        return not self._requires_grad

    @stop_gradient.setter
    def stop_gradient(self, flag: bool) -> None:
        self.requires_grad = not flag

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version_value(self) -> int:
        return self._version.value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True

    def detach(self) -> "Tensor":
        """A leaf sharing this tensor's array and version counter."""
        t = Tensor._make(self._array)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        from staticgrad.autograd import backward
        backward([self], None if gradient is None else [gradient], retain_graph,
                 create_graph, inputs)

    # -- array attributes -------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The values as a leaf sharing this tensor's array; changes made through
        it are not tracked (``w.data -= lr * w.grad``), as in PyTorch."""
        return Tensor._make(self._array)

    @data.setter
    def data(self, value: Any) -> None:
        self._array = np.asarray(value._array if isinstance(value, Tensor) else value)

    @property
    def shape(self) -> tuple:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def device(self) -> str:
        return "cpu"

    def size(self, dim: int | None = None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def numel(self) -> int:
        return int(self._array.size)

    def dim(self) -> int:
        return self._array.ndim

    def __len__(self) -> int:
        if not self._array.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               "to Scalar")
        return self._array.reshape(()).item()

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._array

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self._array)

    def __float__(self) -> float:
        return float(self._array)

    def __int__(self) -> int:
        return int(self._array)

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._array)

    __hash__ = object.__hash__  # as torch.Tensor: hashed by identity, == is elementwise

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __repr__(self) -> str:
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._array.ndim == 0 and spec:
            return format(self._array.item(), spec)
        return format(repr(self), spec)

    # -- NumPy protocols: np.sin(t) and friends return Tensors ------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any([isinstance(x, Tracer) for x in inputs]):
            return NotImplemented
        supported = (ufunc in UFUNCS if method == "__call__" else
                     method == "reduce" and ufunc in REDUCERS)
        if supported and "out" not in kwargs:
            fn = ufunc if method == "__call__" else getattr(ufunc, method)
            return _call(lambda: _ufunc_name(ufunc, inputs), fn, inputs, kwargs)
        return _untracked(f"np.{ufunc.__name__}" + ("" if method == "__call__" else "." + method),
                          getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any([issubclass(t, Tracer) for t in types]):
            return NotImplemented
        if func in FUNCTIONS and "out" not in kwargs:
            return _call(func.__name__.capitalize(), func, args, kwargs)
        return _untracked(f"np.{func.__name__}", func, args, kwargs)

    # -- operators: binary ones installed below the class (install_operators);
    # -x and abs(x) are neg and abs among the unary methods -------------------------

    def __pos__(self):
        return self

    def __invert__(self):
        return _call("Not", np.logical_not, (self,))

    # -- in place: computed out of place, written into this tensor's array ----------
    def _check_inplace(self) -> None:
        if _GradMode.enabled and self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")

    def _assign(self, result: "Tensor") -> "Tensor":
        if result._array.shape != self._array.shape:
            raise RuntimeError(f"output with shape {list(self._array.shape)} doesn't match the "
                               f"broadcast shape {list(result._array.shape)}")
        np.copyto(self._array, result._array, casting="same_kind")
        self._version.value += 1
        if result.grad_fn is not None:
            # This tensor is now the op's output: its node records this array
            # at its new version.
            node = result.grad_fn
            node.out_data = self._array
            node.out_version = self._version
            node.out_seen = self._version.value
            node.out_ref = weakref.ref(self)
            self.grad_fn = node
            self._requires_grad = True
        return self

    def _inplace(name, ufunc):
        def method(self, other):
            self._check_inplace()
            if not (_GradMode.enabled and (self._requires_grad or getattr(
                    other, "_requires_grad", False))):  # nothing to record
                ufunc(self._array, other._array if isinstance(other, Tensor) else other,
                      out=self._array, casting="same_kind")
                self._version.value += 1
                return self
            return self._assign(_call(name, ufunc, (self, other)))
        return method

    __iadd__ = add_ = _inplace("Add", np.add)
    __isub__ = sub_ = _inplace("Sub", np.subtract)
    __imul__ = mul_ = _inplace("Mul", np.multiply)
    __itruediv__ = div_ = _inplace("Div", np.true_divide)
    __ipow__ = pow_ = _inplace("Pow", np.power)
    del _inplace

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        self._check_inplace()
        if not isinstance(value, Tensor):
            self._array.fill(value)
        elif value._requires_grad and _GradMode.enabled:
            return self._assign(_call("Fill", _fill_like, (self, value)))
        else:
            self._array[...] = value._array
        self._version.value += 1
        if self.grad_fn is not None:
            self.grad_fn = None
            self._requires_grad = False
        return self

    def copy_(self, src) -> "Tensor":
        self._check_inplace()
        return self._assign(_call("Copy", _fill_like, (self, src)))

    def __setitem__(self, key, value) -> None:
        """``y[key] = v``: written into y's array; y's grad_fn becomes the
        functional update (CopySlices), so y joins the graph."""
        self._check_inplace()
        return self._assign(_call("CopySlices", _setitem, (self, _index_key(key), value)))

    def __getitem__(self, key):
        key = _index_key(key)
        return _call(_index_name(key), _getitem, (self, key))

    # -- methods (PyTorch and Paddle spellings; NumPy's axis/keepdims too) ---------
    def _reduction(name, np_fn, numbered=True):
        """A reduction in PyTorch's (dim, keepdim, dtype) and NumPy's (axis,
        keepdims) spellings; ``numbered``: the grad_fn's name tells a full
        reduction (SumBackward0) from one along dims (SumBackward1), as PyTorch's."""
        def method(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
            kwargs = _reduce_kwargs(dim, keepdim, dtype, axis, keepdims)
            return _call(name + ("1" if numbered and kwargs["axis"] is not None else ""), np_fn,
                         (self,), kwargs)
        return method

    sum = _reduction("Sum", np.sum)
    mean = _reduction("Mean", np.mean)
    prod = _reduction("Prod", np.prod)
    amax = _reduction("Amax", np.max, numbered=False)
    amin = _reduction("Amin", np.min, numbered=False)
    del _reduction

    def _spread(name, np_fn):
        def method(self, dim=None, unbiased=True, keepdim=False, *, axis=None, keepdims=None,
                   ddof=None):
            ddof = (1 if unbiased else 0) if ddof is None else ddof
            return _call(name, np_fn, (self,), {"axis": _axis(dim, axis), "ddof": ddof,
                                                "keepdims": _keep(keepdim, keepdims)})
        return method

    var = _spread("Var", np.var)
    std = _spread("Std", np.std)
    del _spread

    def _extreme(name, np_fn, arg_fn):
        def method(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
            """Without ``dim`` the extreme value; with it ``(values, indices)`` as PyTorch."""
            axis, keep = _axis(dim, axis), _keep(keepdim, keepdims)
            values = _call(name, np_fn, (self,), {"axis": axis, "keepdims": keep})
            if dim is None:
                return values
            return values, Tensor._make(arg_fn(self._array, axis=axis, keepdims=keep))
        return method

    max = _extreme("Max", np.max, np.argmax)
    min = _extreme("Min", np.min, np.argmin)
    del _extreme

    def argmax(self, dim=None, keepdim=False):
        return Tensor._make(np.argmax(self._array, axis=dim, keepdims=keepdim))

    def argmin(self, dim=None, keepdim=False):
        return Tensor._make(np.argmin(self._array, axis=dim, keepdims=keepdim))

    def norm(self, p="fro", dim=None, keepdim=False, *, axis=None):
        """The p-norm of all elements (``dim=None``) or along ``dim``."""
        return norm(self, p, _axis(dim, axis), keepdim)

    def dot(self, other):
        return _call("Dot", np.dot, (self, other))

    def matmul(self, other):
        return self @ other

    mm = mv = matmul

    def pow(self, exponent):
        return self ** exponent

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else alpha * other)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else alpha * other)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    multiply, divide, subtract = mul, div, sub

    def _unary(name, ufunc):
        return lambda self: _call(name, ufunc, (self,))

    exp = _unary("Exp", np.exp)
    log = _unary("Log", np.log)
    log1p = _unary("Log1p", np.log1p)
    expm1 = _unary("Expm1", np.expm1)
    sqrt = _unary("Sqrt", np.sqrt)
    sin = _unary("Sin", np.sin)
    cos = _unary("Cos", np.cos)
    tan = _unary("Tan", np.tan)
    tanh = _unary("Tanh", np.tanh)
    sinh = _unary("Sinh", np.sinh)
    cosh = _unary("Cosh", np.cosh)
    asin = arcsin = _unary("Asin", np.arcsin)
    acos = arccos = _unary("Acos", np.arccos)
    atan = arctan = _unary("Atan", np.arctan)
    __abs__ = abs = _unary("Abs", np.absolute)
    __neg__ = neg = negative = _unary("Neg", np.negative)
    sign = _unary("Sign", np.sign)
    square = _unary("Square", np.square)
    reciprocal = _unary("Reciprocal", np.reciprocal)
    floor = _unary("Floor", np.floor)
    ceil = _unary("Ceil", np.ceil)
    del _unary

    def sigmoid(self):
        return sigmoid(self)

    def relu(self):
        return relu(self)

    def softmax(self, dim=-1):
        return softmax(self, dim)

    def log_softmax(self, dim=-1):
        return log_softmax(self, dim)

    def clamp(self, min=None, max=None):
        return _call("Clamp", np.clip, (self, min, max))

    clip = clamp

    def maximum(self, other):
        return _call("Maximum", np.maximum, (self, other))

    def minimum(self, other):
        return _call("Minimum", np.minimum, (self, other))

    def reshape(self, *shape):
        shape = _shape(shape)
        return _call("View", np.reshape, (self, shape))

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self):
        return self.reshape(-1)

    def transpose(self, *dims):
        """PyTorch's ``transpose(dim0, dim1)``; with a permutation, NumPy's."""
        if len(dims) == 2 and all(isinstance(d, int) for d in dims):
            return _call("Transpose", np.swapaxes, (self, dims[0], dims[1]))
        dims = dims[0] if len(dims) == 1 else (dims or None)
        return _call("Permute", np.transpose, (self, dims))

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return _call("Permute", np.transpose, (self, dims))

    def t(self):
        return _call("T", np.transpose, (self,))

    @property
    def T(self):
        return _call("Permute", np.transpose, (self,))

    def unsqueeze(self, dim):
        return _call("Unsqueeze", np.expand_dims, (self, dim))

    def squeeze(self, dim=None):
        return _call("Squeeze", np.squeeze, (self, dim))

    def expand(self, *sizes):
        sizes = _shape(sizes)
        shape = tuple(n if s == -1 else s for s, n in
                      zip(sizes, (1,) * (len(sizes) - self.ndim) + self.shape))
        return _call("Expand", np.broadcast_to, (self, shape))

    def expand_as(self, other):
        return self.expand(other.shape)

    def astype(self, dtype):
        return _call("To", _cast, (self, str(_as_dtype(dtype))))

    def to(self, dtype=None, *args, **kwargs):
        if dtype is None or isinstance(dtype, str) and dtype in ("cpu", "cuda"):
            return self
        return self.astype(dtype)

    type = to

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def long(self):
        return self.astype(np.int64)

    def int(self):
        return self.astype(np.int32)

    def bool(self):
        return self.astype(np.bool_)

    def clone(self):
        return _call("Clone", np.copy, (self,))

    def copy(self):
        return self.clone()

    def cpu(self):
        return self


# -- builders of fragments that have no single NumPy spelling ---------------------
def _tensor_operator(ufunc: np.ufunc, reflected: bool):
    def method(self, other):
        if isinstance(other, Tracer):
            return NotImplemented
        args = (other, self) if reflected else (self, other)
        return _call(lambda: _ufunc_name(ufunc, args), ufunc, args)
    return method


install_operators(Tensor, _tensor_operator)


def _getitem(x, key):
    return x[key]


def _setitem(base, key, value):
    return O.setitem(base.value, to_value(key), to_value(value))


def _fill_like(base, value):
    v = value.value if isinstance(value, Tracer) else value
    v = O.as_value(base.value.graph, v, [base.value])
    if v.dtype != base.dtype:
        v = O.cast(v, base.dtype)
    return O.broadcast_to(v, base.shape)


def _cast(x, dtype):
    return O.cast(x.value, np.dtype(dtype))


def _index_key(key):
    """Tensor indices become arrays; boolean masks become the integer arrays of
    their positions (the eager value is known, so the shape is too)."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item._array
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype == np.bool_:
            out.extend(np.nonzero(item))
        else:
            out.append(item)
    return tuple(out) if isinstance(key, tuple) or len(out) != 1 else out[0]


def _index_name(key) -> str:
    items = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, np.ndarray) for k in items):
        return "Index"
    if all(isinstance(k, (int, np.integer)) for k in items):
        return "Select"
    return "Slice"


_UFUNC_NAMES = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div",
                "divide": "Div", "power": "Pow", "negative": "Neg", "absolute": "Abs",
                "arcsin": "Asin", "arccos": "Acos", "arctan": "Atan"}


def _ufunc_name(ufunc, args) -> str:
    if ufunc is np.matmul:
        ndims = [np.ndim(a._array if isinstance(a, Tensor) else a) for a in args]
        return {(2, 2): "Mm", (1, 1): "Dot", (2, 1): "Mv"}.get(tuple(ndims), "Matmul")
    name = _UFUNC_NAMES.get(ufunc.__name__, ufunc.__name__.capitalize())
    if ufunc is np.power and isinstance(args[1], Tensor):
        return "Pow1"
    if ufunc is np.subtract and not isinstance(args[0], Tensor):
        return "Rsub1"
    return name


def _untracked(what: str, fn: Callable, args: tuple, kwargs: dict):
    """A NumPy function staticgrad has no rule for: fine on values that need
    no gradient (comparisons, tests, integer results), refused otherwise."""
    leaves, tree = pytree.flatten((args, kwargs))
    arrays, kw = pytree.unflatten(tree, [x._array if isinstance(x, Tensor) else x
                                         for x in leaves])
    out = fn(*arrays, **kw)
    if "out" in kwargs:  # NumPy writing into an array (w._array -= lr * w.grad): return it
        return out
    differentiable = isinstance(out, np.ndarray) and out.dtype.kind in "fc"
    tracked = any([isinstance(x, Tensor) and x._requires_grad for x in leaves])
    if _GradMode.enabled and differentiable and tracked:
        raise UnsupportedOperationError(
            f"{what} has no derivative rule in staticgrad; its result would silently lose "
            "the gradient. Use the supported NumPy functions, or detach() the operand")
    return Tensor._make(out) if isinstance(out, np.ndarray) else out


# -- printing, as PyTorch ------------------------------------------------------------
PRECISION, LINEWIDTH, THRESHOLD, EDGEITEMS = 4, 80, 1000, 3


class _Formatter:
    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind in "fc"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        big, small = np.abs(finite).max(), np.abs(finite).min()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8
            strings = ([f"{v:.{PRECISION}e}" for v in finite.tolist()] if self.sci_mode
                       else [f"{v:.0f}." for v in finite.tolist()])
        else:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8 or small < 1.0e-4
            fmt = "e" if self.sci_mode else "f"
            strings = [f"{v:.{PRECISION}{fmt}}" for v in finite.tolist()]
        self.width = max(self.width, *map(len, strings))

    def format(self, value) -> str:
        if self.floating:
            value = float(value)
            if self.sci_mode:
                text = f"{value:.{PRECISION}e}"
            elif self.int_mode:
                text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
            else:
                text = f"{value:.{PRECISION}f}"
        else:
            text = str(value.item() if hasattr(value, "item") else value)
        return " " * (self.width - len(text)) + text


def _summarized(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    return np.stack([_summarized(x) for x in a]) if a.ndim > 1 else a


def _format_array(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a[()])
    if a.ndim == 1:
        items = [fmt.format(v) for v in a]
        if summarize and len(items) > 2 * EDGEITEMS:
            items = items[:EDGEITEMS] + [" ..."] + items[-EDGEITEMS:]
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(a.shape[0] - EDGEITEMS, a.shape[0]))
    parts = ["..." if r is None else _format_array(a[r], indent + 1, summarize, fmt) for r in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_tensor(t: Tensor) -> str:
    prefix, indent = "tensor(", len("tensor(")
    a = t._array
    suffixes = []
    if a.size == 0:
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != DEFAULT_FLOAT:
            suffixes.append(f"dtype={a.dtype}")
    else:
        if a.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(np.bool_)):
            suffixes.append(f"dtype={a.dtype}")
        summarize = a.size > THRESHOLD
        body = _format_array(a, indent, summarize,
                             _Formatter(_summarized(a) if summarize else a))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            text += ",\n" + " " * indent + s
            last = indent + len(s)
        else:
            text += ", " + s
            last += len(s) + 2
    return text + ")"


# -- constructors ----------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """A leaf tensor holding a copy of ``data`` (Python floats -> float32).

    >>> import staticgrad as sg
    >>> x = sg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """
    t = Tensor._make(_array(data, dtype))
    t.requires_grad = requires_grad
    return t


def to_tensor(data: Any, dtype: Any = None, place: Any = None,
              stop_gradient: bool = True) -> Tensor:
    """Paddle's spelling: ``stop_gradient=False`` makes a tensor that requires grad.

    >>> import staticgrad as sg
    >>> x = sg.to_tensor([1.0, 2.0], dtype='float32', stop_gradient=False)
    >>> x.stop_gradient, x.requires_grad
    (False, True)
    """
    return tensor(data, dtype, requires_grad=not stop_gradient)


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _public(fn: Callable, name: str, summary: str, example: str) -> Callable:
    """``fn`` named ``name``, its docstring ``summary`` and the doctest
    ``sg.<example>`` (the call, then what it prints on indented lines)."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{summary}\n\n    >>> import staticgrad as sg\n    >>> sg.{example}\n"
    return fn


def _factory(name: str, fill: Callable, what: str, example: str) -> Callable:
    def make(*size: int, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        shape = _shape((kw["size"],) if "size" in kw else size)
        return tensor(fill(shape, _as_dtype(dtype) or DEFAULT_FLOAT), requires_grad=requires_grad)
    return _public(make, name, f"A new float32 (or ``dtype``) tensor of {what}, as "
                   f"``torch.{name}``; the size is given as ints, a list or ``size=``.",
                   name + example)


empty = _factory("empty", np.empty, "the given size", "([3, 1]).shape\n    (3, 1)")
zeros = _factory("zeros", np.zeros, "zeros", "(2, 2)\n    tensor([[0., 0.],\n"
                                             "            [0., 0.]])")
ones = _factory("ones", np.ones, "ones", "(2, requires_grad=True)\n"
                                         "    tensor([1., 1.], requires_grad=True)")
def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``.

    >>> import staticgrad as sg
    >>> sg.full((2,), 3.0)
    tensor([3., 3.])
    """
    dtype = _as_dtype(dtype) or (DEFAULT_FLOAT if isinstance(fill_value, float) else None)
    return tensor(np.full(_shape((size,)), fill_value, dtype), requires_grad=requires_grad)


def _like(factory: Callable, example: str) -> Callable:
    def like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return factory(np.shape(t), dtype=dtype or np.asarray(t).dtype, requires_grad=requires_grad)
    name = f"{factory.__name__}_like"
    return _public(like, name, f"``{factory.__name__}`` of ``t``'s shape and dtype.",
                   name + example)


zeros_like = _like(zeros, "(sg.ones(2))\n    tensor([0., 0.])")
ones_like = _like(ones, "(sg.zeros(2))\n    tensor([1., 1.])")


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """As torch.arange: float arguments give float32.

    >>> import staticgrad as sg
    >>> sg.arange(4.0)
    tensor([0., 1., 2., 3.])
    """
    args = (start,) if end is None else (start, end, step)
    dtype = _as_dtype(dtype)
    if dtype is None and any(isinstance(a, float) for a in args):
        dtype = DEFAULT_FLOAT
    return tensor(np.arange(*args, dtype=dtype), requires_grad=requires_grad)


_RNG = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``rand`` and ``randn``.

    >>> import numpy as np, staticgrad as sg
    >>> sg.manual_seed(0); a = sg.rand(3)
    >>> sg.manual_seed(0); np.array_equal(sg.rand(3), a)
    True
    """
    global _RNG
    _RNG = np.random.default_rng(seed)


seed = manual_seed

# Drawn in float64 and rounded, so a seed gives the same numbers in every dtype.
rand = _factory("rand", lambda shape, dtype: _RNG.random(shape).astype(dtype),
                "uniform samples in [0, 1)", "(2, 3).shape\n    (2, 3)")
randn = _factory("randn", lambda shape, dtype: _RNG.standard_normal(shape).astype(dtype),
                 "standard normal samples (``size=()``: 0-d)",
                 "(size=(), requires_grad=True).shape\n    ()")


# -- module-level functions: Tensors, traced values and arrays alike --------------------
def _values_fn(name: str, rule: Callable, example: str) -> Callable:
    """A function written with compiler Values (``compiler.ops``), usable on
    Tensors (eager, recorded), Tracers (traced) and arrays (evaluated)."""
    def build(x, *args):
        return Tracer(x.ctx, rule(x.value, *args).node)

    def fn(x: Any, *args: Any) -> Any:
        if isinstance(x, Tracer):
            return build(x, *args)
        if isinstance(x, Tensor):
            return _call(name, build, (x,) + args)
        return _call(name, build, (Tensor(np.asarray(x)),) + args)._array
    public = example.split("(")[0]
    return _public(fn, public, f"``{public}`` of a Tensor (recorded), a traced value or an array.",
                   example)


sigmoid = _values_fn("Sigmoid", O.sigmoid, "sigmoid(sg.tensor([0.0]))\n    tensor([0.5000])")
softplus = _values_fn("Softplus", O.softplus, "softplus(sg.tensor([0.0]))\n    tensor([0.6931])")
relu = _values_fn("Relu", lambda x: O.maximum(x, 0),
                  "relu(sg.tensor([-1.0, 2.0]))\n    tensor([0., 2.])")
softmax = _values_fn("Softmax", lambda x, dim=-1: O.softmax(x, axis=dim),
                     "softmax(sg.tensor([0.0, 0.0]))\n    tensor([0.5000, 0.5000])")
log_softmax = _values_fn("LogSoftmax", lambda x, dim=-1: O.log_softmax(x, axis=dim),
                         "log_softmax(sg.tensor([0.0, 0.0]))\n    tensor([-0.6931, -0.6931])")
logsumexp = _values_fn("Logsumexp", lambda x, dim=None, keepdim=False:
                       O.logsumexp(x, axis=dim, keepdims=keepdim),
                       "logsumexp(sg.tensor([0.0, 0.0]))\n    tensor(0.6931)")


def _reduce(name: str, np_fn: Callable, shows: str) -> Callable:
    method = getattr(Tensor, name)

    def fn(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
           axis: Any = None, keepdims: bool | None = None) -> Any:
        if isinstance(x, Tensor):  # as the method: named as PyTorch's, no dispatch through NumPy
            return method(x, dim, keepdim, dtype, axis=axis, keepdims=keepdims)
        return np_fn(x, **_reduce_kwargs(dim, keepdim, dtype, axis, keepdims))
    return _public(fn, name, f"``{name}`` over ``dim`` (PyTorch) or ``axis`` (NumPy, Paddle) of "
                   "a Tensor, a traced value or an array.",
                   f"{name}(sg.tensor([[1., 2.], [3., 4.]]), dim=0)\n    {shows}")


sum = _reduce("sum", np.sum, "tensor([4., 6.])")
mean = _reduce("mean", np.mean, "tensor([2., 3.])")
prod = _reduce("prod", np.prod, "tensor([3., 8.])")
amax = _reduce("amax", np.max, "tensor([3., 4.])")
amin = _reduce("amin", np.min, "tensor([1., 2.])")


def norm(x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *,
         axis: Any = None) -> Any:
    """PyTorch's norm: with ``dim=None`` the p-norm of all elements.

    >>> import staticgrad as sg
    >>> sg.norm(sg.tensor([3.0, 4.0]))
    tensor(5.)
    """
    axis = _axis(dim, axis)
    ord = None if p in ("fro", 2, 2.0) else p
    if axis is None and np.ndim(x) > 1:
        x = np.reshape(x, (-1,))
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdim)


def _elementwise(name: str, ufunc: np.ufunc, example: str) -> Callable:
    """``sg.exp`` and friends: on a Tensor its method (recorded, without the
    detour through NumPy's ufunc protocol), otherwise the ufunc itself."""
    method = getattr(Tensor, name)

    def fn(x: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(x, Tensor) and not args and not kwargs:
            return method(x)
        return ufunc(x, *args, **kwargs)
    return _public(fn, name, f"``np.{ufunc.__name__}`` of a Tensor (recorded), a traced value or "
                   "an array.", name + example)


exp = _elementwise("exp", np.exp, "(sg.tensor([0.0]))\n    tensor([1.])")
log = _elementwise("log", np.log, "(sg.tensor([1.0]))\n    tensor([0.])")
log1p = _elementwise("log1p", np.log1p, "(sg.tensor([0.0]))\n    tensor([0.])")
expm1 = _elementwise("expm1", np.expm1, "(sg.tensor([0.0]))\n    tensor([0.])")
sin = _elementwise("sin", np.sin, "(sg.tensor([0.0]))\n    tensor([0.])")
cos = _elementwise("cos", np.cos, "(sg.tensor([0.0]))\n    tensor([1.])")
tan = _elementwise("tan", np.tan, "(sg.tensor([0.0]))\n    tensor([0.])")
tanh = _elementwise("tanh", np.tanh, "(sg.tensor([0.0]))\n    tensor([0.])")
sinh = _elementwise("sinh", np.sinh, "(sg.tensor([0.0]))\n    tensor([0.])")
cosh = _elementwise("cosh", np.cosh, "(sg.tensor([0.0]))\n    tensor([1.])")
sqrt = _elementwise("sqrt", np.sqrt, "(sg.tensor([4.0]))\n    tensor([2.])")
abs = _elementwise("abs", np.absolute, "(sg.tensor([-2.0]))\n    tensor([2.])")
sign = _elementwise("sign", np.sign, "(sg.tensor([-2.0]))\n    tensor([-1.])")
square = _elementwise("square", np.square, "(sg.tensor([3.0]))\n    tensor([9.])")
maximum, minimum, where = np.maximum, np.minimum, np.where
dot, matmul, outer = np.dot, np.matmul, np.outer
add, subtract, multiply, divide = np.add, np.subtract, np.multiply, np.true_divide
mul, sub, div = multiply, subtract, divide
concatenate, stack, reshape, transpose = np.concatenate, np.stack, np.reshape, np.transpose
cat = concat = concatenate


def pow(x: Any, exponent: Any) -> Any:
    """``x ** exponent``.

    >>> import staticgrad as sg
    >>> sg.pow(sg.tensor([2.0]), 3)
    tensor([8.])
    """
    return x ** exponent


def clamp(x: Any, min: Any = None, max: Any = None) -> Any:
    """Limit values to [min, max] (gradient passes where min <= x <= max).

    >>> import staticgrad as sg
    >>> sg.clamp(sg.tensor([-1.0, 0.5, 2.0]), 0, 1)
    tensor([0.0000, 0.5000, 1.0000])
    """
    return np.clip(x, min, max)


clip = clamp


def reduce_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """TensorFlow's spelling of sum.

    >>> import staticgrad as sg
    >>> sg.reduce_sum(sg.tensor([1.0, 2.0]))
    tensor(3.)
    """
    return np.sum(x, axis=axis, keepdims=keepdims)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is an eager Tensor.

    >>> import staticgrad as sg
    >>> sg.is_tensor(sg.ones(1)), sg.is_tensor([1.0])
    (True, False)
    """
    return isinstance(x, Tensor)

"""jit, grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

Each transform is a *build* function ``build(ctx, args, kwargs)`` that, given
traced arguments, adds the transform's result to the trace (the forward graph,
then its adjoint or tangent graph). ``Transformed`` turns a build into a
callable with specialisation and caching. Called with traced arguments (inside
another transform), a transform adds itself to the outer trace instead, so
transforms compose: ``grad(grad(f))``, ``jit(grad(f))``, ``jacobian(grad(f))``.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Sequence

import numpy as np

import compiler.ops as O
from compiler import autodiff
from compiler.passes import optimize
from staticgrad import pytree
from staticgrad.errors import (ArgumentTypeError, NonScalarOutputError, ShapeError,
                               TracerConversionError, UnsupportedOperationError)
from compiler.errors import GuardFailure
from staticgrad import specialize
from staticgrad.interpose import traced_namespaces
from staticgrad.specialize import CacheInfo, Specializer, signature, specialization
from staticgrad.tracing import TraceContext, Tracer, find_context, traceback_site

Build = Callable[[TraceContext, tuple, dict], Any]


def _name(fun: Callable) -> str:
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)


class Traced:
    """The result of ``f.trace(*args)``: the joint graph of one specialisation."""

    def __init__(self, raw, optimised):
        self.ir = optimised           # the optimised compiler.ir.Graph
        self.raw = raw                # as traced, before the passes
        self.graph = optimised.nx     # networkx.DiGraph of forward + adjoint

    def to_dot(self) -> str:
        return self.ir.to_dot()

    def __str__(self) -> str:
        return str(self.ir)


class Transformed:
    """A function made from a build, cached per signature and guard path."""

    def __init__(self, fun: Callable, build: Build, name: str, static_argnums: Sequence[int] = (),
                 disk_cache: bool = True):
        self.fun = fun
        self.disk_cache = disk_cache
        self._build = build
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.__name__ = name
        self.__qualname__ = name
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        self._cache = Specializer(name)
        # The hot path: plain positional arrays/floats, keyed by their shapes and
        # dtypes -> the call of the specialisation last used for them.
        self._fast: dict[tuple, Callable] = {}
        # Shapes and dtypes (any layout) -> the specialisation last used for them
        self._loose: dict = {}
        self._fast_hits = 0
        # Hotter still: after HOT_AFTER fast hits in a row of one specialisation
        # of array arguments, its kernel module's hot() is called first, with no
        # key at all (Numba checks the types, the kernel the shapes). A miss
        # drops it back to the key.
        self._hot = None
        self._streak_call, self._streak = None, 0

    def __repr__(self) -> str:
        return f"<staticgrad {self.__name__}>"

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    # -- calling --------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            hot = self._hot
            if hot is not None:
                try:
                    result = hot(*args)
                except Exception:   # another signature, a failed guard, or an error
                    self._hot = None  # the full path raises again: take it
                else:
                    self._fast_hits += 1
                    return result
            # _fast_key, inlined: this is the hot path
            if len(args) == 1:
                a = args[0]
                key = (a.shape, a.strides, a.dtype) if type(a) is _ndarray else type(a)
            else:
                key = tuple([(a.shape, a.strides, a.dtype) if type(a) is _ndarray else type(a)
                             for a in args])
            call = self._fast.get(key)
            if call is not None:
                try:
                    result = call(*args)
                except GuardFailure:
                    pass    # another path: the full lookup below tries them all
                else:
                    self._fast_hits += 1
                    if call is self._streak_call:
                        self._streak += 1
                        if self._streak == HOT_AFTER:
                            self._heat(args, call)
                    else:
                        self._streak_call, self._streak = call, 0
                    return result
            else:
                # Another layout of known shapes and dtypes (a Fortran-ordered or
                # strided array): the specialisation's generic call, whose Numba
                # dispatcher compiles the kernel for that layout.
                spec = self._loose.get(_loose_key(args))
                if spec is not None:
                    try:
                        outs = spec.run(*args)
                    except GuardFailure:
                        pass
                    else:
                        self._fast_hits += 1
                        return pytree.unflatten(spec.out_tree, [_result(o) for o in outs])
        ctx = find_context((args, kwargs))
        if ctx is not None:
            return self._build(ctx, args, kwargs)
        key, leaves, treedef = self._key(args, kwargs)
        spec, outs = self._cache.lookup(key, leaves)
        if spec is not None:
            self._remember_fast(args, kwargs, key)
            return pytree.unflatten(spec.out_tree, [_result(o) for o in outs])
        kind = self._cache.admit(key, outs)
        spec, outs = self._specialize(args, kwargs, leaves, treedef)
        self._cache.store(key, spec, kind)
        self._remember_fast(args, kwargs, key)
        if spec.compiled:
            # Its kernel was waited for (sg.config.compile_in_background is off):
            # it answers, so that every call of a specialisation gives the same bits.
            outs = spec.run(*leaves)
        return pytree.unflatten(spec.out_tree, [_result(np.array(o)) for o in outs])

    def _remember_fast(self, args: tuple, kwargs: dict, key: tuple) -> None:
        # 0-d arrays are passed to kernels as scalars, static arguments are part
        # of the key: those calls keep the full path.
        if kwargs or self.static_argnums or not all(
                type(a) in (float, int, bool) or type(a) is np.ndarray and a.ndim for a in args):
            return
        spec = self._cache.table[key][0]
        self._loose[_loose_key(args)] = spec
        # The kernel's entry point is called with these arguments as they are:
        # arrays must be C-ordered, native (the key's strides and dtype then
        # hold every later call to the same layout and dtype).
        if not all(type(a) is not np.ndarray or a.flags.c_contiguous and a.dtype.isnative
                   for a in args):
            return
        fast_key, fast, call = _fast_key(args), self._fast, spec.call
        if fast.get(fast_key) is call:
            return
        fast[fast_key] = call
        if spec.pending is not None:  # the kernel takes over this entry when it is ready
            spec.on_switch.append(
                lambda new: fast.__setitem__(fast_key, new) if fast.get(fast_key) is call else None)

    def _heat(self, args: tuple, call) -> None:
        """Make the specialisation answering ``args`` with ``call`` the hot one,
        when its arguments are arrays (Numba's dispatcher would convert a
        Python int to a float parameter), its kernel is compiled and small (the
        ~0.15 µs a call saves matters for small kernels only). Its hot() is
        compiled on the background thread when compiles are."""
        spec = self._loose.get(_loose_key(args))
        if spec is None or spec.call is not call or not spec.compiled \
                or len(spec.graph) > HOT_MAX_NODES or not all(type(a) is _ndarray for a in args):
            return
        if spec.hot is not None or not specialize.config.compile_in_background:
            self._hot = spec.hot_call()
            return
        from compiler.codegen import in_background

        def ready(future):
            if not future.cancelled() and future.exception() is None \
                    and self._streak_call is call:
                self._hot = future.result()
        in_background(spec.hot_call).add_done_callback(ready)

    def _split(self, args: tuple):
        n = len(args)
        static = {i % n if n else i for i in self.static_argnums}
        for i in self.static_argnums:
            if not -n <= i < n:
                raise TypeError(f"{self.__name__}: static_argnums {i} is out of range for "
                                f"{n} positional arguments")
        return static

    def _key(self, args: tuple, kwargs: dict):
        static = self._split(args)
        statics = tuple(args[i] for i in sorted(static))
        try:
            hash(statics)
        except TypeError:
            raise TypeError(f"{self.__name__}: static arguments must be hashable, got "
                            f"{[type(s).__name__ for s in statics]}") from None
        dynamic = [a for i, a in enumerate(args) if i not in static]
        leaves, treedef = pytree.flatten((dynamic, kwargs))
        try:
            hash(treedef)
        except TypeError:
            kinds = sorted({type(v).__name__ for v in _static_values(treedef)
                            if not _hashable(v)})
            raise ArgumentTypeError(
                f"{self.__name__}: an argument of type {', '.join(kinds)} is neither an array "
                "nor hashable: non-array arguments are static (part of the cache key) and "
                "must be hashable; pass arrays, or a hashable value (a tuple, a string)"
                ) from None
        return (treedef, statics, signature(leaves, self.__name__)), leaves, treedef

    def _trace(self, args: tuple, kwargs: dict, leaves: list, treedef):
        """Trace for these arguments: the context (its graph's outputs set) and
        the structure of the result."""
        ctx = TraceContext(self.__name__)
        dynamic, kw = pytree.unflatten(treedef, [ctx.param(x) for x in leaves])
        static = self._split(args)
        it = iter(dynamic)
        full = tuple(args[i] if i in static else next(it) for i in range(len(args)))
        try:
            with ctx.running(), traced_namespaces():
                result = self._build(ctx, full, kw)
        except ValueError as e:
            if isinstance(e.__cause__, TracerConversionError) and "sequence" in str(e):
                # NumPy re-raises what __float__ raised while storing an element
                # as its own "setting an array element with a sequence."
                raise TracerConversionError(
                    f"{self.__name__}: a traced value is stored into a NumPy array (at "
                    f"{traceback_site(e.__traceback__)}); a NumPy array cannot hold traced "
                    "values, and storing the number would drop its gradient. Build the "
                    "result with np.stack / np.concatenate, or update a traced array "
                    "instead (out = np.zeros_like(x); out[i] = v is a functional setitem)"
                    ) from e
            raise
        out_leaves, out_tree = pytree.flatten(result)
        ctx.graph.outputs = [ctx.lift(o).node for o in out_leaves]
        return ctx, out_tree

    def _specialize(self, args: tuple, kwargs: dict, leaves: list, treedef):
        ctx, out_tree = self._trace(args, kwargs, leaves, treedef)
        # evaluated only if the trace answers the call (not when a kernel does)
        concrete = (ctx.env[n] for n in ctx.graph.outputs)
        graph = optimize(ctx.graph)
        return specialization(graph, out_tree, self.__name__, disk=self.disk_cache), concrete

    # -- inspection -----------------------------------------------------
    def trace(self, *args: Any, **kwargs: Any) -> Traced:
        """Trace for these arguments (nothing is cached or compiled) and return the graph.

        >>> grad(lambda x: np.sum(x ** 2)).trace(np.ones(3)).graph  # doctest: +SKIP
        <networkx.classes.digraph.DiGraph object at ...>
        """
        _, leaves, treedef = self._key(args, kwargs)
        ctx, _ = self._trace(args, kwargs, leaves, treedef)
        return Traced(ctx.graph, optimize(ctx.graph))

    def lower(self, *args: Any, **kwargs: Any) -> "Lowered":
        """The generated Numba source for these arguments (nothing is compiled).

        >>> print(jit(lambda x: np.sum(np.exp(x))).lower(np.ones(3)).source)  # doctest: +SKIP
        """
        from compiler.codegen import generate_source

        _, leaves, treedef = self._key(args, kwargs)
        graph = self._optimised(args, kwargs, leaves, treedef)
        return Lowered(graph, generate_source(graph, vector_math=specialize.config.vector_math))

    def compile(self, *args: Any, **kwargs: Any):
        """The compiled kernel for these arguments, for use from Numba code.

        ``.numba_function`` is a Numba dispatcher taking the same positional
        arrays as the graph's parameters (the flattened dynamic arguments; 0-d
        ones as scalars). It returns the single output as an array, several
        outputs as a tuple (in the order of the flattened result), and 0-d
        outputs as Python floats; a failed guard raises ValueError naming the
        guard's source line. ``.source`` is the generated module;
        ``.low_level_callable()`` wraps a scalar function for SciPy's C callbacks.
        It waits for the kernel; a specialisation of these arguments whose
        kernel was compiling in the background answers from it from then on.

        >>> f = grad(lambda x: np.sum(x ** 2)).compile(np.ones(3))  # doctest: +SKIP
        >>> f.numba_function(np.ones(3))  # doctest: +SKIP
        array([2., 2., 2.])
        """
        from compiler.codegen import compile_graph

        key, leaves, treedef = self._key(args, kwargs)
        graph = self._optimised(args, kwargs, leaves, treedef)
        compiled = compile_graph(graph, name=self.__name__, disk=self.disk_cache,
                                 vector_math=specialize.config.vector_math)
        structure = None
        for spec in self._cache.table.get(key, []):
            if spec.pending is not None:  # compiling in the background: this is its kernel
                structure = structure or graph.structural_key()
                if spec.graph.structural_key() == structure:
                    spec.switch(kernel=compiled)
        return compiled

    def _optimised(self, args, kwargs, leaves, treedef):
        return optimize(self._trace(args, kwargs, leaves, treedef)[0].graph)

    def cache_info(self) -> CacheInfo:
        """Specialisations, hits, traces and the reason of every retrace."""
        self._cache.info.hits += self._fast_hits
        self._fast_hits = 0
        return self._cache.info

    # -- pickling -------------------------------------------------------
    _recipe = None   # (transform, fun, options) that make this function again

    def __reduce__(self):
        """Pickled as the transform that made it, the user's function (by
        reference; by value under cloudpickle, as dask sends functions) and the
        optimised graph of each specialisation with its key: never machine
        code. The receiving process compiles a graph when it is first used, or
        loads it from the disk cache (keyed by the graph's structural key), and
        traces only signatures and paths the sender had not seen."""
        if self._recipe is None:
            raise TypeError(f"{self.__name__} cannot be pickled: only the functions made by jit, "
                            "grad, value_and_grad, jacobian, hessian and hvp can")
        traced = [(key, [(s.graph, s.out_tree, s.value_guards) for s in specs])
                  for key, specs in self._cache.table.items()]
        return _unpickle_transformed, (self._recipe, traced)


def _unpickle_transformed(recipe: tuple, traced: list) -> Transformed:
    from staticgrad.specialize import Specialization

    make, fun, options = recipe
    f = make(fun, **options)
    for key, specs in traced:
        f._cache.table[key] = [Specialization(graph=graph, run=_CompileOnFirstCall(graph, f),
                                              out_tree=out_tree, value_guards=guards)
                               for graph, out_tree, guards in specs]
        f._cache.info.specializations += len(specs)
    return f


class _CompileOnFirstCall:
    """The executable of a specialisation received by pickling: compiled (or
    loaded from the disk cache) when first called, so a process compiles only
    the kernels it uses."""

    def __init__(self, graph, owner: Transformed):
        self.graph, self.name, self.disk = graph, owner.__name__, owner.disk_cache
        self.run = None

    def __call__(self, *leaves):
        if self.run is None:  # compiled on the background thread when so configured
            from staticgrad.specialize import executable

            self.run = executable(self.graph, self.name, disk=self.disk)
        return self.run(*leaves)


def _with_recipe(f: Transformed, make: Callable, fun: Callable, **options) -> Transformed:
    f._recipe = (make, fun, options)
    return f


class Lowered:
    """The result of ``f.lower(*args)``: the optimised graph and the generated source."""

    def __init__(self, graph, source: str):
        self.graph = graph
        self.source = source

    def __str__(self) -> str:
        return self.source


_ndarray = np.ndarray

#: fast hits in a row of one specialisation before it becomes the hot one
HOT_AFTER = 16
#: the largest optimised graph (nodes) whose kernel gets a hot entry
HOT_MAX_NODES = 400


def _static_values(treedef) -> list:
    if treedef[0] == "static":
        return [treedef[1]]
    return [v for child in treedef[-1] if isinstance(child, tuple) and child
            for v in _static_values(child)] if treedef[0] in ("tuple", "list", "dict") else []


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _fast_key(args: tuple):
    """The hot-path key: shape, strides and dtype of each array, the type of
    anything else (only calls of arrays and Python scalars are entered under
    it); the bare item for one argument."""
    keys = [(a.shape, a.strides, a.dtype) if type(a) is _ndarray else type(a) for a in args]
    return keys[0] if len(keys) == 1 else tuple(keys)


def _loose_key(args: tuple) -> tuple:
    """Shape and dtype of each array, the type of anything else."""
    return tuple((a.shape, a.dtype) if type(a) is _ndarray else type(a) for a in args)


def _result(x: np.ndarray) -> Any:
    """0-d results come back as NumPy scalars, as from NumPy's reductions."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"array of shape {tuple(shape)}"
    return type(x).__name__


def _defined_at(fun: Callable) -> str:
    code = getattr(fun, "__code__", None)
    return "" if code is None else f" (defined at {code.co_filename}:{code.co_firstlineno})"


def _argnums_tuple(argnums) -> tuple:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _points(ctx: TraceContext, args: tuple, argnums: tuple):
    """Replace the differentiated arguments by fresh differentiation points."""
    args = list(args)
    for i in argnums:
        if not -len(args) <= i < len(args):
            raise TypeError(f"{ctx.name}: argnums {i} is out of range for {len(args)} arguments")
        args[i] = pytree.tree_map(
            lambda leaf, i=i: ctx.differentiation_point(leaf, f"argument {i}"), args[i])
    return args


def _zeros_like(ctx: TraceContext, t: Tracer) -> Tracer:
    return Tracer(ctx, O.zeros_like(t.value).node)


# -- jit ------------------------------------------------------------------
def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        cache: bool = True) -> Transformed | Callable[[Callable], Transformed]:
    """Compile ``fun`` per input signature; usable as ``@jit`` and ``@jit(static_argnums=1)``.

    ``cache=False`` keeps its kernels out of the on-disk cache (they are still
    reused within the process).

    >>> f = jit(lambda x: np.sum(np.sin(x) ** 2))
    >>> f(np.ones(3))  # doctest: +SKIP
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, cache=cache)
    return _with_recipe(Transformed(fun, lambda ctx, args, kwargs: fun(*args, **kwargs),
                                    f"jit({_name(fun)})", static_argnums, disk_cache=cache),
                        jit, fun, static_argnums=static_argnums, cache=cache)


# -- reverse mode ---------------------------------------------------------
def _grad_build(fun: Callable, argnums, has_aux: bool, with_value: bool, what: str) -> Build:
    nums = _argnums_tuple(argnums)

    def build(ctx, args, kwargs):
        args = _points(ctx, args, nums)
        out = fun(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{what}: has_aux=True needs the function to return a pair "
                                f"(output, aux), got {type(out).__name__}")
            out, aux = out
        if isinstance(out, (tuple, list, dict)):
            kind = type(out).__name__
            parts = out.values() if isinstance(out, dict) else out
            shown = ", ".join(_describe(p) for p in parts)
            raise NonScalarOutputError(
                f"{what}: grad requires a single scalar output, but {_name(fun)}"
                f"{_defined_at(fun)} returned a {kind} ({shown}); return the scalar to "
                "differentiate, or return (loss, aux) and pass has_aux=True, or use "
                "sg.value_and_grad(..., has_aux=True) to get the loss and the extra values "
                "back")
        y = ctx.lift(out)
        if y.shape != ():
            raise NonScalarOutputError(
                f"{what}: grad requires a scalar output, but {_name(fun)} returned shape "
                f"{y.shape}; use sg.vjp, sg.jacobian, or reduce the output (e.g. np.sum)")
        if y.dtype.kind not in "fc":
            raise TypeError(f"{what}: grad requires a real-valued (floating) output, "
                            f"{_name(fun)} returned dtype {y.dtype}")
        trees = [pytree.flatten(args[i]) for i in nums]
        points = [p for leaves, _ in trees for p in leaves]
        seed = ctx.graph.const(np.ones((), y.dtype))
        cts = autodiff.vjp(ctx.graph, [y.node], [seed], [p.node for p in points])
        grads = iter(Tracer(ctx, c.node) if c is not None else _zeros_like(ctx, p)
                     for c, p in zip(cts, points))
        per_arg = [pytree.unflatten(treedef, [next(grads) for _ in leaves])
                   for leaves, treedef in trees]
        g = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
        if with_value:
            return ((y, aux) if has_aux else y), g
        return (g, aux) if has_aux else g

    return build


def grad(fun: Callable, argnums: int | Sequence[int] = 0, *,
         has_aux: bool = False) -> Transformed:
    """The gradient of a scalar function; ``argnums`` int -> one gradient, tuple -> a tuple.

    >>> grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    name = f"grad({_name(fun)})"
    return _with_recipe(Transformed(fun, _grad_build(fun, argnums, has_aux, False, name), name),
                        grad, fun, argnums=argnums, has_aux=has_aux)


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, *,
                   has_aux: bool = False) -> Transformed:
    """``(value, gradient)`` in one fused evaluation.

    >>> value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    (np.float64(5.0), array([2., 4.]))
    """
    name = f"value_and_grad({_name(fun)})"
    return _with_recipe(Transformed(fun, _grad_build(fun, argnums, has_aux, True, name), name),
                        value_and_grad, fun, argnums=argnums, has_aux=has_aux)


_DERIVED: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()


def _derived(fun: Callable, kind: str, make: Callable[[], Transformed]) -> Transformed:
    """One cached transform of each kind per function (for vjp / jvp)."""
    try:
        table = _DERIVED.setdefault(fun, {})
    except TypeError:  # not weak-referenceable: no reuse across calls
        return make()
    if kind not in table:
        table[kind] = make()
    return table[kind]


def _check_like(what: str, given: Any, expected: Any, role: str) -> None:
    if given.shape != expected.shape:
        raise ShapeError(f"{what}: {role} has shape {given.shape} but the value it pairs with "
                         f"has shape {expected.shape}")


def vjp(fun: Callable, *primals: Any) -> tuple[Any, Callable[[Any], tuple]]:
    """``(out, vjp_fn)``; ``vjp_fn(cotangent)`` returns one gradient per primal,
    the cotangent weighting the outputs as ``grad_tensors`` does in PyTorch.

    >>> out, f_vjp = vjp(np.sin, np.zeros(2)); f_vjp(np.ones(2))
    (array([1., 1.]),)
    """
    name = f"vjp({_name(fun)})"

    def build_backward(ctx, args, kwargs):
        *prims, ct = args
        points = _points(ctx, tuple(prims), tuple(range(len(prims))))
        out = fun(*points)
        out_leaves, out_tree = pytree.flatten(out)
        ct_leaves, ct_tree = pytree.flatten(ct)
        if len(ct_leaves) != len(out_leaves):
            raise ShapeError(f"{name}: the cotangent has {len(ct_leaves)} parts but the output "
                             f"has {len(out_leaves)}")
        outs = [ctx.lift(o) for o in out_leaves]
        cts = [ctx.lift(c) for c in ct_leaves]
        for o, c in zip(outs, cts):
            _check_like(name, c, o, "the cotangent")
        point_leaves = [pytree.flatten(p) for p in points]
        flat = [p for leaves, _ in point_leaves for p in leaves]
        grads = autodiff.vjp(ctx.graph, [o.node for o in outs],
                             [O.cast(c.value, o.dtype) if c.dtype != o.dtype else c.value
                              for o, c in zip(outs, cts)], [p.node for p in flat])
        it = iter(Tracer(ctx, g.node) if g is not None else _zeros_like(ctx, p)
                  for g, p in zip(grads, flat))
        return tuple(pytree.unflatten(t, [next(it) for _ in leaves]) for leaves, t in point_leaves)

    forward = _derived(fun, "jit", lambda: jit(fun))
    backward = _derived(fun, "vjp", lambda: Transformed(fun, build_backward, name))
    out = forward(*primals)
    return out, (lambda cotangent: backward(*primals, cotangent))


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(out, tangent_out)``: forward mode, the tangents pushed through ``fun``.

    >>> jvp(np.sin, (np.zeros(2),), (np.ones(2),))
    (array([0., 0.]), array([1., 1.]))
    """
    name = f"jvp({_name(fun)})"
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise TypeError(f"{name}: {len(primals)} primals but {len(tangents)} tangents")

    def build(ctx, args, kwargs):
        prims, tans = args[:len(args) // 2], args[len(args) // 2:]
        points = _points(ctx, prims, tuple(range(len(prims))))
        flat_points = [p for x in points for p in pytree.flatten(x)[0]]
        flat_tans = [ctx.lift(t) for x in tans for t in pytree.flatten(x)[0]]
        for p, t in zip(flat_points, flat_tans):
            _check_like(name, t, p, "a tangent")
        out = fun(*points)
        out_leaves, out_tree = pytree.flatten(out)
        outs = [ctx.lift(o) for o in out_leaves]
        touts = autodiff.jvp(ctx.graph, [p.node for p in flat_points],
                             [O.cast(t.value, p.dtype) if t.dtype != p.dtype else t.value
                              for p, t in zip(flat_points, flat_tans)], [o.node for o in outs])
        tangent_out = [Tracer(ctx, t.node) if t is not None else _zeros_like(ctx, o)
                       for t, o in zip(touts, outs)]
        return out, pytree.unflatten(out_tree, tangent_out)

    return _derived(fun, "jvp", lambda: Transformed(fun, build, name))(*primals, *tangents)


# -- Jacobians and Hessians -----------------------------------------------
def _jacobian_of(ctx: TraceContext, y: Tracer, x: Tracer) -> Tracer:
    """d y / d x as an array of shape y.shape + x.shape (reverse or forward mode)."""
    graph = ctx.graph
    if y.size == 0 or x.size == 0:
        return Tracer(ctx, O.full(graph, y.shape + x.shape, 0, x.dtype).node)
    if y.size <= x.size:  # one adjoint pass per output element
        rows = []
        for k in range(y.size):
            seed = np.zeros(y.size, y.dtype)
            seed[k] = 1
            (ct,) = autodiff.vjp(graph, [y.node], [graph.const(seed.reshape(y.shape))], [x.node])
            rows.append(ct if ct is not None else O.zeros_like(x.value))
        return Tracer(ctx, O.reshape(O.stack(rows), y.shape + x.shape).node)
    cols = []  # one tangent pass per input element
    for k in range(x.size):
        seed = np.zeros(x.size, x.dtype)
        seed[k] = 1
        (t,) = autodiff.jvp(graph, [x.node], [graph.const(seed.reshape(x.shape))], [y.node])
        cols.append(t if t is not None else O.zeros_like(y.value))
    return Tracer(ctx, O.reshape(O.stack(cols, axis=-1), y.shape + x.shape).node)


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0) -> Transformed:
    """The Jacobian, shape ``out.shape + x.shape`` (a tuple of them for tuple argnums;
    for a function returning a tuple, a tuple of those, one per output, as in JAX).

    >>> jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    name = f"jacobian({_name(fun)})"
    nums = _argnums_tuple(argnums)

    def build(ctx, args, kwargs):
        args = _points(ctx, args, nums)
        for i in nums:
            if not isinstance(args[i], Tracer):
                raise UnsupportedOperationError(f"{name}: argument {i} must be a single array")
        out_leaves, out_tree = pytree.flatten(fun(*args, **kwargs))
        blocks = []
        for out in out_leaves:  # a tuple of outputs gives a tuple of Jacobians, as in JAX
            y = ctx.lift(out)
            jacs = tuple(_jacobian_of(ctx, y, args[i]) for i in nums)
            blocks.append(jacs[0] if isinstance(argnums, int) else jacs)
        return pytree.unflatten(out_tree, blocks)

    return _with_recipe(Transformed(fun, build, name), jacobian, fun, argnums=argnums)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0) -> Transformed:
    """The Hessian: ``jacobian(grad(fun))``, shape ``x.shape + x.shape``; for tuple
    ``argnums`` JAX's nested tuple of blocks, ``H[i][j]`` of shape
    ``x_i.shape + x_j.shape``.

    >>> hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return _with_recipe(jacobian(grad(fun, argnums), argnums), hessian, fun, argnums=argnums)


def hvp(fun: Callable, argnums: int = 0) -> Transformed:
    """``hvp(f)(*args, v)``: the Hessian-vector product, forward over reverse,
    without forming the Hessian.

    >>> hvp(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    name = f"hvp({_name(fun)})"
    if not isinstance(argnums, int):
        raise TypeError(f"{name}: argnums must be an int")
    inner = grad(fun, argnums)

    def build(ctx, args, kwargs):
        *args, v = args
        args = _points(ctx, tuple(args), (argnums,))
        x = args[argnums]
        v = ctx.lift(v)
        _check_like(name, v, x, "the vector v")
        g = ctx.lift(inner(*args, **kwargs))
        (t,) = autodiff.jvp(ctx.graph, [x.node], [v.value if v.dtype == x.dtype
                                                   else O.cast(v.value, x.dtype)], [g.node])
        return Tracer(ctx, t.node) if t is not None else _zeros_like(ctx, x)

    return _with_recipe(Transformed(fun, build, name), hvp, fun, argnums=argnums)

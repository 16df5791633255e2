"""data_parallel: a transformed function mapped over row chunks with Dask.

A loss that is a sum (or a mean) of per-row terms has a gradient that is the
sum (or the row-weighted mean) of the gradients of its row chunks. Given dask
arrays chunked along axis 0, ``data_parallel`` builds a Dask graph with one
task per chunk, each calling the compiled per-chunk function, and a tree
reduction of their results; the active Dask scheduler runs it (threads,
processes, or a ``distributed.Client``). Dask is imported only when
``data_parallel`` is called: it is an optional extra.

What goes to the workers: the per-chunk function, pickled as a token and the
transformed function's recipe (the transform, the user's function by
reference or by value, the traced graphs the sender has), never machine
code. A worker process keeps what it received under the token, so the later
calls of one wrapper send no code (on a ``distributed.Client`` the function
is scattered once and referred to by its future) and trace and compile
nothing new; kernels come from the in-process and on-disk caches.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from staticgrad import pytree
from staticgrad.errors import ShapeError, UnsupportedOperationError

_INSTALL = 'pip install "staticgrad[dask]"'

#: counters of this process, read by tests through ``client.run``: per-chunk
#: functions rebuilt from their pickled form, and chunks computed
stats = {"functions_received": 0, "chunks": 0}

# Per-chunk functions this process received, by token (the latest few wrappers).
_received: "OrderedDict[str, ChunkFunction]" = OrderedDict()
_received_lock = threading.Lock()
_RECEIVED_LIMIT = 32

_SPLIT_EVERY = 8   # partial results summed per reduction task
_SMALL = 1 << 20   # bytes of parameters below which the last sum runs in the caller


def _import_dask():
    try:
        import dask
        import dask.array
    except ImportError as e:
        raise ImportError(f"sg.data_parallel needs Dask (dask[array] and distributed): "
                          f"{_INSTALL}") from e
    return dask


# -- the per-chunk function: what the workers run ------------------------------
class ChunkFunction:
    """``(params, *blocks) -> (rows, result leaves, result structure)``: the
    transformed function on one row chunk; with ``mean`` its results are
    multiplied by the chunk's rows, so partial results add up."""

    def __init__(self, fun, data_argnums: tuple, mean: bool, token: str):
        self.fun = fun
        self.data_argnums = data_argnums
        self.mean = mean
        self.token = token
        self._lock = threading.Lock()   # first calls of a chunk shape trace and compile once
        self._ready: set = set()
        self._payload: bytes | None = None

    def __call__(self, params: tuple, *blocks: np.ndarray) -> tuple:
        positional, kwargs = params
        args = list(positional)
        for i, block in zip(self.data_argnums, blocks):
            args[i] = block
        shapes = tuple((b.shape, b.dtype.str) for b in blocks)
        if shapes in self._ready:
            out = self.fun(*args, **kwargs)
        else:
            with self._lock:
                out = self.fun(*args, **kwargs)
                self._ready.add(shapes)
        stats["chunks"] += 1
        rows = blocks[0].shape[0]
        leaves, tree = pytree.flatten(out)
        result = []
        for leaf in leaves:
            leaf = np.asarray(leaf)
            if leaf.dtype.kind not in "biuf":
                raise UnsupportedOperationError(
                    f"data_parallel({self.fun.__name__}): results must be numbers or numeric "
                    f"arrays to be summed over chunks, got dtype {leaf.dtype}")
            result.append(leaf * rows if self.mean else leaf)
        return rows, result, tree

    def __dask_tokenize__(self):
        return self.token

    def __reduce__(self):
        if self._payload is None:
            import cloudpickle   # a dependency of dask: by value what is not importable

            self._payload = cloudpickle.dumps((self.fun, self.data_argnums, self.mean))
        return _receive, (self.token, self._payload)


def _receive(token: str, payload: bytes) -> ChunkFunction:
    """Unpickle a per-chunk function: the one this process already has for the
    token, else built from the payload (tracing and compiling happen on use)."""
    with _received_lock:
        known = _received.get(token)
        if known is not None:
            _received.move_to_end(token)
            return known
    import pickle

    fun, data_argnums, mean = pickle.loads(payload)
    with _received_lock:
        known = _received.setdefault(token, ChunkFunction(fun, data_argnums, mean, token))
        known._payload = payload
        while len(_received) > _RECEIVED_LIMIT:
            _received.popitem(last=False)
        stats["functions_received"] += 1
        return known


def _add(parts: list) -> tuple:
    """Sum partial results (rows, leaves, structure) in their order."""
    rows, leaves, tree = parts[0]
    leaves = list(leaves)
    for n, more, other in parts[1:]:
        if other != tree:
            raise UnsupportedOperationError(
                "data_parallel: chunks returned results of different structures; the function "
                "must return the same pytree for every chunk")
        rows += n
        leaves = [np.add(a, b) for a, b in zip(leaves, more)]
    return rows, leaves, tree


def _finish(total: tuple, mean: bool) -> Any:
    rows, leaves, tree = total
    if mean:
        leaves = [np.true_divide(leaf, rows) for leaf in leaves]
    leaves = [leaf[()] if isinstance(leaf, np.ndarray) and leaf.ndim == 0 else leaf
              for leaf in leaves]
    return pytree.unflatten(tree, leaves)


# -- the wrapper ---------------------------------------------------------------
class DataParallel:
    """What ``sg.data_parallel`` returns; call it as the wrapped function, with
    dask arrays (or NumPy arrays and ``chunks=``) for the data arguments."""

    def __init__(self, fun, data_argnums: tuple, reduce: str):
        self.fun = fun
        self.data_argnums = data_argnums
        self.reduce = reduce
        self.__name__ = f"data_parallel({fun.__name__})"
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        self._chunk_functions: dict[tuple, ChunkFunction] = {}
        self._scattered = None   # (client, future of the per-chunk function)

    def __repr__(self) -> str:
        return f"<staticgrad {self.__name__}>"

    def __call__(self, *args: Any, chunks: Any = None, **kwargs: Any) -> Any:
        dask = _import_dask()
        positions = self._positions(len(args))
        data = [args[i] for i in positions]
        rows = self._row_chunks(data, positions, chunks)
        self._check_parameters(dask, args, kwargs, positions)
        positional = tuple(None if i in positions else a for i, a in enumerate(args))
        params = params_value = (positional, kwargs)
        chunk_fn = self._chunk_function(positions)
        client = _active_client()

        if client is not None:
            fn = self._scatter_function(client, chunk_fn)
            (params,) = client.scatter([params], broadcast=True, hash=False)
        else:
            fn = chunk_fn
            params = dask.delayed(params, name=f"staticgrad-params-{uuid.uuid4().hex}",
                                  traverse=False)
        per_arg = self._blocks(dask, client, data, rows)
        apply = dask.delayed(_apply, pure=False)
        partials = [apply(fn, params, *blocks) for blocks, n in zip(zip(*per_arg), rows) if n]
        if not partials:
            raise ShapeError(f"{self.__name__}: the data arguments have no rows")
        # The tree's last sum runs here when its inputs are small (results about
        # the parameters' size): one scheduler round trip less per call. The
        # order of the additions, hence every bit of the result, is the same.
        add = dask.delayed(_add, pure=False)
        last_here = _nbytes(params_value) <= _SMALL
        while len(partials) > (_SPLIT_EVERY if last_here else 1):
            partials = [add(partials[k:k + _SPLIT_EVERY])
                        for k in range(0, len(partials), _SPLIT_EVERY)]
        return _finish(_add(list(dask.compute(*partials))), self.reduce == "mean")

    # -- pieces of a call ------------------------------------------------------
    def _positions(self, n: int) -> tuple:
        positions = []
        for i in self.data_argnums:
            if not -n <= i < n:
                raise TypeError(f"{self.__name__}: data_argnums {i} is out of range for {n} "
                                "positional arguments")
            positions.append(i % n)
        if len(set(positions)) != len(positions):
            raise TypeError(f"{self.__name__}: data_argnums {self.data_argnums} repeat an "
                            "argument")
        return tuple(positions)

    def _check_parameters(self, dask, args: tuple, kwargs: dict, positions: tuple) -> None:
        """Parameters are sent whole to every chunk: a dask collection there is
        a data argument left out of data_argnums, or must be computed first."""
        for where, value in [(f"argument {i}", a) for i, a in enumerate(args)
                             if i not in positions] + [(f"keyword {k!r}", v)
                                                       for k, v in kwargs.items()]:
            if any(dask.is_dask_collection(leaf) for leaf in pytree.flatten(value)[0]):
                raise UnsupportedOperationError(
                    f"{self.__name__}: {where} is a dask collection but not a data argument "
                    f"(data_argnums {self.data_argnums}); add it to data_argnums, or compute it "
                    "first if every chunk needs all of it")

    def _row_chunks(self, data: list, positions: tuple, chunks: Any) -> tuple:
        """The row chunks shared by every data argument, checked."""
        import dask.array as da

        rows, first = None, None
        for i, x in zip(positions, data):
            what = f"{self.__name__}: data argument {i}"
            if not isinstance(x, (da.Array, np.ndarray)):
                raise UnsupportedOperationError(
                    f"{what} is a {type(x).__name__}; data arguments must be dask arrays, or "
                    "NumPy arrays with chunks= (rows per chunk)")
            if x.ndim == 0:
                raise ShapeError(f"{what} is 0-d; data arguments are split along axis 0")
            if isinstance(x, np.ndarray):
                continue
            if any(np.isnan(c) for c in x.chunks[0]):
                raise ShapeError(f"{what} has unknown chunk sizes {x.chunks[0]}; call "
                                 "x.compute_chunk_sizes() first")
            for axis, c in enumerate(x.chunks[1:], start=1):
                if len(c) != 1:
                    raise ShapeError(
                        f"{what} is chunked along axis {axis} (chunks {x.chunks}); only axis 0 "
                        f"may be chunked: rechunk with x.rechunk({{{axis}: -1}})")
            if chunks is None:
                if rows is not None and x.chunks[0] != rows:
                    raise ShapeError(
                        f"{what} has row chunks {x.chunks[0]} but data argument {first} has "
                        f"{rows}; the data arguments' chunks along axis 0 must be the same "
                        "(rechunk one like the other: y.rechunk({0: X.chunks[0]}))")
                rows, first = x.chunks[0], i
        lengths = {i: x.shape[0] for i, x in zip(positions, data)}
        if len(set(lengths.values())) > 1:
            raise ShapeError(f"{self.__name__}: the data arguments have different numbers of rows "
                             f"{lengths} (argument: rows)")
        if chunks is not None:
            try:
                (rows,) = da.core.normalize_chunks((chunks,), shape=(data[0].shape[0],),
                                                   dtype=np.dtype(data[0].dtype))
            except (ValueError, TypeError) as e:
                raise ShapeError(f"{self.__name__}: chunks={chunks!r} does not split "
                                 f"{data[0].shape[0]} rows ({e}); give rows per chunk, or a "
                                 "tuple of chunk lengths adding up to the rows") from None
        elif rows is None:
            raise TypeError(f"{self.__name__}: NumPy data arguments need chunks= (rows per "
                            "chunk, or a tuple of chunk lengths)")
        return tuple(int(n) for n in rows)

    def _chunk_function(self, positions: tuple) -> ChunkFunction:
        made = self._chunk_functions.get(positions)
        if made is None:
            made = ChunkFunction(self.fun, positions, self.reduce == "mean", uuid.uuid4().hex)
            self._chunk_functions[positions] = made
        return made

    def _scatter_function(self, client, chunk_fn: ChunkFunction):
        """The per-chunk function on every worker, sent once per client."""
        if self._scattered is not None:
            held_by, future = self._scattered
            if held_by is client and future.key == _scatter_key(chunk_fn) and \
                    future.status == "finished":
                return future
        future = client.scatter({_scatter_key(chunk_fn): chunk_fn}, broadcast=True)
        future = future[_scatter_key(chunk_fn)]
        self._scattered = (client, future)
        return future

    def _blocks(self, dask, client, data: list, rows: tuple) -> list:
        """Per data argument, its blocks: delayed for dask arrays, NumPy views
        (scattered to the workers on a distributed client) for NumPy arrays."""
        import dask.array as da

        bounds = np.cumsum((0,) + rows)
        arrays = [x if x.chunks[0] == rows else x.rechunk({0: rows})
                  for x in data if isinstance(x, da.Array)]
        arrays = iter(dask.optimize(*arrays))
        per_arg = []
        for x in data:
            if isinstance(x, np.ndarray):
                blocks = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
                if client is not None:
                    blocks = client.scatter(blocks, hash=False)
                per_arg.append(blocks)
            else:
                per_arg.append(list(next(arrays).to_delayed(optimize_graph=False).ravel()))
        return per_arg


def _nbytes(tree: Any) -> int:
    return sum(np.asarray(leaf).nbytes for leaf in pytree.flatten(tree)[0]
               if isinstance(leaf, (np.ndarray, np.generic, float, int)))


def _scatter_key(chunk_fn: ChunkFunction) -> str:
    return f"staticgrad-function-{chunk_fn.token}"


def _apply(fn: ChunkFunction, params: tuple, *blocks) -> tuple:
    return fn(params, *(np.ascontiguousarray(b) for b in blocks))


def _active_client():
    """The distributed Client dask.compute would use now, if any."""
    try:
        from distributed import Client
    except ImportError:
        return None
    from dask.base import get_scheduler

    scheduler = get_scheduler()
    for candidate in (scheduler, getattr(scheduler, "__self__", None)):
        if isinstance(candidate, Client):
            return candidate
    return None


def data_parallel(fun: Callable, data_argnums: int | Sequence[int],
                  reduce: str = "sum") -> DataParallel:
    """Run a transformed function over row chunks of its data with Dask and add up the results.

    ``fun`` is made by ``sg.value_and_grad``, ``sg.grad`` or ``sg.jit``, and its
    results (a pytree of numbers and arrays) must add up over rows: a loss that
    is a sum of per-row terms (``reduce="sum"``) or a mean of them
    (``reduce="mean"``: each chunk's result is weighted by its rows,
    ``sum(n_i * r_i) / N``). The arguments at ``data_argnums`` are dask arrays
    chunked along axis 0 only, with the same chunks; or NumPy arrays, split by
    the call's ``chunks=`` keyword (rows per chunk, or a tuple of chunk lengths;
    it rechunks dask arrays too). Other arguments (the parameters) go to the
    workers once per call. Each chunk runs the compiled kernel for its shape;
    the active Dask scheduler runs the chunks (threads, processes, or a
    ``distributed.Client``); results are NumPy values, as from ``fun``.

    Raises ``ImportError`` without Dask (``pip install "staticgrad[dask]"``),
    ``ShapeError`` for data chunked along another axis or with different row
    chunks, ``UnsupportedOperationError`` (a TypeError) for data that are not
    arrays.

    >>> import dask.array as da
    >>> import staticgrad as sg
    >>> X = da.ones((1000, 3), chunks=(250, 3))         # 4 chunks of 250 rows
    >>> grad_sum = sg.data_parallel(sg.grad(lambda w, X: np.sum((X @ w) ** 2)), data_argnums=1)
    >>> grad_sum(np.ones(3), X)
    array([6000., 6000., 6000.])
    """
    _import_dask()
    from staticgrad.transforms import Transformed

    if not isinstance(fun, Transformed):
        raise TypeError(f"data_parallel: {getattr(fun, '__name__', fun)!r} is not a staticgrad "
                        "transformed function; wrap it with sg.value_and_grad, sg.grad or sg.jit")
    if reduce not in ("sum", "mean"):
        raise ValueError(f"data_parallel({fun.__name__}): reduce must be 'sum' or 'mean', got "
                         f"{reduce!r}")
    nums = (data_argnums,) if isinstance(data_argnums, int) else tuple(data_argnums)
    if not nums or not all(isinstance(i, int) for i in nums):
        raise TypeError(f"data_parallel({fun.__name__}): data_argnums must be an int or a "
                        f"non-empty tuple of ints, got {data_argnums!r}")
    return DataParallel(fun, nums, reduce)

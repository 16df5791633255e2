"""Graph -> the Python source of a Numba kernel, through the loop IR.

The kernel takes the graph's parameters (0-d ones as scalars) followed by the
constant arrays. A graph with guards returns ``(status, *outputs)``: status 0,
or k when the k-th guard failed (the outputs are then empty placeholders);
one without returns its single output, or the tuple of several. 0-d values are
Numba scalars throughout. The loop structure comes from the fusion plan
(:mod:`compiler.codegen.plan`); each op contributes its ``emit`` rule (see
:mod:`compiler.ops.lowering`). The generator builds the loop IR
(:mod:`compiler.codegen.loopir`) and prints it last. Beyond the plan it

- resolves what is known while generating: constant arithmetic is done here
  (with the op's own NumPy rule), additions of zero and products with one
  disappear, selects and conditions on literal indices pick their branch;
- unrolls loop groups over at most ``UNROLL`` elements into straight-line
  scalar code: every element is a scalar variable, computed once, and small
  intermediate values get no array at all;
- splits a loop at the bounds of the scatters and concatenations it reads
  through, generating each piece with its range known, so each piece is a
  plain loop without conditions;
- with ``vector_math`` (the default), writes exp, expm1, log, log1p, tanh,
  sin and cos in loops long enough to vectorise with the branch-free
  functions of :mod:`compiler.codegen.vecmath` (libm in straight-line code
  and short loops); a loop whose sin/cos met an input beyond their exact
  range reruns with libm;
- without it, hands large ``tanh`` (and ``exp``/``log`` of arrays) to NumPy's
  SIMD loops;
- writes views only statements consume (``x.T`` into BLAS) without copying;
- writes a row-blocked unit of the plan (``X @ w``, the elementwise work on
  its rows, ``X.T @ r``: see :mod:`compiler.codegen.plan`) as one loop over
  blocks of rows, BLAS on each block's views, so a large X is read once;
- writes a loop node's body (a while loop's condition, a cond's branches) as
  a function of the same module (``subfunction``), which takes and returns
  small arrays as their elements and may write larger ones into arrays its
  caller passes; the loop itself is a ``for``/``while`` in the kernel (the
  op's emitter, ``compiler/ops/control.py``), which may write a body's
  statements in place of its call;
- cuts a kernel longer than ``PART_SIZE`` statements into several functions,
  ``kernel`` calling ``part1`` at its end with the values the rest reads, and
  so on, so Numba never compiles one giant function (its analyses grow faster
  than linearly with a function's size).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import math
import re
import sys
import warnings

import numpy as np

import compiler.ops as O
from compiler.codegen import loopir
from compiler.codegen import plan as fusion
from compiler.codegen.loopir import Assign, Block, For, If, Line, While
from compiler.codegen.reduction import BLOCK, DEPTH
from compiler.codegen.plan import ELEMENTWISE, REDUCE, SOURCE, STATEMENT, VIEW, LoopGroup, RowBlock
from compiler.errors import UnsupportedOperationError
from compiler.ir import Graph
from compiler.ops.lowering import (FALSE, TRUE, Accumulate, Lit, Loop, Product, as_int,
                                   broadcast_index, index_text, literal, np_dtype)

#: the options of every njit function of a kernel module
NJIT_OPTIONS = 'cache=True, nogil={nogil}, error_model="numpy"'


# op: (its identity element, the argument positions it is the identity at):
# fold() returns the other argument, so ``x + 0``, ``0 + x``, ``x - 0``,
# ``x * 1``, ``1 * x`` and ``x / 1`` emit no code.
_IDENTITY = {"add": (0, (0, 1)), "sub": (0, (1,)), "mul": (1, (0, 1)), "div": (1, (1,))}


@dataclasses.dataclass
class Kernel:
    """Generated source and what the caller needs to run it."""

    source: str                 # the functions: ``kernel``, then the parts it chains to
    consts: list                # arrays passed after the parameters
    guards: list                # (site, node) per status code - 1
    plan: fusion.Plan
    object_mode: bool = False   # holds object-mode blocks (which need the GIL)
    parts: int = 0              # functions ``kernel`` chains to (0: one function)
    vector_math: bool = False   # calls compiler.codegen.vecmath's functions
    revolve: bool = False       # calls compiler.codegen.revolve's (a checkpointed loop)
    # (statements, parameter names, returned expressions) of a sub-graph's
    # function that its caller may write in place of a call (see Function)
    inline: tuple | None = None


def _format_attr(value):
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return np_dtype(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 31:
        return repr(int(value))
    return repr(value)


def canonical(domain: tuple) -> tuple:
    return tuple(f"i{k}" for k in range(len(domain)))


_SIMPLE = re.compile(r"[A-Za-z_]\w*(\[[\d, ]*\])?$")


def _simple(text) -> bool:
    """A literal, a name or a literal-index element: cheap to repeat."""
    return isinstance(text, Lit) or bool(_SIMPLE.match(str(text)))


class NodeEmitter:
    """What an emitter sees of one node: ``out`` (the result variable),
    ``args`` (input variables), ``shapes``, ``dtypes``, ``shape``, ``dtype``,
    ``attrs``, and for index maps ``read``."""

    def __init__(self, gen, nid: int, read=None):
        graph = gen.g
        self._gen = gen
        self._inputs = list(graph.inputs(nid))
        self._read = read
        self.nid = nid
        self.shapes = [graph.shape(i) for i in self._inputs]
        self.dtypes = [graph.dtype(i) for i in self._inputs]
        self.shape = graph.shape(nid)
        self.dtype = graph.dtype(nid)
        self.attrs = graph.attrs(nid)
        self.op = graph.op(nid)

    @property
    def out(self) -> str:
        return self._gen.var(self.nid)

    @property
    def args(self) -> list:
        return [self._gen.var(i) for i in self._inputs]

    def within(self, j: str, lo: int, hi: int) -> str:
        """The condition ``lo <= j <= hi`` on an index expression: ``"True"`` or
        ``"False"`` when the generator knows it (a literal index, or a loop
        piece whose range decides it)."""
        return self._gen.within(j, lo, hi)

    def clamp(self, expr: str, size: int, conds: list) -> str:
        """The index ``expr`` kept inside [0, size) wherever ``conds`` may fail
        (a read whose value the conditions then discard)."""
        return self._gen.clamp(expr, size, conds)

    def const_value(self, k: int):
        """Input ``k``'s value when it is a constant, else None."""
        node = self._inputs[k]
        return self._gen.g.const_value(node) if self._gen.g.op(node) == "const" else None

    def fail(self) -> str:
        """The statement a failed guard runs (an early return of its status)."""
        return self._gen.fail(self.nid)

    # -- writing -------------------------------------------------------
    def line(self, text: str) -> None:
        self._gen.emit(Line(text))

    @contextlib.contextmanager
    def loops(self, shape: tuple, prefix: str = "j"):
        """``for`` loops over ``shape``; yields the index variable names."""
        names = [self._gen.fresh(prefix) for _ in shape]
        with self._gen.nest(list(zip(names, shape))):
            yield names

    def fresh(self, prefix: str = "t") -> str:
        return self._gen.fresh(prefix)

    # -- structured control flow (loop and cond nodes) ---------------------
    def assign(self, target: str, expr: str) -> None:
        self._gen.emit(Assign(target, expr))

    def producer(self, k: int) -> tuple:
        """The node that made input ``k``, seen through a ``tuple_item``: (its
        NodeEmitter, the item's index or None). A loop reading a checkpointed
        tape recomputes it from the inputs of the loop that made it."""
        g, node, index = self._gen.g, self._inputs[k], None
        if g.op(node) == "tuple_item":
            node, index = g.inputs(node)[0], g.attrs(node)["index"]
        return NodeEmitter(self._gen, node), index

    def uses_revolve(self) -> None:
        """The module imports :mod:`compiler.codegen.revolve`'s schedule."""
        self._gen.root.used_revolve = True

    @contextlib.contextmanager
    def range_loop(self, var: str, stop: str, start=0):
        """``for var in range(start, stop):``, the statements emitted inside as its body."""
        loop = For(var, start, stop)
        self._gen.emit(loop)
        with self._gen.collect() as body:
            yield
        loop.body = body

    @contextlib.contextmanager
    def while_loop(self, cond: str):
        loop = While(cond)
        self._gen.emit(loop)
        with self._gen.collect() as body:
            yield
        loop.body = body

    @contextlib.contextmanager
    def branch(self, cond: str, taken: bool = True):
        """``if cond:`` (``taken``) or the ``else:`` of the last ``if`` emitted."""
        if taken:
            statement = If(cond)
            self._gen.emit(statement)
        else:
            statement = self._gen.stack[-1][-1]
        with self._gen.collect() as body:
            yield
        if taken:
            statement.body = body
        else:
            statement.orelse = body

    def function(self, graph: Graph, buffers: bool = False, inline: bool = False) -> "Function":
        """A sub-graph (a loop body, a branch) as a function of the kernel's
        module (see :class:`Function`); ``buffers``: it writes its whole-array
        outputs into arrays the caller passes; ``inline``: a small one comes
        with its statements (``Function.inline``), for ``call``."""
        return self._gen.subfunction(graph, buffers, inline)

    def call(self, fn: "Function", args: list) -> list:
        """The returned expressions of ``fn(*args, *fn.extra)``: a call, or,
        when ``fn.inline``, its statements written here, their names
        prefixed anew at each place (Numba compiles one function fewer, and
        LLVM optimises the body once, inside the loop)."""
        if fn.inline is None:
            result = self.fresh("r")
            self.assign(result, f"{fn.name}({', '.join(list(args) + fn.extra)})")
            count = sum(math.prod(split) if split else 1 for split in fn.outputs)
            return [f"{result}[{k}]" for k in range(count)]
        statements, params, outs = fn.inline
        prefix = self.fresh("b") + "_"
        _, writes = loopir.effects(statements)
        local = sorted(set(params) | writes, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, local)) + r")(?!\w)")

        def rename(text):
            return text if not isinstance(text, str) else pattern.sub(
                lambda m: prefix + m.group(1), text)

        for name, value in zip(params, list(args) + fn.extra):
            self.assign(prefix + name, value)
        for statement in statements:
            self._gen.emit(loopir.rename(statement, rename))
        return [rename(str(o)) for o in outs]

    def const(self, array: np.ndarray) -> str:
        """A kernel argument holding ``array`` (constants are never globals)."""
        return self._gen.const_arg(np.ascontiguousarray(array), by_content=True)

    def lit(self, value, dtype=None) -> str:
        return literal(value, self.dtype if dtype is None else dtype)

    def np_dtype(self, dtype=None) -> str:
        return np_dtype(self.dtype if dtype is None else dtype)

    def empty(self, shape=None, dtype=None) -> str:
        shape = self.shape if shape is None else tuple(shape)
        return f"np.empty({shape!r}, {self.np_dtype(dtype)})"

    # -- reading (index maps) -------------------------------------------
    def read(self, k: int, idx) -> str:
        """The scalar expression of input ``k`` at the index expressions ``idx``."""
        return self._read(self._inputs[k], [str(i) for i in idx])


@dataclasses.dataclass
class Function:
    """A sub-graph compiled as a function of the kernel's module, called as
    ``name(*params, *extra)``; it returns the tuple of its outputs. A
    parameter or output whose entry in ``split`` is a shape (a small array)
    is passed or returned as its elements, in C order, one scalar each. With
    ``buffers``, each whole-array output (not split) is written into an array
    of its shape the caller passes, ``name(*params, *buffers, *extra)``, and
    returned: a loop step then allocates nothing. A buffer must not be an
    argument of the same call (the caller double-buffers its carries)."""

    name: str
    extra: list
    params: list      # per parameter: its shape if split, else None
    outputs: list     # per output: its shape if split, else None
    buffers: list = dataclasses.field(default_factory=list)   # outputs written into buffers
    #: the function's statements, for its caller to write in place of a call
    #: (``NodeEmitter.inline``): small functions are not compiled separately
    inline: tuple | None = None


def split_shape(shape: tuple, fuse: bool = True) -> tuple | None:
    """The shape of a small array a sub-graph's function takes or returns as
    its elements, or None."""
    return shape if shape and fuse and math.prod(shape) <= Generator.UNROLL else None


class _Reads:
    """A dry run of the expression generator that records the stored values read."""

    def __init__(self, gen: "Generator"):
        self.gen = gen
        self.seen: set = set()
        self.found: list = []

    def visit(self, n: int, idx) -> str:
        key = (n, tuple(idx))
        if key in self.seen:
            return "_"
        self.seen.add(key)
        gen = self.gen
        if gen.is_stored(n):
            self.found.append(key)
        elif gen.kinds[n] == ELEMENTWISE:
            for i in gen.g.inputs(n):
                self.visit(i, broadcast_index(idx, gen.g.shape(n), gen.g.shape(i)))
        elif gen.kinds[n] == VIEW:
            gen.index_map(n, idx, self.visit)
        return "_"


class Generator:
    """Writes the kernel of one graph (``fuse=False``: one loop per node)."""

    #: a loop group over at most this many elements becomes straight-line code
    UNROLL = 16
    #: a kernel body longer than this many statements is cut into parts.
    #: Numba compiles straight-line code in time linear in its length (one
    #: basic block), so the bound is generous: measured on the unrolled RK4
    #: benchmark, the handoff of live values between parts costs more than the
    #: parts save below a few thousand statements. Loops and branches (basic
    #: blocks, where Numba's analyses grow quadratically) count their bodies.
    PART_SIZE = 3000

    def __init__(self, graph: Graph, fuse: bool = True, part_size: int | None = None,
                 vector_math: bool = True, root: "Generator | None" = None,
                 split: bool = False, buffers: bool = False):
        self.g = graph
        self.fuse = fuse
        self.vector_math = vector_math
        self.in_long_loop = False        # writing a loop long enough for vector math
        self.outside: str | None = None  # its flag: a sin/cos input beyond vecmath's range
        self.used_vector_math = False
        self.used_revolve = False        # (root only) a loop walks a checkpointed tape
        # split: a sub-graph's function takes and returns small arrays as their
        # elements (scalars in registers, no allocation per loop step)
        self.split = split
        # buffers: a sub-graph's function writes its whole-array outputs into
        # arrays its caller passes (o<k>, output k); node -> the buffer it is
        # computed in (the rest are copied into theirs before the return)
        self.buffers: dict = {}
        self.buffer_params: list = []
        self.filled: set = set()         # outputs computed in their buffers
        for k, o in enumerate(graph.outputs if buffers else ()):
            if graph.shape(o) and not split_shape(graph.shape(o), fuse):
                self.buffers.setdefault(o, f"o{k}")
                self.buffer_params.append(f"o{k}")
        # sub-graphs (loop bodies, branches) become functions of the root's module
        self.root = root if root is not None else self
        self.helpers: list = []          # (root only) their source texts
        self.functions: dict = {}        # (root only) id(graph) -> (name, graph, consts, gil)
        self.function_count = 0          # (root only) names taken: body1, body2, ...
        if part_size is not None:
            self.PART_SIZE = part_size
        self.nodes = sorted(graph.needed())
        self.stack: list = [[]]          # the statement lists being written
        self.counter = 0
        self.taken: set = set()          # temporaries' names
        self.consts: list = []
        self.const_names: dict = {}
        self.guards: list = []
        self.memo: dict = {}             # (node, idx) -> text, in the loop being written
        self.scalars: dict = {}          # (node, literal idx) -> text, at the top level
        self.negations: dict = {}        # top-level t = -x: t -> x
        self.elements: dict = {}         # stored node -> its elements' texts (unrolled)
        self.arrays: set = set()         # stored nodes that need an array
        self.outer: str | None = None    # the outermost loop variable being written
        self.piece: tuple | None = None  # its known range [start, stop), if any
        self.bounds: set = set()         # (lo, hi) conditions met on it
        self.plan = fusion.Plan(set(), [])
        self.block_sums: list = []       # (node, init) summed in blocks, in the loop being written
        self.kinds: dict = {}
        self.ufuncs: set = set()
        self.transposed_consts: dict = {}   # const -> the const it is the transpose of
        for n in self.nodes:
            self.kinds[n] = self._kind(n)
        self.aliases = self._aliases()

    # -- classification ---------------------------------------------------
    def _kind(self, n: int) -> str:
        op = O.get_op(self.g.op(n))
        rule = op.emit
        if op.name in ("param", "const"):
            return SOURCE
        if isinstance(rule, str) and op.elementwise:
            if self._numpy_ufunc(n, op):
                self.ufuncs.add(n)
                return STATEMENT
            return ELEMENTWISE
        if isinstance(rule, Accumulate):
            return REDUCE
        if isinstance(rule, Loop):
            with self.dry():
                mapped = self.index_map(n, canonical(self.g.shape(n)), lambda i, idx: "_")
            if mapped is not None:
                return VIEW
            if rule.statement is None:
                raise UnsupportedOperationError(
                    f"the Numba backend cannot emit op {op.name!r} with attrs {self.g.attrs(n)}")
            return STATEMENT
        if callable(rule):
            return STATEMENT
        raise UnsupportedOperationError(f"the Numba backend has no emitter for op {op.name!r}")

    # Numba evaluates transcendental functions one element at a time through
    # libm; NumPy's own float64 loops for some are SIMD (AVX2/AVX-512). Measured
    # here on large arrays: tanh 12x faster, exp and log ~3x (sin and cos: no
    # gain). Over large arrays the kernel hands tanh to NumPy in an object-mode
    # block and fuses everything around it; exp and log only when their operand
    # is an array anyway (storing it just for NumPy costs more memory traffic
    # than it saves: the fused chain benchmark ran 10% slower).
    UFUNC_THRESHOLD = 1 << 14
    NUMPY_SIMD = (np.tanh,)
    NUMPY_SIMD_ON_ARRAYS = (np.exp, np.log, np.log1p, np.expm1)

    def _numpy_ufunc(self, n: int, op) -> bool:
        g = self.g
        ins = g.inputs(n)
        if self.vector_math and op.name in VECTOR_MATH_OPS and self.long_loop(g.shape(n)):
            return False   # fused vector math beats a memory pass per op
        if not (self.fuse and len(ins) == 1 and g.shape(ins[0]) == g.shape(n)
                and g.dtype(n).kind == "f" and g.dtype(ins[0]) == g.dtype(n)
                and math.prod(g.shape(n)) >= self.UFUNC_THRESHOLD):
            return False
        return op.impl in self.NUMPY_SIMD or (op.impl in self.NUMPY_SIMD_ON_ARRAYS
                                              and self.kinds[ins[0]] in (SOURCE, STATEMENT))

    def _aliases(self) -> dict:
        """Views only statements consume, with a no-copy form: statements too."""
        aliases = {}
        for n in self.nodes:
            rule = O.get_op(self.g.op(n)).emit
            users = [u for u in self.g.nx.successors(n) if u in self.kinds]
            if (self.kinds[n] == VIEW and getattr(rule, "alias", None) and users
                    and n not in self.g.outputs
                    and all(self.kinds[u] == STATEMENT for u in users)):
                text = rule.alias(NodeEmitter(self, n))
                if text is not None:
                    aliases[n] = text
                    self.kinds[n] = STATEMENT
        return aliases

    def is_stored(self, n: int) -> bool:
        return self.kinds[n] == SOURCE or n in self.plan.stored

    def domain(self, n: int) -> tuple:
        if self.kinds[n] == REDUCE:
            return self.g.shape(self.g.inputs(n)[0])
        return self.g.shape(n)

    def unrolled(self, dom: tuple) -> bool:
        return not dom or self.fuse and math.prod(dom) <= self.UNROLL

    #: the innermost trip count from which a loop's transcendental functions
    #: are vecmath's (LLVM vectorises the innermost loop; below this, libm).
    #: Measured on the benchmark chain's gradient: 1-d loops of 17 elements
    #: 0.77x libm's time, 128: 0.56x; over (rows, k), k = 3: 1.25x, 8: 1.03x,
    #: 16: 0.25x (the inner loop vectorises).
    VECTOR_MATH_TRIP_COUNT = 16

    def long_loop(self, dom: tuple) -> bool:
        return bool(dom) and not self.unrolled(dom) and dom[-1] >= self.VECTOR_MATH_TRIP_COUNT

    def reads(self, n: int) -> list:
        probe = _Reads(self)
        here = canonical(self.domain(n))
        with self.dry():
            if self.kinds[n] == REDUCE:
                probe.visit(self.g.inputs(n)[0], here)
            elif self.kinds[n] == ELEMENTWISE:
                for i in self.g.inputs(n):
                    probe.visit(i, broadcast_index(here, self.g.shape(n), self.g.shape(i)))
            else:
                self.index_map(n, here, probe.visit)
        return probe.found

    @contextlib.contextmanager
    def dry(self):
        """Generate for analysis only: names, constants and statements made
        inside are forgotten afterwards."""
        saved = (self.counter, set(self.taken), list(self.consts), dict(self.const_names),
                 len(self.guards), self.stack, self.memo, dict(self.scalars),
                 dict(self.negations))
        self.stack = [[]]
        self.memo = {}
        try:
            yield
        finally:
            (self.counter, self.taken, self.consts, self.const_names, guards, self.stack,
             self.memo, self.scalars, self.negations) = saved
            del self.guards[guards:]

    # -- writing ------------------------------------------------------------
    def emit(self, statement) -> None:
        self.stack[-1].append(statement)

    @contextlib.contextmanager
    def collect(self):
        """Statements emitted inside go to the yielded list."""
        body: list = []
        self.stack.append(body)
        try:
            yield body
        finally:
            self.stack.pop()

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"  # never a{k}, k{k}, v{n} or t{n}

    def temp(self, n: int) -> str:
        """A new temporary for node n: t{n}, then t{n}_{counter}."""
        name = f"t{n}"
        if name in self.taken:
            name = self.fresh(name)
        self.taken.add(name)
        return name

    @contextlib.contextmanager
    def nest(self, loops):
        outer = self.stack[-1]
        lists = []
        for var, n in loops:
            loop = For(var, 0, n)
            self.emit(loop)
            self.stack.append(loop.body)
            lists.append(loop)
        try:
            yield
        finally:
            del self.stack[len(self.stack) - len(lists):]
            assert self.stack[-1] is outer

    def const_arg(self, array: np.ndarray, by_content: bool = False) -> str:
        # Graph constants are the same objects on every read; arrays emitters
        # compute (index coordinates) are recomputed per read, so compare bytes.
        key = id(array) if not by_content else \
            (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        if key not in self.const_names:
            self.const_names[key] = f"k{len(self.consts)}"
            self.consts.append(array)
        return self.const_names[key]

    # -- values -------------------------------------------------------------
    def var(self, n: int) -> str:
        """The variable holding a stored value (a literal for a 0-d constant)."""
        op = self.g.op(n)
        if op == "param":
            return f"a{self.g.attrs(n)['index']}"
        if op == "const":
            value = self.g.const_value(n)
            return literal(value.item(), value.dtype) if value.ndim == 0 else self.const_arg(value)
        return f"v{n}"

    def read(self, n: int, idx) -> str:
        """The scalar expression of node n at index expressions idx."""
        idx = tuple(str(i) for i in idx)
        key = (n, idx)
        text = self.memo.get(key)
        if text is None:
            text = self.scalars.get(key)
        if text is not None:
            return text
        g = self.g
        kind = self.kinds[n]
        at = [as_int(i) for i in idx]
        known = None not in at
        if kind == SOURCE and g.op(n) == "const" and (known or g.const_value(n).size == 1):
            value = g.const_value(n)
            text = literal(value[tuple(at)] if known else value.flat[0], value.dtype)
        elif self.is_stored(n):
            if known and n in self.elements:
                text = self.elements[n][int(np.ravel_multi_index(at, g.shape(n)))] \
                    if at else self.elements[n][0]
            elif n in self.elements and n not in self.arrays:
                raise AssertionError(f"node {n} ({g.op(n)}) has no array to read at {idx}")
            elif known and idx and len(self.stack) == 1:
                # straight-line code loads each element once, into a scalar
                text = f"{self.var(n)}_{int(np.ravel_multi_index(at, g.shape(n)))}"
                self.emit(Assign(text, f"{self.var(n)}[{index_text(idx)}]",
                                 dtype=g.dtype(n)))
            else:
                text = self.var(n) + (f"[{index_text(idx)}]" if idx else "")
        elif kind in (ELEMENTWISE, VIEW):
            text = self.compute(n, idx)
        else:
            raise AssertionError(f"node {n} ({g.op(n)}) read before it is computed")
        (self.scalars if known and len(self.stack) == 1 else self.memo)[key] = text
        return text

    def compute(self, n: int, idx: tuple) -> str:
        """The value of node n at index expressions idx, computed (a stored
        value is not read back): a view's expression, or the temporary an
        elementwise op's line assigns (or what the arguments make it: a
        literal, or one of them)."""
        g = self.g
        if self.kinds[n] == VIEW:
            return self.index_map(n, idx, self.read)
        ins = g.inputs(n)
        args = [self.read(i, broadcast_index(idx, g.shape(n), g.shape(i))) for i in ins]
        known = self.fold(n, args)
        if known is not None:
            return known
        op = g.op(n)
        attrs = {k: _format_attr(v) for k, v in g.attrs(n).items()}
        template = O.get_op(op).emit
        if op == "mul" and any(isinstance(a, Lit) and a.value == -1 for a in args) \
                and len(set(g.dtype(i) for i in ins) | {g.dtype(n)}) == 1:
            # -1 * x is -x
            op, args = "neg", [args[1] if isinstance(args[0], Lit) and args[0].value == -1
                               else args[0]]
            template = O.get_op(op).emit
        elif op in ("add", "sub") and len(set(g.dtype(i) for i in ins) | {g.dtype(n)}) == 1:
            # x + (-y) is x - y, x - (-y) is x + y: the negation's own line
            # is then dropped when nothing else reads it
            a, b = args
            if b in self.negations:
                args = [a, self.negations[b]]
                op = "sub" if op == "add" else "add"
            elif op == "add" and a in self.negations:
                args = [b, self.negations[a]]
                op = "sub"
            template = O.get_op(op).emit
        temp = self.temp(n)
        expr = self._vector_math(op, args, n) if self.in_long_loop else None
        self.emit(Assign(temp, expr or template.format(*args, **attrs), op, g.dtype(n)))
        if expr is not None:
            check = vecmath_module().range_check_call(op, args[0])
            if check is not None and ("outside", check) not in self.memo:
                if self.outside is None:
                    self.outside = self.fresh("outside")
                self.emit(Line(f"{self.outside} |= not {check}"))
                self.memo[("outside", check)] = check   # once per argument
        if op == "neg" and len(self.stack) == 1:
            self.negations[temp] = args[0]
        return temp

    def _vector_math(self, op: str, args: list, n: int) -> str | None:
        """vecmath's expression for op (None: none, keep libm)."""
        if op not in VECTOR_MATH_OPS or self.g.dtype(self.g.inputs(n)[0]) != self.g.dtype(n):
            return None
        expr = vecmath_module().vector_math_call(op, args[0], self.g.dtype(n))
        self.used_vector_math |= expr is not None
        self.root.used_vector_math |= expr is not None   # the module imports vecmath
        return expr

    def fold(self, n: int, args: list):
        """What the arguments decide of node n's value: a literal when all are
        literals (the op's NumPy rule computes it), an argument when the
        other is the identity (``x + 0``, ``x * 1``), the chosen branch of a
        select on a literal condition; else None."""
        g = self.g
        op = g.op(n)
        dtype = g.dtype(n)
        if all(isinstance(a, Lit) for a in args):
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value = O.get_op(op).impl(*[a.value for a in args], **g.attrs(n))
                return literal(np.asarray(value).item(), dtype)
            except Exception:   # an op NumPy cannot evaluate on scalars: emit it
                return None
        same = [g.dtype(i) == dtype for i in g.inputs(n)]

        def is_(a, v):
            return isinstance(a, Lit) and a.value == v

        if op in _IDENTITY:
            identity, positions = _IDENTITY[op]
            for k in positions:
                if is_(args[k], identity) and same[1 - k]:
                    return args[1 - k]
        elif op == "neg" and args[0] in self.negations and len(self.stack) == 1:
            return self.negations[args[0]]
        elif op == "where" and isinstance(args[0], Lit):
            k = 1 if args[0].value else 2
            if same[k]:
                return args[k]
            if isinstance(args[k], Lit):
                return literal(args[k].value, dtype)
            return self._named(n, f"{np_dtype(dtype)}({args[k]})")
        return None

    def index_map(self, n: int, idx, read):
        return O.get_op(self.g.op(n)).emit.index_map(NodeEmitter(self, n, read), list(idx))

    # -- index conditions ---------------------------------------------------
    # Index maps of scatters and concatenations read "x[j - a] if a <= j <= b
    # else base", with the read clamped into bounds. At a literal index the
    # condition is decided here. When j is the outer loop variable, the loop
    # is split at the bounds and each piece generated with its range known,
    # so every such condition is a constant there and the clamps disappear:
    # the pieces are plain loops LLVM vectorises. Pieces shorter than SHORT
    # share one loop over their indices that keeps the conditions (the body is
    # written once more, not once per piece: Numba's compile time grows with
    # the code).
    MAX_PIECES = 4
    SHORT = 16

    def within(self, j, lo: int, hi: int) -> str:
        v = as_int(j)
        if v is not None:
            return TRUE if lo <= v <= hi else FALSE
        if j == self.outer:
            if self.piece is None:
                self.bounds.add((lo, hi))
            else:
                start, stop = self.piece.start, self.piece.stop
                if lo <= start and stop - 1 <= hi:
                    return TRUE
                if stop - 1 < lo or start > hi:
                    return FALSE
        return f"{lo} <= {j} <= {hi}"

    def clamp(self, expr, size: int, conds: list) -> str:
        if conds and all(str(c) == TRUE for c in conds):
            return expr
        v = as_int(expr)
        if v is not None:
            return str(min(max(v, 0), size - 1))
        return f"min(max({expr}, 0), {size - 1})"

    def _pieces(self, dom: tuple) -> list:
        """The pieces of the outer loop: a ``range`` generated with its range
        known, or a tuple of leftover indices (conditions kept)."""
        points = {0, dom[0]}
        for lo, hi in self.bounds:
            points |= {p for p in (lo, hi + 1) if 0 < p < dom[0]}
        points = sorted(points)
        pieces = [(a, b) for a, b in zip(points, points[1:])]
        if len(pieces) <= 1:
            return [range(0, dom[0])]
        long = [range(a, b) for a, b in pieces if b - a >= self.SHORT]
        rest = tuple(i for a, b in pieces if b - a < self.SHORT for i in range(a, b))
        if not long or len(long) + bool(rest) > self.MAX_PIECES:
            return [None]   # one loop, conditions kept
        return long + ([rest] if rest else [])

    # -- the kernel -------------------------------------------------------
    def plan_loops(self) -> fusion.Plan:
        cost = lambda n: O.get_op(self.g.op(n)).cost  # noqa: E731
        # reads() (called by group) asks is_stored, so the plan holds the stored set first
        self.plan = fusion.Plan(fusion.stored(self.g, self.nodes, self.kinds, cost, self.fuse), [])
        self.plan.units = fusion.group(self.g, self.nodes, self.kinds, self.plan.stored,
                                       self.domain, self.reads, canonical, self.fuse)
        if self.fuse:
            self.plan.units = fusion.row_blocks(self.g, self.plan.units, self.reads, self.product,
                                                self.total, self.rows_only, self.row_block,
                                                canonical)
        self.arrays = self._arrays()
        return self.plan

    # -- row blocks ---------------------------------------------------------
    #: a row-blocked unit needs a matrix of at least this many bytes: one
    #: that fits in the L2 cache (2 MiB a core where measured) stays there
    #: between two BLAS passes anyway. Measured with benchmarks/rowblock.py
    #: (logistic gradient, d = 100): 2 MB 1.1-1.2x the two passes' time,
    #: 4 MB 0.8-0.9x, 8 MB and more 0.65-0.9x.
    ROW_BLOCK_MIN_BYTES = 3 << 20
    #: the bytes of one block of rows, which stays in the L2 cache between
    #: the block's two products. Measured: 64 to 256 kB within the noise for
    #: d = 100, 64-128 kB better for d = 500.
    ROW_BLOCK_BYTES = 1 << 17

    def product(self, n: int) -> tuple | None:
        """(a, b) when statement n is a matrix product of a 2-D a and a 1-D or
        2-D b of one float dtype (BLAS), else None."""
        g = self.g
        if self.kinds.get(n) != STATEMENT or n in self.ufuncs or n in self.aliases \
                or not isinstance(O.get_op(g.op(n)).emit, Product):
            return None
        a, b = g.inputs(n)
        if len(g.shape(a)) != 2 or len(g.shape(b)) not in (1, 2) or g.dtype(n).kind != "f" \
                or not g.dtype(a) == g.dtype(b) == g.dtype(n):
            return None
        return a, b

    def total(self, n: int) -> tuple | None:
        """(a, c) when statement n is the product ``a.T @ c`` (a sum over the
        rows of a and c), else None."""
        pair = self.product(n)
        if pair is None:
            return None
        t, c = pair
        g = self.g
        if g.op(t) == "const":
            a = self._transposed_const(t)
            return None if a is None else (a, c)
        if g.op(t) != "transpose" or tuple(g.attrs(t)["axes"]) != (1, 0):
            return None
        return g.inputs(t)[0], c

    def _transposed_const(self, t: int) -> int | None:
        """The constant whose transpose constant t holds (tracing folds the
        transpose of a captured matrix into a new constant), or None."""
        g = self.g
        found = self.transposed_consts.get(t, ())
        if found == ():
            value = g.const_value(t)
            found = next((m for m in self.nodes if g.op(m) == "const" and m != t
                          and g.shape(m) == g.shape(t)[::-1] and g.dtype(m) == g.dtype(t)
                          and np.array_equal(g.const_value(m).T, value)), None)
            self.transposed_consts[t] = found
        return found

    def row_block(self, n: int) -> int | None:
        """The rows per block of a row-blocked unit starting at product n
        (see ROW_BLOCK_BYTES), or None when its matrix is too small."""
        a = self.product(n)[0]
        if self.g.op(a) == "transpose":
            return None   # rows of a transposed matrix are strided: Numba's BLAS would copy them
        rows, cols = self.g.shape(a)
        row_bytes = max(1, cols) * self.g.dtype(a).itemsize
        if rows * row_bytes < self.ROW_BLOCK_MIN_BYTES:
            return None
        block = 1 << max(4, min(10, (self.ROW_BLOCK_BYTES // row_bytes).bit_length() - 1))
        return block if rows > block else None

    def rows_only(self, group: LoopGroup) -> bool:
        """Whether the group's outer loop can run over any range of rows: a
        plain loop (no pieces at scatter or concatenation bounds)."""
        if self.unrolled(group.domain):
            return False
        here = canonical(group.domain)
        self.outer, self.piece, self.bounds = here[0], None, set()
        with self.dry():
            self._loop_body(group, here)
        plain = not self.bounds
        self.outer, self.memo, self.block_sums, self.bounds = None, {}, [], set()
        return plain

    def emit_row_block(self, unit: RowBlock) -> None:
        """One loop over blocks of rows (see emit_loops for the libm rerun)."""
        block, flags = self._row_block(unit, self.vector_math)
        if flags:
            block.body[:0] = [Assign(flag, "False") for flag in flags]
            block = Block([block, If(" or ".join(flags), [self._row_block(unit, False)[0]])])
        self.emit(block)

    def _row_block(self, unit: RowBlock, vector_math: bool) -> tuple:
        g = self.g
        lo, hi = self.fresh("lo"), self.fresh("hi")
        products = [m for m in unit.members if not isinstance(m, LoopGroup)]
        before = [Line(f"# rows in blocks of {unit.block}, each read once by "
                       + ", ".join(f"{g.op(m)} %{m}" for m in products))]
        body, after, flags = [Assign(hi, f"min({lo} + {unit.block}, {unit.rows})")], [], []
        for m in unit.members:
            if isinstance(m, LoopGroup):
                self.in_long_loop = vector_math and self.long_loop(m.domain)
                self.outside = None
                start, loops, end = self._row_loops(m, lo, hi)
                self.in_long_loop = False
                if self.outside is not None:
                    flags.append(self.outside)
                    self.outside = None
                before += start
                body += loops
                after += end
                continue
            out, shape, dtype = self.var(m), g.shape(m), np_dtype(g.dtype(m))
            if m in unit.totals:
                # a.T @ c, summed over the blocks
                a, c = (self.var(v) for v in self.total(m))
                part = self.fresh("part")
                before += [Assign(out, f"np.zeros({shape!r}, {dtype})"),
                           Assign(part, f"np.empty({shape!r}, {dtype})")]
                body += [Line(f"blas_dot_into({a}[{lo}:{hi}].T, {c}[{lo}:{hi}], {part})"
                              f"  # {g.op(m)} %{m}"),
                         Line(f"{out} += {part}")]
            else:
                a, b = (self.var(v) for v in self.product(m))
                before.append(Assign(out, f"np.empty({shape!r}, {dtype})"))
                body.append(Line(f"blas_dot_into({a}[{lo}:{hi}], {b}, {out}[{lo}:{hi}])"
                                 f"  # {g.op(m)} %{m}"))
        return Block(before + [For(lo, 0, unit.rows, body, step=unit.block)] + after), flags

    def _row_loops(self, group: LoopGroup, lo: str, hi: str) -> tuple:
        """A group's loops over the rows [lo, hi) of a row block: (statements
        before the block loop, in it, after it). A float sum into a scalar
        sums each block in vector registers and the blocks pairwise."""
        dom = group.domain
        here = canonical(dom)
        self.outer, self.piece, self.bounds = here[0], None, set()
        self.block_sums = []
        before, after, body = self._loop_body(group, here)
        start, end = list(before[0]), list(after[0])
        loops = [For(here[0], lo, hi, self._nest(dom, here, before, after, body, 1))]
        if self.block_sums:
            count = self.fresh("blocks")
            start.append(Assign(count, "0"))
            for r, init in self.block_sums:
                dtype = np_dtype(self.g.dtype(r))
                start += [Assign(f"p{r}", f"np.empty({DEPTH}, {dtype})",
                                 "pairwise partial sums of blocks"),
                          Assign(f"d{r}", "0")]
                end.append(Assign(self.var(r), f"pairwise_total(p{r}, d{r}, {init})",
                                  self.g.op(r), self.g.dtype(r)))
            loops = ([Assign(f"s{r}", init) for r, init in self.block_sums] + loops
                     + [Line(f"{count} += 1")]
                     + [Line(f"d{r} = pairwise_push(p{r}, d{r}, {count}, s{r})")
                        for r, _ in self.block_sums])
        self.outer, self.piece, self.memo, self.block_sums = None, None, {}, []
        return start, loops, end

    def _arrays(self) -> set:
        """The stored values that need arrays: outputs, operands of statements,
        values a loop reads at a computed index, and all in loops."""
        g = self.g
        arrays = set(g.outputs)
        if self.split:   # returned as elements
            arrays -= {o for o in g.outputs if split_shape(g.shape(o), self.fuse)}
        units = [m for unit in self.plan.units
                 for m in (unit.members if isinstance(unit, RowBlock) else [unit])]
        for unit in units:
            if not isinstance(unit, LoopGroup):
                arrays.update(g.inputs(unit))
                continue
            if self.unrolled(unit.domain):
                continue
            # a sum over every axis into one element (shape (1,)) stays a scalar
            arrays.update(r for r in unit.roots if not self._to_one(r))
            for r in unit.roots:
                arrays.update(m for m, idx in self.reads(r)
                              if any(as_int(i) is None for i in idx))
        return arrays

    def _to_one(self, r: int) -> bool:
        """A reduction over all the axes of its loops into an array of one element."""
        g = self.g
        return (self.kinds[r] == REDUCE and bool(g.shape(r)) and math.prod(g.shape(r)) == 1
                and tuple(g.attrs(r)["axes"]) == tuple(range(len(self.domain(r)))))

    def emit_group(self, group: LoopGroup) -> None:
        if self.unrolled(group.domain):
            self.emit_unrolled(group)
        else:
            self.emit_loops(group)

    def emit_unrolled(self, group: LoopGroup) -> None:
        """Straight-line code: every element of every root, at literal indices."""
        g = self.g
        self.memo = {}
        for r in group.roots:
            dom = self.domain(r)   # a root over a smaller domain (plan.join): its own
            shape = g.shape(r)
            store = r in self.arrays and shape
            if store:
                self.emit(Assign(self.var(r), f"np.empty({shape!r}, {np_dtype(g.dtype(r))})"))
            if self.kinds[r] == REDUCE:
                values = self._reduce_unrolled(r, dom)
            else:
                values = [self.compute(r, tuple(str(i) for i in idx))
                          for idx in itertools.product(*map(range, dom))]
            if not shape:
                (value,) = values
                self.emit(Assign(self.var(r), value, g.op(r), g.dtype(r)))
                values = [self.var(r)]
            else:
                values = [v if _simple(v) else self._named(r, v) for v in values]
                if store:
                    for idx, v in zip(itertools.product(*map(range, shape)), values):
                        self.emit(Line(f"{self.var(r)}[{index_text(idx)}] = {v}"))
            self.elements[r] = values

    def _named(self, n: int, expr: str) -> str:
        temp = self.temp(n)
        self.emit(Assign(temp, expr, dtype=self.g.dtype(n)))
        return temp

    def _reduce_unrolled(self, r: int, dom: tuple) -> list:
        g = self.g
        rule = O.get_op(g.op(r)).emit
        (x,) = g.inputs(r)
        axes, keepdims = g.attrs(r)["axes"], g.attrs(r)["keepdims"]
        shape, dtype = g.shape(r), g.dtype(r)
        acc: dict = {}
        for idx in itertools.product(*map(range, dom)):
            kept = tuple(0 if k in axes else i for k, i in enumerate(idx)
                         if keepdims or k not in axes)
            value = self.read(x, tuple(str(i) for i in idx))
            if kept not in acc and g.dtype(x) == dtype:
                acc[kept] = value   # the reduction of one element is that element
                continue
            before = acc.get(kept, literal(rule.initial(dtype), dtype))
            if isinstance(before, Lit) and isinstance(value, Lit) and rule.update == "{acc} + {x}":
                acc[kept] = literal(before.value + value.value, dtype)
                continue
            acc[kept] = self._named(r, rule.update.format(acc=before, x=value))
        init = literal(rule.initial(dtype), dtype)
        return [acc.get(kept, init) for kept in itertools.product(*map(range, shape))]

    def emit_loops(self, group: LoopGroup) -> None:
        """Loop nests over the group's domain, the outer loop split into pieces
        (and into blocks, when the group sums more than ``BLOCK`` elements
        into a scalar: see :mod:`compiler.codegen.reduction`); with vector
        math, and a sin/cos in them, followed by their libm rerun when an input
        was beyond vecmath's range."""
        parts = self._unjoined(group)
        if parts:
            for part in parts:
                self.emit_loops(part)
            return
        self.in_long_loop = self.vector_math and self.long_loop(group.domain)
        self.outside = None
        block = self._loops(group)
        self.in_long_loop = False
        if self.outside is not None:
            flag, self.outside = self.outside, None
            block.body.insert(0, Assign(flag, "False"))
            block = Block([block, If(flag, [self._loops(group)])])
        self.emit(block)

    def _unjoined(self, group: LoopGroup) -> list | None:
        """A group whose roots' domains differ (``plan.join``), as one group
        per domain, largest first, when its outer loop would not be split
        into pieces that decide the conditions (too many bounds): one loop
        with a condition per element of the smaller roots costs more than a
        second pass. (A root reads another of its group at the same index, so
        only from a larger or equal domain: largest first is an order that
        computes what is read first.) Else None."""
        dom = group.domain
        sizes = sorted({self.domain(r)[0] for r in group.roots}, reverse=True)
        if len(sizes) == 1:
            return None
        self.outer, self.piece, self.bounds, self.block_sums = "i0", None, set(), []
        with self.dry():
            self._loop_body(group, canonical(dom))
        pieces = self._pieces(dom)
        self.outer, self.outside, self.memo, self.block_sums = None, None, {}, []
        if pieces != [None]:
            return None
        return [LoopGroup((size,) + dom[1:], [r for r in group.roots if self.domain(r)[0] == size])
                for size in sizes]

    def _loops(self, group: LoopGroup) -> Block:
        dom = group.domain
        here = canonical(dom)
        self.outer, self.piece, self.bounds = here[0], None, set()
        self.block_sums = []
        with self.dry():   # which bounds do the conditions on the outer index have?
            self._loop_body(group, here)
        self.outside = None   # named again below (the dry run's names are forgotten)
        block = Block()
        closing = []
        rows = max(1, BLOCK // max(1, math.prod(dom[1:])))
        count = self.fresh("blocks") if self.block_sums else None
        for k, piece in enumerate(self._pieces(dom)):
            self.piece = piece if isinstance(piece, range) else None
            self.block_sums = []
            before, after, body = self._loop_body(group, here)
            if k == 0:
                block.body += before[0]
                closing = after[0]
                if count is not None:
                    block.body.append(Assign(count, "0"))
                    for r, init in self.block_sums:
                        dtype = np_dtype(self.g.dtype(r))
                        block.body += [Assign(f"p{r}", f"np.empty({DEPTH}, {dtype})",
                                              "pairwise partial sums of blocks"),
                                       Assign(f"d{r}", "0")]
                        closing.append(Assign(self.var(r), f"pairwise_total(p{r}, d{r}, {init})",
                                              self.g.op(r), self.g.dtype(r)))
            if piece is None:
                piece = range(0, dom[0])
            inner = self._nest(dom, here, before, after, body, 1)
            if count is None:
                outer = For(here[0], piece.start, piece.stop) if isinstance(piece, range) \
                    else For(here[0], values=piece)
                outer.body = inner
                block.body.append(outer)
                continue
            # a block: its sums start at zero, are vectorised, and go on the stack
            start = [Assign(f"s{r}", init) for r, init in self.block_sums]
            push = [Line(f"{count} += 1")] + [
                Line(f"d{r} = pairwise_push(p{r}, d{r}, {count}, s{r})")
                for r, _ in self.block_sums]
            if isinstance(piece, range):
                # Blocks and rows are counted from 0, the row index computed
                # from them: over ``range(start, stop, rows)`` and
                # ``range(b, min(b + rows, stop))`` LLVM cannot always tell
                # that the row index is not negative, keeps Numba's check of
                # a negative index in every element access, and vectorises a
                # loop that also stores an array with gathers and scatters
                # (measured: 4x slower on Rosenbrock's value and gradient).
                k, first, row = self.fresh("block"), self.fresh("b"), self.fresh("r")
                rows_loop = For(row, 0, f"min({rows}, {piece.stop} - {first})",
                                [Assign(here[0], f"{first} + {row}")] + inner)
                origin = Assign(first, f"{piece.start} + {k} * {rows}" if piece.start
                                else f"{k} * {rows}")
                block.body.append(For(k, 0, -(-len(piece) // rows),
                                      [origin] + start + [rows_loop] + push))
            else:
                block.body += start + [For(here[0], values=piece, body=inner)] + push
        block.body += closing
        self.outer, self.piece, self.memo, self.block_sums = None, None, {}, []
        return block

    @classmethod
    def _nest(cls, dom, here, before, after, body, k) -> list:
        """The contents of the loop over here[k - 1]: the statements before the
        loop over here[k], that loop, and those after it."""
        if k == len(dom):
            return before[k] + body + after[k]
        inner = For(here[k], 0, dom[k], cls._nest(dom, here, before, after, body, k + 1))
        return before[k] + [inner] + after[k]

    def _loop_body(self, group: LoopGroup, here: tuple):
        """(before, after, body): statements before and after each loop level
        (level 0 outside all loops) and the innermost body.

        A root over a smaller domain than the group's (see ``plan.join``) is
        computed where the outer index is inside its domain: in a piece of
        the outer loop whose range decides that, its statements are written
        or left out; elsewhere they go under an ``if`` (and what they compute
        there is not reused after it). Its accumulators and arrays are made
        and finished unconditionally."""
        g = self.g
        dom = group.domain
        self.memo = {}
        before, after = [[] for _ in range(len(dom) + 1)], [[] for _ in range(len(dom) + 1)]
        with self.collect() as body:
            for r in group.roots:
                rdom = self.domain(r)
                inside = TRUE if rdom[:1] == dom[:1] else self.within(here[0], 0, rdom[0] - 1)
                if inside in (TRUE, FALSE):
                    self._root(r, dom, here[:len(rdom)], before, after, inside)
                    continue
                memo = dict(self.memo)
                with self.collect() as guarded:
                    self._root(r, dom, here[:len(rdom)], before, after, inside)
                self.emit(If(inside, guarded))
                self.memo = memo   # the values computed under the if stay there
        return before, after, body

    def _root(self, r: int, dom: tuple, here: tuple, before: list, after: list,
              inside: str) -> None:
        """The statements of root r in the loop body (emitted), and those
        around its loops (added to ``before`` and ``after``); ``inside`` is
        the condition under which the body's statements run."""
        g = self.g
        out = self.var(r)
        rdom = self.domain(r)
        if self.kinds[r] != REDUCE:
            before[0].insert(0, Assign(out, self.buffers.get(r) or
                                       f"np.empty({rdom!r}, {np_dtype(g.dtype(r))})"))
            if inside == FALSE:
                return
            if r in self.buffers:
                self.filled.add(r)
            value = self.compute(r, here)
            self.emit(Line(f"{out}[{index_text(here)}] = {value}"))
            self.memo[(r, here)] = value
            return
        rule = O.get_op(g.op(r)).emit
        axes, keepdims = g.attrs(r)["axes"], g.attrs(r)["keepdims"]
        init = literal(rule.initial(g.dtype(r)), g.dtype(r))
        kept = [here[k] if k not in axes else "0" for k in range(len(rdom))
                if keepdims or k not in axes]
        first = min(axes) if axes else len(rdom)
        # a float sum accumulates in vector registers (reduction.py)
        vector_sum = rule.update == "{acc} + {x}" and g.dtype(r).kind == "f"
        if not g.shape(r) and vector_sum and math.prod(dom) > BLOCK:
            acc = f"s{r}"   # this block's sum (emit_loops writes the blocks)
            self.block_sums.append((r, init))
        elif not g.shape(r):
            acc = out
            before[0].append(Assign(acc, init))
        elif self._to_one(r) and r not in self.arrays:
            acc = f"s{r}"   # the one element: a scalar, no array
            before[0].append(Assign(acc, init))
            after[0].append(Assign(out, acc, g.op(r), g.dtype(r)))
            self.elements[r] = [out]
        elif tuple(axes) == tuple(range(first, len(rdom))):
            acc = f"s{r}"   # a scalar accumulator around the reduced loops
            before[first].append(Assign(acc, init))
            before[0].insert(0, Assign(out, f"np.empty({g.shape(r)!r}, "
                                            f"{np_dtype(g.dtype(r))})"))
            store = Line(f"{out}[{index_text(kept)}] = {acc}")
            # (level 0 is written once, outside the loops: always stored)
            if first == 0 or inside == TRUE:
                after[first].append(store)
            elif inside != FALSE:
                after[first].append(If(inside, [store]))
        else:
            acc = f"{out}[{index_text(kept)}]"
            before[0].insert(0, Assign(out, f"np.full({g.shape(r)!r}, {init}, "
                                            f"{np_dtype(g.dtype(r))})"))
        if inside == FALSE:
            return
        x = self.read(g.inputs(r)[0], here)
        update = f"accumulate({acc}, {x})" if vector_sum and "[" not in acc \
            else rule.update.format(acc=acc, x=x)
        self.emit(Line(f"{acc} = {update}  # {g.op(r)}"))

    #: a sub-graph's function of at most this many statements is written in
    #: place of its call when its caller asks (NodeEmitter.call): every njit
    #: function costs Numba a pipeline and LLVM a module of its own, a
    #: tenth of a second or more even for a few lines
    INLINE_SIZE = 1000

    def subfunction(self, graph: Graph, buffers: bool = False, inline: bool = False) -> tuple:
        """The function of a sub-graph (see ``NodeEmitter.function``), generated
        once per sub-graph (and way of returning), its constants passed from
        this kernel's."""
        root = self.root
        key = (id(graph), buffers, inline)
        made = root.functions.get(key)
        if made is None or made[1] is not graph:
            root.function_count += 1
            name = f"body{root.function_count}"   # taken before a nested body takes one
            sub = Generator(graph, self.fuse, vector_math=self.vector_math, root=root, split=True,
                            buffers=buffers)
            kernel = sub.kernel(first=name)
            if kernel.guards:
                raise UnsupportedOperationError(
                    "the Numba backend cannot compile a guard inside a loop body or branch")
            inlined = kernel.inline if inline and not kernel.object_mode and kernel.parts == 0 \
                and loopir.size(kernel.inline[0]) <= self.INLINE_SIZE else None
            if inlined is None:
                root.helpers.append(kernel.source)
            made = root.functions[key] = (name, graph, kernel.consts, kernel.object_mode,
                                          inlined)
        name, _, consts, gil, inlined = made
        if gil:
            self.ufuncs.add(None)    # an object-mode block below: no nogil
        outputs = [split_shape(graph.shape(o), self.fuse) for o in graph.outputs]
        return Function(name, [self.const_arg(c, by_content=True) for c in consts],
                        [split_shape(graph.shape(p), self.fuse) for p in graph.params], outputs,
                        [buffers and bool(graph.shape(o)) and s is None
                         for o, s in zip(graph.outputs, outputs)], inlined)

    def fail(self, n: int) -> str:
        """The early return of the guard at node n (status = its position + 1)."""
        self.guards.append((self.g.attrs(n).get("site", "?"), n))
        dummies = []
        for o in self.g.outputs:
            shape, dtype = self.g.shape(o), self.g.dtype(o)
            dummies.append(f"np.empty({(0,) * len(shape)!r}, {np_dtype(dtype)})" if shape
                           else literal(0, dtype))
        return f"return {len(self.guards)}, " + ", ".join(dummies)

    def kernel(self, first: str = "kernel") -> Kernel:
        g = self.g
        params = [f"a{k}" for k in range(len(g.params))]
        if self.split:
            for k, p in enumerate(g.params):
                shape = split_shape(g.shape(p), self.fuse)
                if shape is None:
                    continue
                names = []
                for flat, idx in enumerate(np.ndindex(shape)):
                    names.append(f"a{k}_{flat}")
                    self.scalars[(p, tuple(str(i) for i in idx))] = names[-1]
                params[k] = ", ".join(names)
                # the array too, for what reads it whole (dropped when nothing does)
                array = f"np.array([{', '.join(names)}], {np_dtype(g.dtype(p))})"
                self.emit(Assign(f"a{k}", array + (f".reshape({shape!r})" if len(shape) > 1
                                                   else "")))
        plan = self.plan_loops()
        for unit in plan.units:
            if isinstance(unit, LoopGroup):
                self.emit_group(unit)
                continue
            if isinstance(unit, RowBlock):
                self.emit_row_block(unit)
                continue
            rule = O.get_op(g.op(unit)).emit
            with self.collect() as body:
                if unit in self.ufuncs:
                    out, (arg,) = self.var(unit), [self.var(i) for i in g.inputs(unit)]
                    self.emit(Assign(out, f"np.empty({g.shape(unit)!r}, "
                                          f"{np_dtype(g.dtype(unit))})"))
                    self.emit(Line("with numba.objmode():  # NumPy's SIMD loop"))
                    self.emit(Line(f"    np.{O.get_op(g.op(unit)).impl.__name__}({arg}, "
                                   f"out={out})  # {g.op(unit)}"))
                elif unit in self.aliases:
                    self.emit(Assign(self.var(unit), self.aliases[unit], g.op(unit)))
                else:
                    self.emit(Line(f"# {g.op(unit)} %{unit}"))
                    (rule.statement if isinstance(rule, Loop) else rule)(NodeEmitter(self, unit))
            self.emit(Block(body))
        outs = []
        for k, o in enumerate(g.outputs):
            if self.split and split_shape(g.shape(o), self.fuse):
                outs += [str(self.read(o, tuple(str(i) for i in idx)))
                         for idx in np.ndindex(g.shape(o))]
                continue
            v = self.var(o)
            buffer = f"o{k}" if f"o{k}" in self.buffer_params else None
            if buffer is not None and not (self.buffers.get(o) == buffer and o in self.filled):
                # computed elsewhere (a statement, a parameter, an output twice): copied in
                self.emit(Line(f"{buffer}[...] = {v}"))
                v = buffer
            elif self.kinds[o] == SOURCE and g.shape(o):
                v = f"np.copy({v})"
            outs.append(v)
        if self.split:
            ret = "return (" + ", ".join(outs) + ",)"
        elif self.guards:
            ret = "return 0, " + ", ".join(outs)
        else:
            ret = "return " + (outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ",)"
                               if outs else "None")
        params = params + self.buffer_params + [f"k{k}" for k in range(len(self.consts))]
        body = loopir.drop_unread(self.stack[0], loopir.effects([Line(ret)])[0])
        decorator = f"@numba.njit({NJIT_OPTIONS.format(nogil=not self.ufuncs)})"
        parts = loopir.split(body, self.PART_SIZE, params, Line(ret), first)
        text = "\n\n".join(f"{decorator}\ndef {part.name}({', '.join(part.args)}):\n"
                             + "\n".join(loopir.print_body(part.body)) + "\n"
                             for part in parts)
        if self.root is self and self.helpers:
            text = "\n\n".join(self.helpers + [text])
        flat_params = [name for p in params for name in p.split(", ")]
        return Kernel(text, list(self.consts), list(self.guards), plan, bool(self.ufuncs),
                      len(parts) - 1, self.used_vector_math, self.used_revolve,
                      (body, flat_params, outs))


#: the elementwise ops compiler.codegen.vecmath has a vectorisable function for
#: (its VECTOR_MATH, named here so that generating source imports no Numba)
VECTOR_MATH_OPS = frozenset({"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "sin", "cos"})


def vecmath_module():
    from compiler.codegen import vecmath   # imports Numba: only when vector math is written
    return vecmath


def generate(graph: Graph, fuse: bool = True, part_size: int | None = None,
             vector_math: bool = True) -> Kernel:
    """The kernel source of ``graph`` (fused loops, or one loop per node;
    ``part_size`` overrides ``Generator.PART_SIZE``; ``vector_math=False``
    keeps libm in every loop)."""
    # Reading a value computes the values it is made of first, recursively: a
    # chain of inlined scalars (an unrolled time loop) is as deep as the graph.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 8 * len(graph.nx) + 1000))
    try:
        return Generator(graph, fuse, part_size, vector_math).kernel()
    finally:
        sys.setrecursionlimit(limit)

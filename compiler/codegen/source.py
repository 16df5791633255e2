"""Graph -> the Python source of one Numba kernel.

The kernel takes the graph's parameters (0-d ones as scalars) followed by the
constant arrays. A graph with guards returns ``(status, *outputs)``: status 0,
or k when the k-th guard failed (the outputs are then empty placeholders);
one without returns its single output, or the tuple of several. 0-d values are
Numba scalars throughout. The loop structure comes from
:mod:`compiler.passes.fusion`; each op contributes its ``emit`` rule (see
:mod:`compiler.codegen.emitters`). Beyond that plan the generator

- splits a loop at the bounds of the scatters and concatenations it reads
  through, so each piece is a plain loop without conditions;
- hands large ``tanh`` (and ``exp``/``log`` of arrays) to NumPy's SIMD loops;
- writes views only statements consume (``x.T`` into BLAS) without copying.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math

import numpy as np

import compiler.ops as O
from compiler.codegen.emitters import (Accumulate, Loop, NodeEmitter, broadcast_index, index_text,
                                       literal, np_dtype)
from compiler.errors import UnsupportedOperationError
from compiler.ir import Graph
from compiler.passes import fusion
from compiler.passes.fusion import ELEMENTWISE, REDUCE, SOURCE, STATEMENT, VIEW, LoopGroup


@dataclasses.dataclass
class Kernel:
    """Generated source and what the caller needs to run it."""

    source: str                 # the module text (kernel, and the interop entry)
    consts: list                # arrays passed after the parameters
    guards: list                # (site, node) per status code - 1
    plan: fusion.Plan
    object_mode: bool = False   # holds object-mode blocks (which need the GIL)


def _format_attr(value):
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return np_dtype(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 31:
        return repr(int(value))
    return repr(value)


def canonical(domain: tuple) -> tuple:
    return tuple(f"i{k}" for k in range(len(domain)))


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

    def __init__(self, graph: Graph, fuse: bool = True):
        self.g = graph
        self.fuse = fuse
        self.nodes = sorted(graph.needed())
        self.lines: list[str] = []
        self.depth = 1
        self.counter = 0
        self.consts: list = []
        self.const_names: dict[int, str] = {}
        self.guards: list = []
        self.memo: dict = {}
        self.ranges: dict = {}
        self.clamps: dict = {}
        self.loopvars: dict = {}
        self.plan = fusion.Plan(set(), [])
        self.kinds: dict = {}
        self.ufuncs: set = set()
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
            mapped = self.index_map(n, canonical(self.g.shape(n)), lambda i, idx: "_", dry=True)
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

    def reads(self, n: int) -> list:
        probe = _Reads(self)
        here = canonical(self.domain(n))
        if self.kinds[n] == REDUCE:
            probe.visit(self.g.inputs(n)[0], here)
        elif self.kinds[n] == ELEMENTWISE:
            for i in self.g.inputs(n):
                probe.visit(i, broadcast_index(here, self.g.shape(n), self.g.shape(i)))
        else:
            self.index_map(n, here, probe.visit, dry=True)
        return probe.found

    # -- writing ------------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"  # never a{k}, k{k}, v{n} or t{n}

    @contextlib.contextmanager
    def nest(self, loops):
        start = self.depth
        for var, n in loops:
            self.line(f"for {var} in range({n}):")
            self.depth += 1
        try:
            yield
        finally:
            self.depth = start

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
        """The scalar expression of node n at index expressions idx (in a loop body)."""
        idx = tuple(idx)
        key = (n, idx)
        if key in self.memo:
            return self.memo[key]
        g = self.g
        kind = self.kinds[n]
        if kind == SOURCE and g.op(n) == "const" and g.const_value(n).size == 1:
            value = g.const_value(n)
            text = literal(value.flat[0], value.dtype)
        elif self.is_stored(n):
            text = self.var(n) + (f"[{index_text(idx)}]" if idx else "")
        elif kind in (ELEMENTWISE, VIEW):
            text = self.compute(n, idx)
        else:
            raise AssertionError(f"node {n} ({g.op(n)}) read before it is computed")
        self.memo[key] = text
        return text

    def compute(self, n: int, idx: tuple) -> str:
        """The value of node n at index expressions idx, computed (a stored
        value is not read back): a view's expression, or the temporary an
        elementwise op's line assigns."""
        g = self.g
        if self.kinds[n] == VIEW:
            return self.index_map(n, idx, self.read)
        args = [self.read(i, broadcast_index(idx, g.shape(n), g.shape(i))) for i in g.inputs(n)]
        attrs = {k: _format_attr(v) for k, v in g.attrs(n).items()}
        temp = f"t{n}" if idx == canonical(g.shape(n)) else self.fresh(f"t{n}")
        self.line(f"{temp} = {O.get_op(g.op(n)).emit.format(*args, **attrs)}  # {g.op(n)}")
        return temp

    def index_map(self, n: int, idx, read, dry: bool = False):
        e = NodeEmitter(self, n, read)
        if dry:
            e.const = lambda array: "k_"
        return O.get_op(self.g.op(n)).emit.index_map(e, list(idx))

    # -- the kernel -------------------------------------------------------
    def plan_loops(self) -> fusion.Plan:
        cost = lambda n: O.get_op(self.g.op(n)).cost  # noqa: E731
        # reads() (called by group) asks is_stored, so the plan holds the stored set first
        self.plan = fusion.Plan(fusion.stored(self.g, self.nodes, self.kinds, cost, self.fuse), [])
        self.plan.units = fusion.group(self.g, self.nodes, self.kinds, self.plan.stored,
                                       self.domain, self.reads, canonical, self.fuse)
        return self.plan

    def emit_group(self, group: LoopGroup) -> None:
        g = self.g
        dom = group.domain
        here = canonical(dom)
        self.memo = {}
        self.loopvars = {v: k for k, v in enumerate(here)}
        before, after = [[] for _ in range(len(dom) + 1)], [[] for _ in range(len(dom) + 1)]
        body_start = len(self.lines)
        self.depth += len(dom)
        for r in group.roots:
            out = self.var(r)
            if self.kinds[r] == REDUCE:
                rule = O.get_op(g.op(r)).emit
                axes, keepdims = g.attrs(r)["axes"], g.attrs(r)["keepdims"]
                x = self.read(g.inputs(r)[0], here)
                init = literal(rule.initial(g.dtype(r)), g.dtype(r))
                kept = [here[k] if k not in axes else "0" for k in range(len(dom))
                        if keepdims or k not in axes]
                first = min(axes) if axes else len(dom)
                if not g.shape(r):
                    acc = out
                    before[0].append(f"{acc} = {init}")
                elif tuple(axes) == tuple(range(first, len(dom))):
                    acc = f"s{r}"   # a scalar accumulator around the reduced loops
                    before[first].append(f"{acc} = {init}")
                    before[0].insert(0, f"{out} = np.empty({g.shape(r)!r}, "
                                        f"{np_dtype(g.dtype(r))})")
                    after[first].append(f"{out}[{index_text(kept)}] = {acc}")
                else:
                    acc = f"{out}[{index_text(kept)}]"
                    before[0].insert(0, f"{out} = np.full({g.shape(r)!r}, {init}, "
                                        f"{np_dtype(g.dtype(r))})")
                self.line(f"{acc} = {rule.update.format(acc=acc, x=x)}  # {g.op(r)}")
            else:
                value = self.compute(r, here)
                if dom:
                    before[0].insert(0, f"{out} = np.empty({dom!r}, {np_dtype(g.dtype(r))})")
                    self.line(f"{out}[{index_text(here)}] = {value}")
                else:
                    self.line(f"{out} = {value}")
                self.memo[(r, here)] = value
        body = self.lines[body_start:]
        del self.lines[body_start:]
        self.depth -= len(dom)
        pad = "    " * self.depth
        self.lines += [pad + s for s in before[0]]
        for start, stop in self._pieces(dom):
            if isinstance(start, tuple):   # the few leftover indices, conditions kept
                self.lines.append(pad + f"for {here[0]} in {start!r}:")
                start = stop = 0
            elif dom:
                bounds = f"{start}, {stop}" if start else f"{stop}"
                self.lines.append(pad + f"for {here[0]} in range({bounds}):")
            for k in range(1, len(dom)):
                self.lines += [pad + "    " * k + s for s in before[k]]
                self.lines.append(pad + "    " * k + f"for {here[k]} in range({dom[k]}):")
            if dom:
                self.lines += [pad + "    " * len(dom) + s for s in before[len(dom)]]
            self.lines += [self._resolve(s, start, stop) for s in body]
            for k in range(len(dom), 0, -1):
                self.lines += [pad + "    " * k + s for s in after[k]]
        self.lines += [pad + s for s in after[0]]
        self.ranges, self.clamps, self.loopvars = {}, {}, {}

    # -- index set splitting ------------------------------------------------
    # Index maps of scatters and concatenations read "x[j - a] if a <= j <= b
    # else base", with the read clamped into bounds. When j is the outer loop
    # variable, the loop is split at the bounds so that in each piece every
    # such condition is a constant and the clamps disappear: the pieces are
    # plain loops LLVM vectorises. Pieces shorter than SHORT share one loop over
    # their indices that keeps the conditions (the body is written once more,
    # not once per piece: Numba's compile time grows with the code).
    MAX_PIECES = 4
    SHORT = 16

    def within(self, j: str, lo: int, hi: int) -> str:
        text = f"{lo} <= {j} <= {hi}"
        if self.loopvars.get(j) != 0:
            return text
        return self._token("R", self.ranges, (lo, hi, text))

    def clamp(self, expr: str, size: int, conds: list) -> str:
        return self._token("C", self.clamps, (expr, size, tuple(conds)))

    @staticmethod
    def _token(kind: str, table: dict, entry: tuple) -> str:
        # one token per distinct entry, so equal reads stay equal (memo hits)
        for token, known in table.items():
            if known == entry:
                return token
        token = f"__{kind}{len(table)}__"
        table[token] = entry
        return token

    def _pieces(self, dom: tuple) -> list:
        if not dom:
            return [(0, 0)]
        points = {0, dom[0]}
        for lo, hi, _ in self.ranges.values():
            points |= {p for p in (lo, hi + 1) if 0 < p < dom[0]}
        points = sorted(points)
        pieces = [(a, b) for a, b in zip(points, points[1:])] or [(0, 0)]
        long = [(a, b) for a, b in pieces if b - a >= self.SHORT]
        rest = tuple(i for a, b in pieces if b - a < self.SHORT for i in range(a, b))
        if len(pieces) == 1:
            return pieces
        if not long or len(long) + bool(rest) > self.MAX_PIECES:
            self.ranges = {t: (None, None, text) for t, (lo, hi, text) in self.ranges.items()}
            return [(0, dom[0])]
        return long + ([(rest, None)] if rest else [])

    def _resolve(self, text: str, start: int, stop: int) -> str:
        import re

        def value(token: str):
            if token in self.ranges:
                lo, hi, cond = self.ranges[token]
                if lo is None or stop <= start:
                    return cond
                return "True" if lo <= start and stop - 1 <= hi else \
                    "False" if stop - 1 < lo or start > hi else cond
            return None

        def sub(match):
            token = match.group(0)
            if token in self.ranges:
                return value(token)
            expr, size, conds = self.clamps[token]
            if conds and all(value(c) == "True" for c in conds):
                return expr
            return f"min(max({expr}, 0), {size - 1})"

        while "__R" in text or "__C" in text:
            text = re.sub(r"__[RC]\d+__", sub, text)
        return text

    def fail(self, n: int) -> str:
        """The early return of the guard at node n (status = its position + 1)."""
        self.guards.append((self.g.attrs(n).get("site", "?"), n))
        dummies = []
        for o in self.g.outputs:
            shape, dtype = self.g.shape(o), self.g.dtype(o)
            dummies.append(f"np.empty({(0,) * len(shape)!r}, {np_dtype(dtype)})" if shape
                           else literal(0, dtype))
        return f"return {len(self.guards)}, " + ", ".join(dummies)

    def kernel(self) -> Kernel:
        plan = self.plan_loops()
        for unit in plan.units:
            if isinstance(unit, LoopGroup):
                self.emit_group(unit)
                continue
            rule = O.get_op(self.g.op(unit)).emit
            if unit in self.ufuncs:
                out, (arg,) = self.var(unit), [self.var(i) for i in self.g.inputs(unit)]
                self.line(f"{out} = np.empty({self.g.shape(unit)!r}, "
                          f"{np_dtype(self.g.dtype(unit))})")
                self.line("with numba.objmode():  # NumPy's SIMD loop")
                self.line(f"    np.{O.get_op(self.g.op(unit)).impl.__name__}({arg}, out={out})"
                          f"  # {self.g.op(unit)}")
                continue
            if unit in self.aliases:
                self.line(f"{self.var(unit)} = {self.aliases[unit]}  # {self.g.op(unit)}")
                continue
            self.line(f"# {self.g.op(unit)} %{unit}")
            (rule.statement if isinstance(rule, Loop) else rule)(NodeEmitter(self, unit))
        outs = []
        for o in self.g.outputs:
            v = self.var(o)
            if self.kinds[o] == SOURCE and self.g.shape(o):
                v = f"np.copy({v})"
            outs.append(v)
        if self.guards:
            self.line("return 0, " + ", ".join(outs))
        else:
            self.line("return " + (outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ",)"
                                   if outs else "None"))
        params = [f"a{k}" for k in range(len(self.g.params))]
        args = ", ".join(params + [f"k{k}" for k in range(len(self.consts))])
        body = "\n".join(self.lines)
        source = _MODULE.format(args=args, body=body)
        return Kernel(source, list(self.consts), list(self.guards), plan, bool(self.ufuncs))


_MODULE = '''\
def kernel({args}):
{body}
'''


def generate(graph: Graph, fuse: bool = True) -> Kernel:
    """The kernel source of ``graph`` (fused loops, or one loop per node)."""
    return Generator(graph, fuse).kernel()

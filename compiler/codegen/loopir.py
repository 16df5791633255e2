"""The loop IR the code generator builds before any text is printed.

A kernel body is a list of statements:

- ``Assign(target, expr)``: a scalar (or whole-array) assignment;
- ``Line(text)``: one opaque statement an op's emitter wrote (a store, a
  library call, an allocation);
- ``For(var, start, stop, body)`` or ``For(var, values=(...), body)``: a loop;
- ``Block(body)``: statements that stay together when a large kernel is
  split (one loop group, or one op's statements);
- ``While(cond, body)`` and ``If(cond, body, orelse)``: the control flow of
  structured loops and branches (``loop`` and ``cond`` nodes), and the libm
  rerun of a loop whose vector-math sin/cos met an input out of range.

Expressions are text built from literal-aware pieces (see
:mod:`compiler.ops.lowering`), so what literals decide is resolved before the
text exists. ``split`` cuts a long body into chained parts of bounded size
and computes, from the names each statement reads and writes, which values
each part takes; ``drop_unread`` removes assignments nothing reads.
"""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass
class Assign:
    target: str
    expr: str
    note: str = ""
    dtype: object = None     # the NumPy dtype of a scalar target, if known


@dataclasses.dataclass
class Line:
    text: str


@dataclasses.dataclass
class For:
    var: str
    start: int = 0
    stop: int = 0
    body: list = dataclasses.field(default_factory=list)
    values: tuple | None = None     # iterate over these indices instead of a range
    step: int = 1


@dataclasses.dataclass
class Block:
    body: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class While:
    cond: str
    body: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class If:
    cond: str
    body: list = dataclasses.field(default_factory=list)
    orelse: list = dataclasses.field(default_factory=list)


# -- printing -----------------------------------------------------------------
def print_body(body: list, depth: int = 1) -> list:
    """The source lines of ``body`` at indentation ``depth``."""
    pad = "    " * depth
    out = []
    for s in body:
        if isinstance(s, Assign):
            out.append(f"{pad}{s.target} = {s.expr}" + (f"  # {s.note}" if s.note else ""))
        elif isinstance(s, Line):
            out.append(pad + s.text)
        elif isinstance(s, For):
            if s.values is not None:
                out.append(f"{pad}for {s.var} in {s.values!r}:")
            else:
                bounds = f"{s.start}, {s.stop}" if s.start or s.step != 1 else f"{s.stop}"
                if s.step != 1:
                    bounds += f", {s.step}"
                out.append(f"{pad}for {s.var} in range({bounds}):")
            out += print_body(s.body, depth + 1) or [pad + "    pass"]
        elif isinstance(s, Block):
            out += print_body(s.body, depth)
        elif isinstance(s, While):
            out.append(f"{pad}while {s.cond}:")
            out += print_body(s.body, depth + 1) or [pad + "    pass"]
        elif isinstance(s, If):
            out.append(f"{pad}if {s.cond}:")
            out += print_body(s.body, depth + 1) or [pad + "    pass"]
            if s.orelse:
                out.append(f"{pad}else:")
                out += print_body(s.orelse, depth + 1)
        else:
            raise TypeError(f"not a statement: {s!r}")
    return out


def size(body: list) -> int:
    """The number of statements, loops counted with their bodies."""
    total = 0
    for s in body:
        if isinstance(s, (For, Block, While)):
            total += size(s.body) + (not isinstance(s, Block))
        elif isinstance(s, If):
            total += size(s.body) + size(s.orelse) + 1
        else:
            total += 1
    return total


def rename(s, name):
    """A copy of statement ``s`` with ``name`` applied to every text in it."""
    if isinstance(s, Assign):
        return Assign(name(s.target), name(s.expr), s.note, s.dtype)
    if isinstance(s, Line):
        return Line(name(s.text))
    if isinstance(s, For):
        return For(name(s.var), name(s.start), name(s.stop), [rename(b, name) for b in s.body],
                   s.values, s.step)
    if isinstance(s, Block):
        return Block([rename(b, name) for b in s.body])
    if isinstance(s, While):
        return While(name(s.cond), [rename(b, name) for b in s.body])
    if isinstance(s, If):
        return If(name(s.cond), [rename(b, name) for b in s.body],
                  [rename(b, name) for b in s.orelse])
    raise TypeError(f"not a statement: {s!r}")


# -- names read and written ---------------------------------------------------------
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_TARGET = re.compile(r"\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=)(?!=)")


def _names(text: str) -> list:
    return _NAME.findall(text.split("#", 1)[0])


def _effects(body: list, reads: set, writes: set) -> None:
    """Add the names ``body`` reads before writing them to ``reads``, and the
    names it writes to ``writes``."""
    for s in body:
        if isinstance(s, Assign):
            reads.update(n for n in _names(s.expr) if n not in writes)
            writes.add(s.target)
        elif isinstance(s, Line):
            text = s.text.split("#", 1)[0]
            m = _TARGET.match(text)
            if m and m.group(2) == "=":
                reads.update(n for n in _names(text[m.end():]) if n not in writes)
                writes.add(m.group(1))
            else:
                reads.update(n for n in _names(text) if n not in writes)
        elif isinstance(s, For):
            reads.update(n for n in _names(f"{s.start} {s.stop}") if n not in writes)
            writes.add(s.var)
            _effects(s.body, reads, writes)
        elif isinstance(s, Block):
            _effects(s.body, reads, writes)
        elif isinstance(s, (While, If)):
            # a branch may not run: what it writes is written only maybe,
            # so it is read too (kept live from before)
            reads.update(n for n in _names(s.cond) if n not in writes)
            inner_reads, inner_writes = set(), set()
            for branch in (s.body, getattr(s, "orelse", [])):
                r, w = set(), set()
                _effects(branch, r, w)
                inner_reads |= r
                inner_writes |= w
            reads.update(n for n in inner_reads if n not in writes)
            writes.update(inner_writes)


def effects(body: list) -> tuple:
    reads, writes = set(), set()
    _effects(body, reads, writes)
    return reads, writes


def drop_unread(body: list, final_reads: set) -> list:
    """``body`` without the top-level assignments nothing reads (their
    expressions have no effects), transitively."""
    from collections import Counter
    reads: Counter = Counter(final_reads)
    for s in body:
        if isinstance(s, Assign):
            reads.update(_names(s.expr))
        else:
            r, w = effects([s])
            reads.update(r)
            reads.update(w)   # a name a loop or a line writes is kept
    dropped = set()
    changed = True
    while changed:
        changed = False
        for k, s in enumerate(body):
            if isinstance(s, Assign) and k not in dropped and not reads[s.target]:
                dropped.add(k)
                reads.subtract(_names(s.expr))
                changed = True
    return [s for k, s in enumerate(body) if k not in dropped]


# -- splitting ------------------------------------------------------------------
# The parts are chained: each ends by calling the next with the values the
# rest of the kernel reads (its arguments), and the last one returns the
# outputs. No part returns or stores its values for another: a tuple of
# hundreds of live values (the forward values a backward reads) is an
# aggregate LLVM optimises slowly, and so are hundreds of loads and stores
# through one array; scalar arguments are registers. A guard's early return
# returns through the chain.


@dataclasses.dataclass
class Part:
    name: str
    body: list          # ends with the call of the next part, or the kernel's return
    args: list          # names it takes


def split(body: list, limit: int, params: list, ret: Line, first: str = "kernel") -> list:
    """Cut ``body`` (followed by ``ret``) into chained parts of about
    ``limit`` statements each (a Block is never cut); the first is named
    ``first`` and takes ``params``."""
    segments, current, count = [], [], 0
    for s in body:
        current.append(s)
        count += size([s])
        if count >= limit:
            segments.append(current)
            current, count = [], 0
    if current or not segments:
        segments.append(current)
    prefix = "" if first == "kernel" else f"{first}_"
    names = [first] + [f"{prefix}part{k}" for k in range(1, len(segments))]
    # liveness, backwards: what each segment (with the rest after it) reads
    need = effects([ret])[0]
    live_in = [None] * len(segments)
    for k in range(len(segments) - 1, -1, -1):
        reads, writes = effects(segments[k])
        need = reads | (need - writes)
        live_in[k] = need
    parts, known = [], set(params)
    for k, seg in enumerate(segments):
        args = list(params) if k == 0 else sorted(live_in[k] & known, key=_natural)
        known |= effects(seg)[1]
        if k + 1 < len(segments):
            after = sorted(live_in[k + 1] & known, key=_natural)
            tail = Line(f"return {names[k + 1]}({', '.join(after)})")
        else:
            tail = ret
        parts.append(Part(names[k], seg + [tail], args))
    return parts


def _natural(name: str):
    m = re.match(r"([A-Za-z_]+)(\d*)(.*)", name)
    return (m.group(1), int(m.group(2) or -1), m.group(3))

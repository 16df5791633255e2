"""The loop IR the code generator builds before any text is printed.

A kernel body is a list of statements:

- ``Assign(target, expr)``: a scalar (or whole-array) assignment;
- ``Line(text)``: one opaque statement an op's emitter wrote (a store, a
  library call, an allocation);
- ``For(var, start, stop, body)`` or ``For(var, values=(...), body)``: a loop;
- ``Block(body, driver=False)``: statements that stay together when a large
  kernel is split (one loop group, or one op's statements); ``driver`` marks
  those that must run in the driver itself (a guard's early return).

Expressions are text built from literal-aware pieces (see
:mod:`compiler.ops.lowering`), so what literals decide is resolved before the
text exists. ``split`` cuts a long body into parts of bounded size and
computes, from the names each statement reads and writes, which values each
part takes and returns; ``module_source`` prints parts and driver.
"""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass
class Assign:
    target: str
    expr: str
    note: str = ""


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


@dataclasses.dataclass
class Block:
    body: list = dataclasses.field(default_factory=list)
    driver: bool = False


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
                bounds = f"{s.start}, {s.stop}" if s.start else f"{s.stop}"
                out.append(f"{pad}for {s.var} in range({bounds}):")
            out += print_body(s.body, depth + 1) or [pad + "    pass"]
        elif isinstance(s, Block):
            out += print_body(s.body, depth)
        else:
            raise TypeError(f"not a statement: {s!r}")
    return out


def size(body: list) -> int:
    """The number of statements, loops counted with their bodies."""
    total = 0
    for s in body:
        if isinstance(s, (For, Block)):
            total += size(s.body) + isinstance(s, For)
        else:
            total += 1
    return total


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
            writes.add(s.var)
            _effects(s.body, reads, writes)
        elif isinstance(s, Block):
            _effects(s.body, reads, writes)


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
@dataclasses.dataclass
class Part:
    name: str
    body: list
    args: list
    results: list


def split(body: list, limit: int, params: list, final_reads: set):
    """Cut ``body`` into parts of about ``limit`` statements (a Block is never
    cut; a driver Block stays in the driver). Returns the driver's body (calls
    of the parts and the driver Blocks) and the parts."""
    segments, current = [], []
    count = 0
    for s in body:
        if isinstance(s, Block) and s.driver:
            if current:
                segments.append(current)
            segments.append(s)
            current, count = [], 0
            continue
        current.append(s)
        count += size([s])
        if count >= limit:
            segments.append(current)
            current, count = [], 0
    if current:
        segments.append(current)
    effect = [effects(s.body if isinstance(s, Block) else s) for s in segments]
    # what each segment must hand on: what it writes that a later one reads
    later = set(final_reads)
    results = [None] * len(segments)
    for k in range(len(segments) - 1, -1, -1):
        reads, writes = effect[k]
        results[k] = sorted(writes & later, key=_natural)
        later |= reads
    known = set(params)
    driver, parts = [], []
    for k, seg in enumerate(segments):
        reads, writes = effect[k]
        if isinstance(seg, Block):
            driver.append(seg)
        else:
            args = sorted(reads & known, key=_natural)
            name = f"part{len(parts)}"
            parts.append(Part(name, seg, args, results[k]))
            call = f"{name}({', '.join(args)})"
            outs = results[k]
            if not outs:
                driver.append(Line(call))
            elif len(outs) == 1:
                driver.append(Line(f"{outs[0]} = {call}"))
            else:
                driver.append(Line(f"{', '.join(outs)} = {call}"))
        known |= writes
    return driver, parts


def _natural(name: str):
    m = re.match(r"([A-Za-z_]+)(\d*)(.*)", name)
    return (m.group(1), int(m.group(2) or -1), m.group(3))

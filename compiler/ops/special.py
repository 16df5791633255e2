"""Graph plumbing: parameters, constants, guards, identity and stop_gradient."""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops.lowering import Loop
from compiler.errors import GuardFailure
from compiler.ops import Op

__all__ = ["guard", "identity", "stop_gradient", "zeros_like", "ones_like", "full"]


def _no_eval(*args, **attrs):
    raise RuntimeError("param nodes are bound by the caller, never evaluated")


Op("param", _no_eval, infer=lambda s, d, a: (a["shape"], a["dtype"]), differentiable=False)
Op("const", lambda value: value, infer=lambda s, d, a: (a["value"].shape, a["value"].dtype),
   differentiable=False, cost=0)


def _guard_impl(cond, expected, site, kind):
    if bool(cond) != expected:
        raise GuardFailure(site, -1)
    return np.asarray(expected)


def _guard_infer(shapes, dtypes, attrs):
    return (), np.dtype(bool)


# A guard holds when its (0-d boolean) operand equals the value seen while
# tracing. It is an effect: never removed, checked before results are used.
def _emit_guard(n):
    site = str(n.attrs.get("site", "?")).replace("\n", " ")
    n.line(f"if {n.args[0]} != {n.attrs['expected']}:  # guard at {site}")
    n.line(f"    {n.fail()}")


GUARD = Op("guard", _guard_impl, infer=_guard_infer, effect=True, differentiable=False,
           emit=_emit_guard)
_SAME = Loop(lambda n, idx: n.read(0, idx))


def guard(cond, expected: bool, site: str, kind: str = "branch"):
    """``kind`` is "branch" (if/while on a traced value) or "value" (float()/int())."""
    return GUARD(cond, expected=bool(expected), site=str(site), kind=kind)


identity = Op("identity", lambda x: x, infer=lambda s, d, a: (s[0], d[0]),
              vjp=lambda g, out, x: (g,), linear=True, cost=0, emit=_SAME)
stop_gradient = Op("stop_gradient", lambda x: x, infer=lambda s, d, a: (s[0], d[0]),
                   differentiable=False, cost=0, emit=_SAME)


def full(graph, shape, fill, dtype):
    return O.broadcast_to(graph.const(np.asarray(fill, dtype=dtype)), tuple(shape))


def zeros_like(x):
    return full(x.graph, x.shape, 0, x.dtype)


def ones_like(x):
    return full(x.graph, x.shape, 1, x.dtype)

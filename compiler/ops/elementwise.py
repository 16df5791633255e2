"""Elementwise ops: one row each with NumPy evaluation, VJP and the scalar
expression the Numba backend fuses into loops. Their shape rule (broadcasting)
and dtype rule (NumPy's promotion) are generic; their JVP follows from the VJP
because an elementwise Jacobian is diagonal.

Non-differentiable points follow PyTorch: ``abs`` has gradient 0 at 0
(``sign(0) == 0``); ``maximum``/``minimum`` split a tie evenly; ``clip`` passes
the gradient where ``lo <= x <= hi`` (bounds included, as ``torch.clamp``);
``sqrt`` at 0 gives inf; ``pow`` gives 0 for the exponent's gradient where the
base is 0, and 0 for the base's gradient where the exponent is 0.
"""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops import Op

__all__ = [
    "neg", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "abs", "sign", "cast", "pow_scalar",
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "arctan2", "logaddexp",
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
    "logical_and", "logical_or", "logical_not", "where", "clip", "floor", "ceil",
    "bitwise_and", "bitwise_or",
]


def unary(name, impl, vjp=None, emit=None, **traits):
    rule = None if vjp is None else (lambda g, out, x, **a: (vjp(g, out, x),))
    return Op(name, impl, vjp=rule, emit=emit, elementwise=True,
              differentiable=vjp is not None, **traits)


neg = unary("neg", np.negative, lambda g, out, x: -g, "(-{0})", linear=True)
exp = unary("exp", np.exp, lambda g, out, x: g * out, "np.exp({0})", cost=4)
log = unary("log", np.log, lambda g, out, x: g / x, "np.log({0})", cost=4)
log1p = unary("log1p", np.log1p, lambda g, out, x: g / (1 + x), "np.log1p({0})", cost=4)
expm1 = unary("expm1", np.expm1, lambda g, out, x: g * (out + 1), "np.expm1({0})", cost=4)
sqrt = unary("sqrt", np.sqrt, lambda g, out, x: g / (2 * out), "np.sqrt({0})", cost=2)
sin = unary("sin", np.sin, lambda g, out, x: g * cos(x), "np.sin({0})", cost=4)
cos = unary("cos", np.cos, lambda g, out, x: -(g * sin(x)), "np.cos({0})", cost=4)
tan = unary("tan", np.tan, lambda g, out, x: g * (1 + out * out), "np.tan({0})", cost=4)
tanh = unary("tanh", np.tanh, lambda g, out, x: g * (1 - out * out), "np.tanh({0})", cost=4)
arcsin = unary("arcsin", np.arcsin, lambda g, out, x: g / sqrt(1 - x * x), "np.arcsin({0})", cost=4)
arccos = unary("arccos", np.arccos, lambda g, out, x: -(g / sqrt(1 - x * x)), "np.arccos({0})",
               cost=4)
arctan = unary("arctan", np.arctan, lambda g, out, x: g / (1 + x * x), "np.arctan({0})", cost=4)
sinh = unary("sinh", np.sinh, lambda g, out, x: g * cosh(x), "np.sinh({0})", cost=4)
cosh = unary("cosh", np.cosh, lambda g, out, x: g * sinh(x), "np.cosh({0})", cost=4)
abs = unary("abs", np.abs, lambda g, out, x: g * sign(x), "abs({0})")
sign = unary("sign", np.sign, None, "np.sign({0})")
floor = unary("floor", np.floor, None, "np.floor({0})")
ceil = unary("ceil", np.ceil, None, "np.ceil({0})")


def _cast_vjp(g, out, x, dtype):
    return (cast(g, x.dtype),) if x.dtype.kind in "fc" else (None,)


CAST = Op("cast", lambda x, dtype: np.asarray(x).astype(dtype), vjp=_cast_vjp,
          emit="{dtype}({0})", elementwise=True, linear=True,
          canon=lambda s, d, a: {"dtype": np.dtype(a["dtype"])})


def cast(x, dtype):
    return CAST(x, dtype=dtype)


def _pow_scalar_vjp(g, out, x, p):
    if p == 0:
        return (None,)
    if p == 1:
        return (g,)
    return (g * (p * pow_scalar(x, p=p - 1)),)


pow_scalar = Op("pow_scalar", lambda x, p: x ** p, vjp=_pow_scalar_vjp,
                emit="{0} ** {p}", elementwise=True, cost=2,
                canon=lambda s, d, a: {"p": getattr(a["p"], "item", lambda: a["p"])()})


def binary(name, impl, vjp=None, emit=None, **traits):
    return Op(name, impl, vjp=vjp, emit=emit, elementwise=True,
              differentiable=vjp is not None, **traits)


add = binary("add", np.add, lambda g, out, x, y: (g, g), "({0} + {1})", linear=True)
sub = binary("sub", np.subtract, lambda g, out, x, y: (g, -g), "({0} - {1})", linear=True)
mul = binary("mul", np.multiply, lambda g, out, x, y: (g * y, g * x), "({0} * {1})")
div = binary("div", np.true_divide, lambda g, out, x, y: (g / y, -(g * out / y)),
             "({0} / {1})", cost=2)


def _pow_vjp(g, out, x, y):
    zero = equal(x, 0)
    safe_x = where(zero, 1, x)
    # x ** 0 is 1 for every x, so its x-gradient is 0 even at x = 0 (not 0 * inf).
    return (where(equal(y, 0), 0, g * (y * pow(x, y - 1))),
            where(zero, 0, g * (out * log(safe_x))))


pow = binary("pow", np.power, _pow_vjp, "{0} ** {1}", cost=8)


def _extremum_vjp(first_wins):
    def rule(g, out, x, y):
        tie = 0.5 * g
        return (where(first_wins(x, y), g, where(equal(x, y), tie, 0)),
                where(first_wins(y, x), g, where(equal(x, y), tie, 0)))
    return rule


maximum = binary("maximum", np.maximum, _extremum_vjp(lambda a, b: greater(a, b)),
                 "max({0}, {1})")
minimum = binary("minimum", np.minimum, _extremum_vjp(lambda a, b: less(a, b)),
                 "min({0}, {1})")
arctan2 = binary("arctan2", np.arctan2,
                 lambda g, out, y, x: (g * x / (x * x + y * y), -(g * y / (x * x + y * y))),
                 "np.arctan2({0}, {1})", cost=8)
logaddexp = binary("logaddexp", np.logaddexp,
                   lambda g, out, x, y: (g * exp(x - out), g * exp(y - out)),
                   "np.logaddexp({0}, {1})", cost=8)

greater = binary("greater", np.greater, None, "({0} > {1})")
greater_equal = binary("greater_equal", np.greater_equal, None, "({0} >= {1})")
less = binary("less", np.less, None, "({0} < {1})")
less_equal = binary("less_equal", np.less_equal, None, "({0} <= {1})")
equal = binary("equal", np.equal, None, "({0} == {1})")
not_equal = binary("not_equal", np.not_equal, None, "({0} != {1})")
logical_and = binary("logical_and", np.logical_and, None, "({0} and {1})")
logical_or = binary("logical_or", np.logical_or, None, "({0} or {1})")
logical_not = unary("logical_not", np.logical_not, None, "(not {0})")
# ``&`` and ``|``: bitwise on integers, logical on booleans (as in NumPy)
bitwise_and = binary("bitwise_and", np.bitwise_and, None, "({0} & {1})")
bitwise_or = binary("bitwise_or", np.bitwise_or, None, "({0} | {1})")


def _where_dtype(shapes, dtypes, attrs):
    return (O.broadcast_shapes("where", shapes), np.result_type(dtypes[1], dtypes[2]))


where = Op("where", lambda c, x, y: np.where(c, x, y), infer=_where_dtype,
           vjp=lambda g, out, c, x, y: (None, where(c, g, 0), where(c, 0, g)),
           emit="({1} if {0} else {2})", elementwise=True)


def _clip_vjp(g, out, x, lo, hi):
    inside = logical_and(greater_equal(x, lo), less_equal(x, hi))
    return (where(inside, g, 0), where(less(x, lo), g, 0),
            where(greater(x, hi), g, 0))


clip = Op("clip", lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), vjp=_clip_vjp,
          emit="min(max({0}, {1}), {2})", elementwise=True)

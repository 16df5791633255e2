"""More elementwise ops: inverse hyperbolic functions, cbrt, hypot, copysign,
fmod and mod, the zero-gradient roundings, and SciPy's special functions.

The roundings (``trunc``, ``rint``, ``floor_divide``) have gradient 0, as in
autograd and PyTorch, so ``x - np.round(x)`` differentiates. ``fmod`` and
``mod`` are piecewise ``x - k y``: their gradients are ``1`` and ``-k``.

SciPy's special functions evaluate with ``scipy.special`` (imported when one
is first evaluated: they are only reachable from SciPy calls). The Numba
kernels import NumPy alone, so a graph holding one of them runs on the
interpreter (``staticgrad.specialize.backend`` warns).
"""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.ops import Op

__all__ = ["arcsinh", "arccosh", "arctanh", "cbrt", "hypot", "copysign", "fmod", "mod",
           "trunc", "rint", "floor_divide", "erf", "erfc", "gammaln", "polygamma", "log_ndtr",
           "erfinv", "ndtri", "gamma", "beta"]


def _unary(name, impl, vjp=None, emit=None, **traits):
    rule = None if vjp is None else (lambda g, out, x, **a: (vjp(g, out, x, **a),))
    return Op(name, impl, vjp=rule, emit=emit, elementwise=True,
              differentiable=vjp is not None, **traits)


arcsinh = _unary("arcsinh", np.arcsinh, lambda g, out, x: g / O.sqrt(x * x + 1),
                 "np.arcsinh({0})", cost=4)
arccosh = _unary("arccosh", np.arccosh, lambda g, out, x: g / O.sqrt(x * x - 1),
                 "np.arccosh({0})", cost=4)
arctanh = _unary("arctanh", np.arctanh, lambda g, out, x: g / (1 - x * x), "np.arctanh({0})",
                 cost=4)
# d cbrt = 1 / (3 cbrt(x)^2): inf at 0, as sqrt's
cbrt = _unary("cbrt", np.cbrt, lambda g, out, x: g / (3 * (out * out)), "np.cbrt({0})", cost=4)
trunc = _unary("trunc", np.trunc, None, "np.trunc({0})")
rint = _unary("rint", np.rint, None, "np.rint({0})")


def _hypot_vjp(g, out, x, y):
    # 0 at the origin (as the 2-norm of a zero vector), never 0/0
    zero = O.equal(out, 0)
    safe = O.where(zero, 1, out)
    return O.where(zero, 0, g * x / safe), O.where(zero, 0, g * y / safe)


hypot = Op("hypot", np.hypot, vjp=_hypot_vjp, emit="np.hypot({0}, {1})", elementwise=True,
           cost=4)
copysign = Op("copysign", np.copysign,
              vjp=lambda g, out, x, y: (g * O.sign(x) * O.sign(out), None),
              emit="np.copysign({0}, {1})", elementwise=True)
fmod = Op("fmod", np.fmod, vjp=lambda g, out, x, y: (g, -(g * trunc(x / y))),
          emit="np.fmod({0}, {1})", elementwise=True, cost=4)
mod = Op("mod", np.remainder, vjp=lambda g, out, x, y: (g, -(g * O.floor(x / y))),
         emit="np.remainder({0}, {1})", elementwise=True, cost=4)
floor_divide = Op("floor_divide", np.floor_divide, emit="np.floor_divide({0}, {1})",
                  elementwise=True, differentiable=False, cost=4)


def _scipy(name):
    def impl(*xs, **attrs):
        import scipy.special
        return getattr(scipy.special, name)(*xs, **attrs)
    impl.__name__ = name
    return impl


_SQRT_2PI = float(np.sqrt(2 * np.pi))
erf = _unary("erf", _scipy("erf"), lambda g, out, x: g * (2 / np.sqrt(np.pi)) * O.exp(-(x * x)),
             cost=8)
erfc = _unary("erfc", _scipy("erfc"),
              lambda g, out, x: -(g * (2 / np.sqrt(np.pi)) * O.exp(-(x * x))), cost=8)


def _polygamma_impl(x, n):
    import scipy.special
    out = scipy.special.polygamma(n, x)
    return out.astype(np.result_type(x, np.float32)) if isinstance(out, np.ndarray) else out


polygamma = _unary("polygamma", _polygamma_impl,
                   lambda g, out, x, n: g * POLYGAMMA_OP(x, n=n + 1), cost=16)
POLYGAMMA_OP = polygamma
gammaln = _unary("gammaln", _scipy("gammaln"), lambda g, out, x: g * polygamma(x, n=0), cost=8)
# d log Phi(x) = phi(x) / Phi(x) = exp(-x^2/2 - log Phi(x)) / sqrt(2 pi): no 0/0 in the tail
log_ndtr = _unary("log_ndtr", _scipy("log_ndtr"),
                  lambda g, out, x: g * O.exp(-(x * x) * 0.5 - out) / _SQRT_2PI, cost=8)
erfinv = _unary("erfinv", _scipy("erfinv"),
                lambda g, out, x: g * (np.sqrt(np.pi) / 2) * O.exp(out * out), cost=8)
ndtri = _unary("ndtri", _scipy("ndtri"),
               lambda g, out, x: g * _SQRT_2PI * O.exp(out * out * 0.5), cost=8)
gamma = _unary("gamma", _scipy("gamma"), lambda g, out, x: g * out * polygamma(x, n=0), cost=8)


def _beta_vjp(g, out, a, b):
    both = polygamma(a + b, n=0)
    return g * out * (polygamma(a, n=0) - both), g * out * (polygamma(b, n=0) - both)


beta = Op("beta", _scipy("beta"), vjp=_beta_vjp, elementwise=True, cost=16)

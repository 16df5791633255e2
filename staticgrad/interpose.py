"""NumPy and SciPy functions that traced values cannot reach through NumPy's
protocols, made to work while a function is being traced.

``np.array``/``np.asarray`` (and ``asanyarray``, ``ascontiguousarray``,
``full``) are C functions that never call ``__array_function__``, and SciPy's
``logsumexp``, ``softmax``, ``scipy.stats.norm.logpdf``,
``scipy.linalg.solve_triangular``, ... convert their arguments with
``np.asarray`` before any NumPy function sees them. While a trace runs
(``traced_namespaces()``, entered by the transforms), those module attributes
are replaced by wrappers that call staticgrad's version when an argument is a
traced value and the original otherwise; they are restored when the
outermost trace ends. Code that bound a function before (``from numpy import
asarray``) keeps the original, and gets the error below.

``staticgrad.tracing.library_call()`` names the NumPy or SciPy function a
traced value was being converted in, so that error says which call is not
supported.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import threading
from typing import Any, Callable

import numpy as np

from staticgrad.errors import UnsupportedOperationError
from staticgrad.tracing import Tracer, find_context, first, to_tracer, to_value

_lock = threading.RLock()
_depth = [0]
_saved: list = []


def _has_tracer(args, kwargs) -> bool:
    return first((args, kwargs), Tracer) is not None


def _wrapper(original: Callable, impl: Callable) -> Callable:
    @functools.wraps(original)
    def call(*args, **kwargs):
        if _has_tracer(args, kwargs):
            return impl(*args, **kwargs)
        return original(*args, **kwargs)
    call.__wrapped_by_staticgrad__ = original
    return call


# -- NumPy's array constructors ---------------------------------------------------------------------
def _array(obj, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    from staticgrad.numpy_extra import array_of
    ctx = find_context(obj)
    return to_tracer(ctx, array_of(to_value(obj), dtype, copy, order, subok, ndmin, like))


def _asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    return _array(a, dtype, like=like)


_NP_FULL = np.full  # the original (the name is patched while tracing)


def _full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    from staticgrad.numpy_api import apply_function
    return apply_function(_NP_FULL, (shape, fill_value), {"dtype": dtype})


NUMPY = {
    "array": lambda obj, dtype=None, *a, **k: _array(obj, dtype, **{
        n: v for n, v in k.items() if n in ("copy", "order", "subok", "ndmin", "like")}),
    "asarray": _asarray,
    "asanyarray": _asarray,
    "ascontiguousarray": lambda a, dtype=None, *, like=None: _array(a, dtype, like=like),
    "asfortranarray": lambda a, dtype=None, *, like=None: _array(a, dtype, like=like),
    "full": _full,
}


# -- SciPy ------------------------------------------------------------------------------------------
def _logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    import compiler.ops as O
    if return_sign:
        raise UnsupportedOperationError("scipy.special.logsumexp(return_sign=True) is not "
                                        "supported on traced values")
    ctx = find_context((a, b))
    x = to_value(ctx.lift(a))
    if b is not None:
        if not isinstance(b, Tracer) and np.any(np.asarray(b) < 0):
            raise UnsupportedOperationError("scipy.special.logsumexp with negative weights b "
                                            "is not supported on traced values")
        x = x + to_value(np.log(ctx.lift(b)))
        x = O.broadcast_to(x, x.shape)
    if x.dtype.kind not in "fc":
        x = O.cast(x, np.float64)
    return to_tracer(ctx, O.logsumexp(x, axis=axis, keepdims=bool(keepdims)))


def _softmax(x, axis=None):
    import compiler.ops as O
    ctx = find_context(x)
    v = to_value(ctx.lift(x))
    return to_tracer(ctx, O.exp(v - O.logsumexp(v, axis=axis, keepdims=True)))


def _log_softmax(x, axis=None):
    import compiler.ops as O
    ctx = find_context(x)
    v = to_value(ctx.lift(x))
    return to_tracer(ctx, v - O.logsumexp(v, axis=axis, keepdims=True))


_LOG_2PI = float(np.log(2 * np.pi))


def _norm_logpdf(x, loc=0, scale=1):
    z = (x - loc) / scale
    return -0.5 * z * z - np.log(scale) - 0.5 * _LOG_2PI


def _float64(fn):
    """scipy.stats computes in float64 whatever the input's precision."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out.astype(np.float64) if isinstance(out, Tracer) and out.dtype == np.float32 \
            else out
    return call


def _norm_method(kind):
    import scipy.special as sp

    @_float64
    def fn(x, loc=0, scale=1):
        z = (x - loc) / scale
        if kind == "logpdf":
            return _norm_logpdf(x, loc, scale)
        if kind == "pdf":
            return np.exp(_norm_logpdf(x, loc, scale))
        if kind == "cdf":
            return sp.ndtr(z)
        if kind == "logcdf":
            return sp.log_ndtr(z)
        if kind == "sf":
            return sp.ndtr(-z)
        if kind == "logsf":
            return sp.log_ndtr(-z)
        raise AssertionError(kind)
    return fn


def _mvn_logpdf(x, mean=None, cov=1, allow_singular=False):
    if allow_singular:
        raise UnsupportedOperationError("scipy.stats.multivariate_normal.logpdf("
                                        "allow_singular=True) is not supported on traced values")
    d = np.shape(x)[-1] if np.ndim(x) else 1
    cov = np.asarray(cov) if not isinstance(cov, Tracer) else cov
    if np.ndim(cov) == 0:
        cov = cov * np.eye(d)
    elif np.ndim(cov) == 1:
        cov = np.diag(cov) if not isinstance(cov, Tracer) else np.diag(cov)
    diff = x if mean is None else x - mean
    L = np.linalg.cholesky(cov)
    if isinstance(diff, Tracer) and diff.ndim == 1:
        z = np.linalg.solve(L, diff)
        maha = np.sum(z * z)
    else:
        z = np.linalg.solve(L, np.swapaxes(np.atleast_2d(diff), -1, -2))
        maha = np.sum(z * z, axis=-2)
    logdet = 2 * np.sum(np.log(np.diagonal(L)))
    return -0.5 * (d * _LOG_2PI + logdet + maha)


def _t_logpdf(x, df, loc=0, scale=1):
    import scipy.special as sp
    z = (x - loc) / scale
    return (sp.gammaln((df + 1) / 2) - sp.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
            - (df + 1) / 2 * np.log1p(z * z / df) - np.log(scale))


def _gamma_logpdf(x, a, loc=0, scale=1):
    import scipy.special as sp
    y = (x - loc) / scale
    positive = y > 0
    safe = np.where(positive, y, 1.0)
    out = (a - 1) * np.log(safe) - safe - sp.gammaln(a) - np.log(scale)
    return np.where(positive, out, -np.inf)


def _triangle(a, lower):
    return np.tril(a) if lower else np.triu(a)


def _solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                      check_finite=True):
    t = _triangle(a, lower)
    if unit_diagonal:
        n = np.shape(a)[-1]
        eye = np.eye(n, dtype=np.result_type(t.dtype, np.float32))
        t = t * (1 - eye) + eye
    if trans in (1, "T", 2, "C"):
        t = np.swapaxes(t, -1, -2)
    elif trans not in (0, "N"):
        raise ValueError(f"trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return np.linalg.solve(t, b)


def _cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    # LAPACK reads the triangle it is asked for: the upper one unless lower=True
    if lower:
        return np.linalg.cholesky(a), True
    return np.swapaxes(np.linalg.cholesky(np.swapaxes(a, -1, -2)), -1, -2), False


def _expm(A):
    raise UnsupportedOperationError("scipy.linalg.expm is not supported on traced values by "
                                    "staticgrad")


def _cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    c, lower = c_and_lower
    L = np.tril(c) if lower else np.swapaxes(np.triu(c), -1, -2)
    y = np.linalg.solve(L, b)
    return np.linalg.solve(np.swapaxes(L, -1, -2), y)


def _sla_solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
               assume_a=None, transposed=False):
    if transposed:
        a = np.swapaxes(a, -1, -2)
    if assume_a in ("sym", "pos", "her", "symmetric", "positive definite", "hermitian"):
        raise UnsupportedOperationError(f"scipy.linalg.solve(assume_a={assume_a!r}) is not "
                                        "supported on traced values")
    return np.linalg.solve(a, b)


def _sla_det(a, overwrite_a=False, check_finite=True):
    out = np.linalg.det(a)
    return out.astype(np.float64) if out.dtype == np.float32 else out  # as SciPy's


def _sla_cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    L = np.linalg.cholesky(_upper_as_lower(a) if not lower else a)
    return L if lower else np.swapaxes(L, -1, -2)


def _upper_as_lower(a):
    # scipy.linalg.cholesky(lower=False) reads the upper triangle
    return np.swapaxes(a, -1, -2)


def _sla_eigh(a, b=None, *, lower=True, eigvals_only=False, **kwargs):
    if b is not None:
        raise UnsupportedOperationError("scipy.linalg.eigh of a generalized problem is not "
                                        "supported on traced values")
    for k, v in kwargs.items():
        if v not in (None, False, True) or k not in ("overwrite_a", "overwrite_b", "type",
                                                       "check_finite", "driver"):
            raise UnsupportedOperationError(f"scipy.linalg.eigh: argument {k}={v!r} is not "
                                            "supported on traced values")
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return w if eigvals_only else (w, v)


SCIPY = {
    "scipy.special": {"logsumexp": _logsumexp, "softmax": _softmax, "log_softmax": _log_softmax},
    "scipy.linalg": {"solve_triangular": _solve_triangular, "cho_factor": _cho_factor,
                     "cho_solve": _cho_solve, "solve": _sla_solve,
                     "inv": lambda a, overwrite_a=False, check_finite=True: np.linalg.inv(a),
                     "det": _sla_det,
                     "cholesky": _sla_cholesky, "eigh": _sla_eigh, "expm": _expm},
}
SCIPY_STATS = {
    "norm": {k: _norm_method(k) for k in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")},
    "multivariate_normal": {"logpdf": _float64(_mvn_logpdf),
                            "pdf": _float64(lambda *a, **k: np.exp(_mvn_logpdf(*a, **k)))},
    "t": {"logpdf": _float64(_t_logpdf)},
    "gamma": {"logpdf": _float64(_gamma_logpdf)},
}


def _install() -> None:
    # SciPy's modules are looked up, not imported: importing them would slow
    # staticgrad's import for everybody who never calls SciPy, and code that
    # calls SciPy has imported it.
    for name, impl in NUMPY.items():
        _patch(np, name, impl)
    for module_name, table in SCIPY.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue  # SciPy not imported: nothing can call it
        for name, impl in table.items():
            _patch(module, name, impl)
    stats = sys.modules.get("scipy.stats")
    if stats is not None:
        for dist_name, table in SCIPY_STATS.items():
            dist = getattr(stats, dist_name, None)
            if dist is None:
                continue
            for name, impl in table.items():
                _patch(dist, name, impl)


def _patch(owner: Any, name: str, impl: Callable) -> None:
    original = getattr(owner, name, None)
    if original is None:
        return
    own = isinstance(owner, type(np)) or name in getattr(owner, "__dict__", {})
    _saved.append((owner, name, original, own))
    setattr(owner, name, _wrapper(original, impl))


def _uninstall() -> None:
    while _saved:
        owner, name, original, own = _saved.pop()
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


@contextlib.contextmanager
def traced_namespaces():
    """While tracing: NumPy's constructors and SciPy's functions accept traced values."""
    with _lock:
        if _depth[0] == 0:
            _install()
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                _uninstall()

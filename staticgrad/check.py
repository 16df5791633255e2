"""check_grads: staticgrad's derivatives against central finite differences.

The checker users run on their own functions (as JAX's ``check_grads`` and
PyTorch's ``gradcheck``); the project's op-table tests use it too.

Forward mode is checked along a random tangent per argument: ``jvp`` against
``(f(x + h t) - f(x - h t)) / 2h``. Reverse mode is checked element by
element: with a random cotangent ``c``, ``vjp(c)`` is the gradient of the
scalar ``<c, f(x)>``, whose finite difference is taken in every element of
every argument (two evaluations of ``f`` per element). Higher orders check
the derivative function itself: ``order=2`` checks ``jvp`` and ``vjp`` of the
function ``x -> jvp(f, x, t)`` and of ``x -> vjp(f, x)(c)`` (forward-over-
forward, reverse-over-forward, forward-over-reverse, reverse-over-reverse).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from staticgrad.transforms import jvp, vjp

__all__ = ["check_grads"]

_MODES = ("fwd", "rev")


def check_grads(f: Callable[..., Any], args: Sequence[Any] | np.ndarray, order: int = 2,
                modes: Sequence[str] = _MODES, eps: float | None = None,
                rtol: float | None = None, atol: float | None = None) -> None:
    """Check ``sg.jvp`` / ``sg.vjp`` of ``f`` at ``args`` against central finite
    differences, up to ``order``; raise ``AssertionError`` on a mismatch.

    ``f`` takes arrays and returns an array (or a tuple of arrays); ``args``
    is the tuple of its arguments (a lone array stands for ``(array,)``). Floating
    arguments are promoted to float64 and differentiated; other arguments
    (integer index arrays, boolean masks) are held fixed. ``modes`` is any of
    ``"fwd"`` and ``"rev"``. The finite-difference step is ``eps`` times
    ``max(1, |x|)``; by default ``eps`` is the cube root of the output dtype's
    machine epsilon (about 6e-6 for float64), and ``rtol = atol = 1e-5``
    (``2e-2`` when an output is float32). An element passes when
    ``|got - expected| <= atol + rtol * |expected|``. The error message names
    the argument, the order and mode, and the worst element (its index, the
    finite-difference value and staticgrad's).

    Reverse mode costs two evaluations of ``f`` per input element and order.

    >>> import numpy as np, staticgrad as sg
    >>> sg.check_grads(lambda x, y: np.sin(x) * y, (np.ones(3), np.arange(3.0)))
    """
    if not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"check_grads: order must be a positive int, got {order!r}")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    unknown = [m for m in modes if m not in _MODES]
    if unknown or not modes:
        raise ValueError(f"check_grads: modes must be among {_MODES}, got {modes!r}")
    if not isinstance(args, (tuple, list)):  # a lone array is the only argument
        args = (args,)
    arrays = [np.asarray(a) for a in args]
    for k, a in enumerate(arrays):
        if a.dtype.kind == "c":
            raise TypeError(f"check_grads: argument {k} is complex; only real inputs are checked")
    positions = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not positions:
        raise TypeError("check_grads: no floating-point argument to differentiate "
                        f"(argument dtypes: {[str(a.dtype) for a in arrays]})")
    points = [arrays[k].astype(np.float64) for k in positions]

    def fun(*xs: np.ndarray) -> Any:
        full = list(arrays)
        for k, x in zip(positions, xs):
            full[k] = x
        return f(*full)

    checker = _Checker(positions, modes, eps, rtol, atol)
    checker.run(fun if len(positions) < len(arrays) else f, points, int(order), ())


class _Checker:
    def __init__(self, positions: list[int], modes: tuple, eps, rtol, atol):
        self.positions = positions   # argument numbers of the differentiated inputs
        self.modes = modes
        self.eps, self.rtol, self.atol = eps, rtol, atol
        self.rng = np.random.default_rng(0)

    def run(self, fun: Callable, xs: list[np.ndarray], order: int, built_by: tuple) -> None:
        outs = _outputs(fun(*xs), "the function" if not built_by else "the derivative")
        for mode in self.modes:  # this order in every mode first: report the lowest failure
            getattr(self, f"_check_{mode}")(fun, xs, outs, built_by + (mode,))
        for mode in self.modes if order > 1 else ():
            self.run(self._derivative(fun, xs, outs, mode), xs, order - 1, built_by + (mode,))

    # -- the derivative function that the next order checks ----------------
    def _derivative(self, fun: Callable, xs: list, outs: list, mode: str) -> Callable:
        if mode == "fwd":
            tangents = [self.rng.standard_normal(x.shape) for x in xs]
            return lambda *a: jvp(fun, a, tangents)[1]
        cotangent = _pack([self.rng.standard_normal(o.shape) for o in outs])
        return lambda *a: vjp(fun, *a)[1](cotangent)

    # -- one order, one mode ---------------------------------------------
    def _check_fwd(self, fun: Callable, xs: list, outs: list, path: tuple) -> None:
        eps, rtol, atol = self._tolerances(outs)
        for i, x in enumerate(xs):
            tangents = [np.zeros_like(v) for v in xs]
            tangents[i] = self.rng.standard_normal(x.shape)
            got = _outputs(jvp(fun, xs, tangents)[1], "jvp")
            h = eps * max(1.0, float(np.max(np.abs(x), initial=0.0)))
            plus = _outputs(fun(*_moved(xs, i, x + h * tangents[i])), "the function")
            minus = _outputs(fun(*_moved(xs, i, x - h * tangents[i])), "the function")
            for k, (g, p, m) in enumerate(zip(got, plus, minus)):
                self._compare((p - m) / (2 * h), g, i, k if len(got) > 1 else None, path,
                              "the output tangent", eps, rtol, atol)

    def _check_rev(self, fun: Callable, xs: list, outs: list, path: tuple) -> None:
        eps, rtol, atol = self._tolerances(outs)
        cotangents = [self.rng.standard_normal(o.shape) for o in outs]
        got = vjp(fun, *xs)[1](_pack(cotangents))

        def weighted(*a):  # <cotangent, f(a)>, whose gradient vjp gives
            outs_a = _outputs(fun(*a), "the function")
            return sum(float(np.sum(c * o)) for c, o in zip(cotangents, outs_a))

        for i, x in enumerate(xs):
            expected = np.empty(x.shape)
            for j in np.ndindex(x.shape):
                h = eps * max(1.0, abs(float(x[j])))
                moved = x.copy()
                moved[j] = x[j] + h
                plus = weighted(*_moved(xs, i, moved))
                moved[j] = x[j] - h
                minus = weighted(*_moved(xs, i, moved))
                expected[j] = (plus - minus) / (2 * h)
            self._compare(expected, np.asarray(got[i]), i, None, path,
                          f"the gradient of argument {self.positions[i]}", eps, rtol, atol)

    def _tolerances(self, outs: list) -> tuple[float, float, float]:
        machine = max(float(np.finfo(o.dtype).eps) for o in outs) if outs else 2.0 ** -52
        default_tol = 1e-5 if machine <= 2.0 ** -52 else 2e-2
        return (machine ** (1 / 3) if self.eps is None else self.eps,
                default_tol if self.rtol is None else self.rtol,
                default_tol if self.atol is None else self.atol)

    def _compare(self, expected: np.ndarray, got: np.ndarray, arg: int, out: int | None,
                 path: tuple, compared: str, eps: float, rtol: float, atol: float) -> None:
        where = (f"order {len(path)}, mode {_mode_name(path)}: derivative with respect to "
                 f"argument {self.positions[arg]}" + ("" if out is None else f", output {out}"))
        if got.shape != expected.shape:
            raise AssertionError(f"check_grads: {where}: staticgrad gave shape {got.shape}, "
                                 f"finite differences {expected.shape}")
        got = got.astype(np.float64)
        error = np.abs(got - expected)
        allowed = atol + rtol * np.abs(expected)
        bad = ~(error <= allowed)  # NaN counts as a mismatch
        if not bad.any():
            return
        excess = np.where(np.isnan(error), np.inf, error - allowed)
        j = np.unravel_index(int(np.argmax(excess)), expected.shape)
        raise AssertionError(
            f"check_grads: {where}: {int(bad.sum())} of {bad.size} elements differ from "
            f"central finite differences; worst at index {tuple(int(n) for n in j)} of "
            f"{compared}: "
            f"expected {float(expected[j])!r} (finite differences), got {float(got[j])!r} "
            f"(rtol={rtol:g}, atol={atol:g}, eps={eps:g})")


def _mode_name(path: tuple) -> str:
    """("rev", "fwd") -> "fwd-over-rev": the last mode applied to the derivative
    the earlier ones built."""
    return "-over-".join(reversed(path))


def _moved(xs: list, i: int, x: np.ndarray) -> list:
    return xs[:i] + [x] + xs[i + 1:]


def _pack(parts: list) -> Any:
    return parts[0] if len(parts) == 1 else tuple(parts)


def _outputs(y: Any, what: str) -> list[np.ndarray]:
    parts = list(y) if isinstance(y, (tuple, list)) else [y]
    arrays = [np.asarray(p) for p in parts]
    for k, a in enumerate(arrays):
        if a.dtype.kind != "f":
            raise TypeError(f"check_grads: output {k} of {what} has dtype {a.dtype}; "
                            "only floating-point outputs have derivatives to check")
    return arrays

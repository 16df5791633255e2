"""A census of differentiable NumPy and SciPy calls, written as real code writes them.

Each entry is a plain function of NumPy arrays (``np``, ``special``, ``stats``,
``sla`` are the module globals it reads, so the same code can run against
another NumPy namespace, HIPS autograd's), and the shapes and domains of its
arguments. ``benchmarks/numpy_coverage.py`` classifies every entry as correct,
silently wrong, clear "unsupported" error or unclear error; tests and the
README's "Supported NumPy" table are generated from the same list.

An argument is written ``"<domain><shape>"``: ``r3x4`` real in (-2, 2) of
shape (3, 4), ``p5`` positive, ``u5`` in (-0.9, 0.9), ``g5`` greater than 1,
``d5`` distinct values (no ties: sort, max), ``o5`` away from integers
(floor, round), ``z5`` with a zero, ``n3x4`` distinct with two NaNs, ``spd3`` a symmetric positive definite
3x3 matrix, ``sym3`` symmetric with distinct eigenvalues, ``w3`` well
conditioned (diagonally dominant), ``tri3`` lower triangular well
conditioned; a bare domain (``r``) is a 0-d array.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import scipy.linalg as sla
import scipy.special as special
import scipy.stats as stats


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str          # how a user spells the call
    group: str         # the README table's section
    fun: Callable
    args: tuple        # argument specs, see the module docstring
    key: str = ""      # the word a clear error must contain (default: from name)

    @property
    def word(self) -> str:
        if self.key:
            return self.key
        name = self.name.split("(")[0].split("[")[0].split(" ")[0]
        return name.rsplit(".", 1)[-1] or self.name

    def inputs(self, seed: int = 0) -> list:
        rng = np.random.default_rng([seed, sum(map(ord, self.name))])
        return [make(spec, rng, k) for k, spec in enumerate(self.args)]


def _split(spec: str):
    k = 0
    while k < len(spec) and spec[k].isalpha():
        k += 1
    dims = spec[k:]
    shape = tuple(int(d) for d in dims.split("x")) if dims else ()
    return spec[:k], shape


def make(spec: str, rng: np.random.Generator, k: int = 0) -> np.ndarray:
    dom, shape = _split(spec)
    n = shape[-1] if shape else 1
    if dom == "r":
        return rng.uniform(-2, 2, shape)
    if dom == "p":
        return rng.uniform(0.5, 2, shape)
    if dom == "u":
        return rng.uniform(-0.9, 0.9, shape)
    if dom == "h":  # in (0.1, 0.9): probabilities
        return rng.uniform(0.1, 0.9, shape)
    if dom == "g":
        return rng.uniform(1.2, 3, shape)
    if dom == "nz":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2, shape)
    if dom == "d":
        size = int(np.prod(shape, dtype=np.int64))
        grid = rng.choice(max(41, 3 * size), size, replace=False)
        return (grid * 0.1 - 2.0 + 0.037 * (k + 1)).reshape(shape)
    if dom == "o":
        return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.4, shape) * rng.choice([1, 2], shape)
    if dom == "n":  # distinct values with NaNs (the nan-reductions skip them)
        x = make("d" + spec[1:], rng, k)
        x.flat[1] = np.nan
        x.flat[-2] = np.nan
        return x
    if dom == "z":
        x = rng.uniform(0.5, 2, shape)
        x.flat[1] = 0.0
        return x
    if dom == "spd":
        a = rng.uniform(-1, 1, (n, n))
        return a @ a.T + n * np.eye(n)
    if dom == "sym":
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        return q @ np.diag(np.arange(1.0, n + 1) * 1.3) @ q.T
    if dom == "w":
        return rng.uniform(-1, 1, shape) + 4 * np.eye(n)
    if dom == "tri":
        return np.tril(rng.uniform(-1, 1, (n, n))) + 3 * np.eye(n)
    raise ValueError(f"unknown domain {dom!r} in {spec!r}")


ENTRIES: list[Entry] = []
_GROUP = ["ufuncs"]


def group(name: str) -> None:
    _GROUP[0] = name


def E(name: str, fun: Callable, *args: str, key: str = "") -> None:
    ENTRIES.append(Entry(name, _GROUP[0], fun, args, key))


IDX = np.array([2, 0, 4, 1])
MASK = np.array([True, False, True, True, False])
EDGES = np.array([-1.0, 0.0, 1.0])
XP = np.linspace(-2, 2, 7)

# -- ufuncs, unary ------------------------------------------------------------
group("ufuncs")
for _name, _dom in [("sin", "r"), ("cos", "r"), ("tan", "u"), ("arcsin", "u"), ("arccos", "u"),
                    ("arctan", "r"), ("sinh", "r"), ("cosh", "r"), ("tanh", "r"),
                    ("arcsinh", "r"), ("arccosh", "g"), ("arctanh", "u"), ("exp", "r"),
                    ("exp2", "r"), ("expm1", "r"), ("log", "p"), ("log2", "p"), ("log10", "p"),
                    ("log1p", "p"), ("sqrt", "p"), ("cbrt", "p"), ("square", "r"),
                    ("reciprocal", "nz"), ("absolute", "nz"), ("abs", "nz"), ("fabs", "nz"),
                    ("negative", "r"), ("positive", "r"), ("deg2rad", "r"), ("rad2deg", "r"),
                    ("degrees", "r"), ("radians", "r"), ("sinc", "nz"), ("real", "r"),
                    ("imag", "r"), ("conj", "r"), ("conjugate", "r"), ("nan_to_num", "r")]:
    E(f"np.{_name}", (lambda n: lambda x: getattr(np, n)(x))(_name), f"{_dom}2x3")
# zero-gradient steps: x - round(x) is the fractional part
for _name in ["floor", "ceil", "trunc", "rint", "round", "around", "fix"]:
    E(f"np.{_name}", (lambda n: lambda x: x - getattr(np, n)(x) + x * getattr(np, n)(x))(_name),
      "o2x3")
E("np.sign", lambda x: np.sign(x) * x ** 2, "nz5")
E("np.heaviside", lambda x: np.heaviside(x, 0.5) * x, "nz5")
E("np.sin(x, dtype=)", lambda x: np.sin(x, dtype=np.float64), "r5", key="sin")
E("np.exp(x, out=None)", lambda x: np.exp(x, out=None), "r5", key="exp")

# -- ufuncs, binary -----------------------------------------------------------
for _name, _d1, _d2 in [("add", "r", "r"), ("subtract", "r", "r"), ("multiply", "r", "r"),
                        ("divide", "r", "nz"), ("true_divide", "r", "nz"), ("power", "p", "r"),
                        ("float_power", "p", "r"), ("maximum", "d", "d"), ("minimum", "d", "d"),
                        ("fmax", "d", "d"), ("fmin", "d", "d"), ("arctan2", "nz", "nz"),
                        ("hypot", "nz", "nz"), ("logaddexp", "r", "r"), ("logaddexp2", "r", "r"),
                        ("copysign", "r", "nz")]:
    E(f"np.{_name}", (lambda n: lambda x, y: getattr(np, n)(x, y))(_name), f"{_d1}3x1", f"{_d2}4")
E("np.fmod", lambda x: np.fmod(x, 0.7), "o5")
E("np.mod", lambda x: np.mod(x, 0.7) * x, "o5")
E("np.remainder", lambda x: np.remainder(x, 0.7), "o5")
E("np.floor_divide", lambda x: np.floor_divide(x, 0.7) * x, "o5")
E("np.divmod", lambda x: np.divmod(x, 0.7)[1], "o5")
E("np.power(x, 3)", lambda x: np.power(x, 3), "r5", key="power")

# -- operators ------------------------------------------------------------------
group("operators")
E("x + y", lambda x, y: x + y, "r3x4", "r4", key="add")
E("x - y", lambda x, y: x - y, "r3x4", "r4", key="subtract")
E("x * y", lambda x, y: x * y, "r3x4", "r3x1", key="multiply")
E("x / y", lambda x, y: x / y, "r3x4", "nz4", key="divide")
E("x ** 2", lambda x: x ** 2, "r5", key="power")
E("x ** 0.5", lambda x: x ** 0.5, "p5", key="power")
E("x ** y", lambda x, y: x ** y, "p5", "r5", key="power")
E("2.0 ** x", lambda x: 2.0 ** x, "r5", key="power")
E("-x", lambda x: -x, "r5", key="negative")
E("abs(x)", lambda x: abs(x), "nz5", key="absolute")
E("A @ B", lambda a, b: a @ b, "r3x4", "r4x2", key="matmul")
E("A @ v", lambda a, v: a @ v, "r3x4", "r4", key="matmul")
E("v @ v", lambda u, v: u @ v, "r4", "r4", key="matmul")
E("x % 0.7", lambda x: x % 0.7, "o5", key="remainder")
E("x // 0.7", lambda x: (x // 0.7) * x, "o5", key="floor_divide")
E("1 / x", lambda x: 1 / x, "nz5", key="divide")
E("x += y on a copy", lambda x, y: (lambda z: (z.__iadd__(y), z)[1])(x.copy()), "r5", "r5",
  key="add")
E("(x > 0) * x", lambda x: (x > 0) * x, "nz5", key="multiply")

# -- reductions -------------------------------------------------------------------
group("reductions")
E("np.sum", lambda x: np.sum(x), "r3x4")
E("np.sum(axis=0)", lambda x: np.sum(x, axis=0), "r3x4", key="sum")
E("np.sum(axis=(0, 2), keepdims=True)", lambda x: np.sum(x, axis=(0, 2), keepdims=True),
  "r2x3x2", key="sum")
E("np.sum(dtype=np.float64)", lambda x: np.sum(x, dtype=np.float64), "r5", key="sum")
E("np.sum of a list of arrays", lambda x, y: np.sum([x, y], axis=0), "r4", "r4", key="sum")
E("np.mean", lambda x: np.mean(x), "r3x4")
E("np.mean(axis=-1, keepdims=True)", lambda x: np.mean(x, axis=-1, keepdims=True), "r3x4",
  key="mean")
E("np.prod", lambda x: np.prod(x, axis=1), "nz3x4")
E("np.prod with a zero", lambda x: np.prod(x), "z5", key="prod")
E("np.max", lambda x: np.max(x, axis=0), "d3x4")
E("np.min", lambda x: np.min(x), "d3x4")
E("np.amax", lambda x: np.amax(x, axis=1), "d3x4")
E("np.amin", lambda x: np.amin(x, axis=1), "d3x4")
E("np.var", lambda x: np.var(x, axis=0), "r3x4")
E("np.var(ddof=1)", lambda x: np.var(x, ddof=1), "r3x4", key="var")
E("np.std", lambda x: np.std(x, axis=1), "r3x4")
E("np.std(ddof=1)", lambda x: np.std(x, ddof=1), "r6", key="std")
E("np.ptp", lambda x: np.ptp(x, axis=0), "d3x4")
E("np.average", lambda x: np.average(x, axis=0), "r3x4")
E("np.average(weights=)", lambda x: np.average(x, weights=np.arange(1.0, 6.0)), "r5",
  key="average")
E("np.average(traced weights)", lambda x, w: np.average(x, axis=0, weights=w), "r3x4", "p3",
  key="average")
E("np.nansum", lambda x: np.nansum(x, axis=0), "r3x4")
E("np.nanmean", lambda x: np.nanmean(x, axis=1), "r3x4")
E("np.nanmax", lambda x: np.nanmax(x, axis=1), "d3x4")
E("np.nanmin", lambda x: np.nanmin(x), "d3x4")
E("np.nanprod", lambda x: np.nanprod(x, axis=0), "nz3x4")
E("np.nanvar", lambda x: np.nanvar(x), "r3x4")
E("np.nanstd", lambda x: np.nanstd(x, axis=0), "r3x4")
E("np.nanmedian", lambda x: np.nanmedian(x, axis=1), "d3x5")
for _name in ["nansum", "nanmean", "nanmax", "nanmin", "nanstd", "nanvar", "nanmedian",
              "nanprod"]:
    E(f"np.{_name} with NaNs", (lambda n: lambda x: getattr(np, n)(x, axis=1))(_name), "n3x4",
      key=_name)
E("np.nanpercentile with NaNs", lambda x: np.nanpercentile(x, [20.0, 90.0], axis=0), "n5x3",
  key="nanpercentile")
E("np.median", lambda x: np.median(x), "d7")
E("np.median(axis=1)", lambda x: np.median(x, axis=1), "d3x4", key="median")
E("np.percentile", lambda x: np.percentile(x, 30.0), "d7")
E("np.percentile(axis=0)", lambda x: np.percentile(x, [25.0, 75.0], axis=0), "d5x3",
  key="percentile")
E("np.quantile", lambda x: np.quantile(x, 0.3), "d7")
E("np.nanpercentile", lambda x: np.nanpercentile(x, 40.0), "d7")
E("np.nanquantile", lambda x: np.nanquantile(x, 0.4), "d7")
E("np.logaddexp.reduce", lambda x: np.logaddexp.reduce(x), "r5", key="logaddexp")
E("np.add.reduce", lambda x: np.add.reduce(x, axis=1), "r3x4", key="add")
E("np.multiply.reduce", lambda x: np.multiply.reduce(x), "nz5", key="multiply")
E("np.maximum.reduce", lambda x: np.maximum.reduce(x, axis=0), "d3x4", key="maximum")
E("np.minimum.reduce", lambda x: np.minimum.reduce(x, axis=0), "d3x4", key="minimum")
E("np.cov", lambda x: np.cov(x), "r3x6")
E("np.cov(rowvar=False)", lambda x: np.cov(x, rowvar=False), "r6x3", key="cov")
E("np.corrcoef", lambda x: np.corrcoef(x), "r3x6")
E("np.count_nonzero * x", lambda x: np.count_nonzero(x > 0) * x, "nz5", key="count_nonzero")
E("np.linalg.norm", lambda x: np.linalg.norm(x), "r5")
E("np.linalg.norm(axis=1)", lambda x: np.linalg.norm(x, axis=1), "r3x4", key="norm")
E("np.linalg.norm(ord=1)", lambda x: np.linalg.norm(x, ord=1), "nz5", key="norm")
E("np.linalg.norm(ord=np.inf)", lambda x: np.linalg.norm(x, ord=np.inf), "d5", key="norm")
E("np.linalg.norm(ord=3)", lambda x: np.linalg.norm(x, 3), "nz5", key="norm")
E("np.linalg.norm(A, 'fro')", lambda x: np.linalg.norm(x, "fro"), "r3x4", key="norm")
E("np.linalg.norm(A, 1)", lambda x: np.linalg.norm(x, 1), "d3x4", key="norm")
E("np.linalg.norm(A, np.inf)", lambda x: np.linalg.norm(x, np.inf), "d3x4", key="norm")
E("np.linalg.norm(A, 2)", lambda x: np.linalg.norm(x, 2), "r3x4", key="norm")
E("np.linalg.norm(A, 'nuc')", lambda x: np.linalg.norm(x, "nuc"), "r3x4", key="norm")
E("np.linalg.norm(keepdims=True)", lambda x: np.linalg.norm(x, axis=0, keepdims=True), "r3x4",
  key="norm")
E("np.linalg.vector_norm", lambda x: np.linalg.vector_norm(x, axis=-1), "r3x4")
E("np.linalg.matrix_norm", lambda x: np.linalg.matrix_norm(x), "r2x3x4")

# -- cumulative and differences ------------------------------------------------------
group("cumulative")
E("np.cumsum", lambda x: np.cumsum(x), "r6")
E("np.cumsum(axis=0)", lambda x: np.cumsum(x, axis=0), "r3x4", key="cumsum")
E("np.cumsum of 2-D, flattened", lambda x: np.cumsum(x), "r3x4", key="cumsum")
E("np.cumprod", lambda x: np.cumprod(x), "nz6")
E("np.cumprod with a zero", lambda x: np.cumprod(x), "z6", key="cumprod")
E("np.cumprod(axis=1)", lambda x: np.cumprod(x, axis=1), "nz3x4", key="cumprod")
E("np.add.accumulate", lambda x: np.add.accumulate(x), "r6", key="accumulate")
E("np.multiply.accumulate", lambda x: np.multiply.accumulate(x), "nz6", key="accumulate")
E("np.maximum.accumulate", lambda x: np.maximum.accumulate(x), "d6", key="accumulate")
E("np.diff", lambda x: np.diff(x), "r6")
E("np.diff(n=2)", lambda x: np.diff(x, n=2), "r6", key="diff")
E("np.diff(axis=0)", lambda x: np.diff(x, axis=0), "r3x4", key="diff")
E("np.diff(prepend=0)", lambda x: np.diff(x, prepend=0.0), "r6", key="diff")
E("np.ediff1d", lambda x: np.ediff1d(x), "r6")
E("np.gradient", lambda x: np.gradient(x), "r6")
E("np.gradient(spacing)", lambda x: np.gradient(x, 0.5), "r6", key="gradient")
E("np.gradient(axis=1)", lambda x: np.gradient(x, axis=1), "r3x4", key="gradient")
E("np.trapezoid", lambda y: np.trapezoid(y), "r6")
E("np.trapezoid(x=)", lambda y: np.trapezoid(y, x=np.linspace(0, 1, 6)), "r6", key="trapezoid")
E("np.trapezoid(dx=, axis=0)", lambda y: np.trapezoid(y, dx=0.1, axis=0), "r4x3",
  key="trapezoid")
E("np.trapezoid(traced x)", lambda y, x: np.trapezoid(y, x), "r6", "r6", key="trapezoid")

# -- building arrays --------------------------------------------------------------------
group("building arrays")
E("np.array(x)", lambda x: np.array(x) * 2, "r5", key="array")
E("np.asarray(x)", lambda x: np.asarray(x) * 2, "r5", key="asarray")
E("np.asanyarray(x)", lambda x: np.asanyarray(x) * 2, "r5", key="asanyarray")
E("np.ascontiguousarray(x)", lambda x: np.ascontiguousarray(x) * 2, "r5",
  key="ascontiguousarray")
E("np.asarray(x, dtype=float)", lambda x: np.asarray(x, dtype=np.float64) * 2, "r5", key="asarray")
E("np.array([x[0], x[1]])", lambda x: np.array([x[0] * x[1], x[1], 3.0]), "r5", key="array")
E("np.array([[a, b], [c, d]])", lambda x: np.array([[x[0], x[1]], [x[2] ** 2, 1.0]]), "r5",
  key="array")
E("np.array([u, v])", lambda u, v: np.array([u, v]), "r4", "r4", key="array")
E("np.asarray([u, v])", lambda u, v: np.asarray([u, 2 * v]), "r4", "r4", key="asarray")
E("np.stack of scalars", lambda x: np.stack([x[0], x[1] * x[2]]), "r5", key="stack")
E("np.stack(axis=1)", lambda u, v: np.stack([u, v], axis=1), "r4", "r4", key="stack")
E("np.stack(axis=-1)", lambda u, v: np.stack((u, v), axis=-1), "r2x3", "r2x3", key="stack")
E("np.concatenate", lambda u, v: np.concatenate([u, v]), "r4", "r3")
E("np.concatenate(axis=1)", lambda u, v: np.concatenate([u, v], axis=1), "r2x2", "r2x3",
  key="concatenate")
E("np.concatenate(axis=None)", lambda u, v: np.concatenate([u, v], axis=None), "r2x2", "r3",
  key="concatenate")
E("np.concatenate with a constant", lambda u: np.concatenate([u, np.ones(2)]), "r3",
  key="concatenate")
E("np.hstack", lambda u, v: np.hstack([u, v]), "r4", "r3")
E("np.vstack", lambda u, v: np.vstack([u, v]), "r4", "r4")
E("np.column_stack", lambda u, v: np.column_stack([u, v]), "r4", "r4")
E("np.row_stack via vstack", lambda u, v: np.vstack((u, v * 2)), "r2x3", "r3", key="vstack")
E("np.dstack", lambda u, v: np.dstack([u, v]), "r2x3", "r2x3")
E("np.block", lambda a, b: np.block([[a, b], [b, a]]), "r2x2", "r2x2")
E("np.append", lambda u, v: np.append(u, v), "r4", "r3")
E("np.append(axis=0)", lambda a, b: np.append(a, b, axis=0), "r2x3", "r1x3", key="append")
E("np.insert", lambda u: np.insert(u, 2, 7.0), "r4")
E("np.insert traced value", lambda u, v: np.insert(u, 1, v[0]), "r4", "r2", key="insert")
E("np.delete", lambda u: np.delete(u, 1), "r4")
E("np.delete(axis=1)", lambda a: np.delete(a, [0, 2], axis=1), "r3x4", key="delete")
E("np.diag(v)", lambda v: np.diag(v), "r4", key="diag")
E("np.diag(A)", lambda a: np.diag(a), "r4x4", key="diag")
E("np.diag(v, k=1)", lambda v: np.diag(v, k=1), "r3", key="diag")
E("np.diagflat", lambda v: np.diagflat(v), "r3")
E("np.triu", lambda a: np.triu(a), "r4x4")
E("np.tril", lambda a: np.tril(a, -1), "r4x4")
E("np.meshgrid", lambda u, v: np.meshgrid(u, v)[0] * np.meshgrid(u, v)[1], "r3", "r4",
  key="meshgrid")
E("np.meshgrid(indexing='ij')", lambda u, v: sum(np.meshgrid(u, v, indexing="ij")), "r3", "r4",
  key="meshgrid")
E("np.linspace(traced ends)", lambda x: np.linspace(x[0], x[1], 5), "r2", key="linspace")
E("np.linspace(0, traced)", lambda x: np.linspace(0.0, x, 4), "p", key="linspace")
E("np.vander", lambda v: np.vander(v, 3), "r4")
E("np.vander(increasing=True)", lambda v: np.vander(v, 4, increasing=True), "r4", key="vander")
E("np.fill_diagonal on a copy", lambda a: (lambda b: (np.fill_diagonal(b, 0.0), b)[1])(a.copy()),
  "r3x3", key="fill_diagonal")
E("np.zeros_like + setitem", lambda x: (lambda y: (y.__setitem__(slice(1, 3), x[:2] ** 2), y)[1])(
    np.zeros_like(x)), "r5", key="setitem")
E("np.full_like", lambda x: np.full_like(x, 2.0) * x, "r5")
E("np.ones_like", lambda x: np.ones_like(x) + x, "r5")
E("np.copy", lambda x: np.copy(x) * 2, "r5")
E("np.outer", lambda u, v: np.outer(u, v), "r3", "r4")
E("np.kron", lambda a, b: np.kron(a, b), "r2x2", "r2x3")
E("np.tile", lambda v: np.tile(v, 3), "r3")
E("np.tile(2-D reps)", lambda a: np.tile(a, (2, 1)), "r2x3", key="tile")
E("np.repeat", lambda v: np.repeat(v, 2), "r3")
E("np.repeat(axis=0)", lambda a: np.repeat(a, [1, 2], axis=0), "r2x3", key="repeat")
E("np.broadcast_to", lambda v: np.broadcast_to(v, (3, 4)), "r4")
E("np.broadcast_arrays", lambda u, v: np.broadcast_arrays(u, v)[0] * np.broadcast_arrays(u, v)[1],
  "r3x1", "r4", key="broadcast_arrays")
E("np.atleast_1d", lambda x: np.atleast_1d(x) * 2, "r")
E("np.atleast_2d", lambda x: np.atleast_2d(x) * 2, "r4")
E("np.atleast_3d", lambda x: np.atleast_3d(x) * 2, "r4")
E("np.expand_dims", lambda x: np.expand_dims(x, 1), "r4")
E("np.squeeze", lambda x: np.squeeze(x), "r3x1")
E("np.where", lambda x, y: np.where(x > 0, x, y), "nz5", "r5")
E("np.where(cond, x, 0.0)", lambda x: np.where(x > 0, x, 0.0), "nz5", key="where")
E("np.where(constant mask)", lambda x: np.where(MASK, x, 2 * x), "r5", key="where")
E("np.clip", lambda x: np.clip(x, -0.5, 0.5), "d5")
E("np.clip(min=)", lambda x: np.clip(x, min=-0.5), "d5", key="clip")
E("np.clip(traced bounds)", lambda x, lo: np.clip(x, lo, 1.5), "d5", "u", key="clip")
E("np.select", lambda x: np.select([x < -1, x > 1], [x ** 2, 2 * x], default=x), "d5")
E("np.choose", lambda x, y: np.choose(np.array([0, 1, 1, 0]), [x, y]), "r4", "r4")
E("np.piecewise", lambda x: np.piecewise(x, [x < 0, x >= 0], [lambda t: -t, lambda t: t ** 2]),
  "nz5")

# -- shape -----------------------------------------------------------------------------
group("shape")
E("np.reshape", lambda x: np.reshape(x, (2, 6)), "r3x4")
E("np.reshape(order='F')", lambda x: np.reshape(x, (2, 6), order="F"), "r3x4", key="reshape")
E("np.reshape(-1)", lambda x: np.reshape(x, -1), "r3x4", key="reshape")
E("np.ravel", lambda x: np.ravel(x), "r3x4")
E("np.transpose", lambda x: np.transpose(x), "r3x4")
E("np.transpose(axes)", lambda x: np.transpose(x, (1, 2, 0)), "r2x3x4", key="transpose")
E("np.swapaxes", lambda x: np.swapaxes(x, 0, 2), "r2x3x4")
E("np.moveaxis", lambda x: np.moveaxis(x, 0, -1), "r2x3x4")
E("np.rollaxis", lambda x: np.rollaxis(x, 2), "r2x3x4")
E("np.flip", lambda x: np.flip(x), "r3x4")
E("np.flip(axis=0)", lambda x: np.flip(x, axis=0), "r3x4", key="flip")
E("np.fliplr", lambda x: np.fliplr(x), "r3x4")
E("np.flipud", lambda x: np.flipud(x), "r3x4")
E("np.roll", lambda x: np.roll(x, 2), "r5")
E("np.roll(axis=1)", lambda x: np.roll(x, -1, axis=1), "r3x4", key="roll")
E("np.roll(2-D, no axis)", lambda x: np.roll(x, 1), "r3x4", key="roll")
E("np.rot90", lambda x: np.rot90(x), "r3x4")
E("np.rot90(k=2)", lambda x: np.rot90(x, 2), "r3x4", key="rot90")
E("np.split", lambda x: np.split(x, 3)[1] * np.split(x, 3)[2], "r6", key="split")
E("np.split(indices)", lambda x: np.split(x, [1, 3])[2], "r6", key="split")
E("np.array_split", lambda x: np.array_split(x, 4)[0], "r7", key="array_split")
E("np.hsplit", lambda x: np.hsplit(x, 2)[1], "r3x4")
E("np.vsplit", lambda x: np.vsplit(x, 3)[2], "r3x4")
E("np.pad", lambda x: np.pad(x, 2), "r4")
E("np.pad(constant_values=)", lambda x: np.pad(x, (1, 2), constant_values=1.0), "r4", key="pad")
E("np.pad(mode='edge')", lambda x: np.pad(x, 2, mode="edge"), "r4", key="pad")
E("np.pad(mode='reflect')", lambda x: np.pad(x, 2, mode="reflect"), "r4", key="pad")
E("np.pad(mode='wrap')", lambda x: np.pad(x, 2, mode="wrap"), "r4", key="pad")
E("np.pad(mode='symmetric')", lambda x: np.pad(x, 1, mode="symmetric"), "r4", key="pad")
E("np.pad(2-D)", lambda x: np.pad(x, ((1, 0), (0, 2))), "r2x3", key="pad")
E("np.resize", lambda x: np.resize(x, 7), "r4")
E("np.trim_zeros", lambda x: np.trim_zeros(x), "p4")

# -- indexing ----------------------------------------------------------------------------
group("indexing")
E("x[0]", lambda x: x[0], "r3x4", key="index")
E("x[1:3]", lambda x: x[1:3], "r5", key="index")
E("x[::2]", lambda x: x[::2], "r5", key="index")
E("x[::-1]", lambda x: x[::-1], "r5", key="index")
E("x[..., 0]", lambda x: x[..., 0], "r2x3x4", key="index")
E("x[:, None]", lambda x: x[:, None] * x, "r4", key="index")
E("x[[0, 2]]", lambda x: x[[0, 2]], "r5", key="index")
E("x[idx] with repeats", lambda x: x[np.array([0, 2, 0])], "r5", key="index")
E("x[rows, cols]", lambda x: x[np.array([0, 2]), np.array([1, 3])], "r3x4", key="index")
E("x[constant mask]", lambda x: x[MASK], "r5", key="index")
E("x[1, 2]", lambda x: x[1, 2] * x, "r3x4", key="index")
E("x[np.argmax(x)]", lambda x: x[np.argmax(x)], "d5", key="argmax")
E("x[np.argmin(x, axis=0), range]", lambda x: x[np.argmin(x, axis=0), np.arange(4)], "d3x4",
  key="argmin")
E("x[np.argsort(x)]", lambda x: x[np.argsort(x)], "d5", key="argsort")
E("x.argmax() index", lambda x: x[x.argmax()], "d5", key="argmax")
E("np.take", lambda x: np.take(x, IDX), "r5")
E("np.take(axis=1)", lambda x: np.take(x, [2, 0], axis=1), "r3x4", key="take")
E("np.take_along_axis", lambda x: np.take_along_axis(x, np.array([[0], [2], [1]]), axis=1),
  "r3x4")
E("np.take_along_axis(argsort)", lambda x: np.take_along_axis(x, np.argsort(x, axis=1), axis=1),
  "d3x4", key="argsort")
E("np.compress", lambda x: np.compress([True, False, True, True, False], x), "r5")
E("np.extract(constant)", lambda x: np.extract(MASK, x), "r5", key="extract")
E("np.put on a copy", lambda x: (lambda y: (np.put(y, [0, 2], x[:2] * 3), y)[1])(x.copy()), "r5",
  key="put")
E("np.add.at on a copy", lambda x: (lambda y: (np.add.at(y, IDX[:3], x[:3]), y)[1])(x.copy()),
  "r5", key="at")
E("y[i] = v on a copy", lambda x: (lambda y: (y.__setitem__(1, x[0] ** 2), y)[1])(x.copy()), "r5",
  key="setitem")
E("y[mask] = 0 on a copy", lambda x: (lambda y: (y.__setitem__(MASK, 0.0), y)[1])(x.copy()), "r5",
  key="setitem")
E("np.searchsorted of constants", lambda x: x[np.searchsorted(EDGES, 0.5)], "r5",
  key="searchsorted")
E("x[np.searchsorted(edges, x)]", lambda x: x[np.searchsorted(EDGES, x[:3])], "r5",
  key="searchsorted")
E("np.diagonal", lambda x: np.diagonal(x), "r3x4")
E("np.diagonal(offset=1)", lambda x: np.diagonal(x, offset=1), "r3x4", key="diagonal")
E("np.trace", lambda x: np.trace(x), "r3x3")
E("np.trace(offset=-1)", lambda x: np.trace(x, offset=-1), "r3x3", key="trace")

# -- sorting and selection ------------------------------------------------------------------
group("sorting")
E("np.sort", lambda x: np.sort(x), "d6")
E("np.sort(axis=0)", lambda x: np.sort(x, axis=0), "d3x4", key="sort")
E("np.sort(axis=None)", lambda x: np.sort(x, axis=None), "d3x4", key="sort")
E("-np.sort(-x)", lambda x: -np.sort(-x), "d6", key="sort")
E("np.partition", lambda x: np.partition(x, 2)[:3], "d6", key="partition")
E("np.max of a sorted slice", lambda x: np.sort(x)[-3:].sum(), "d6", key="sort")
E("np.unique values (constant)", lambda x: x * np.unique(np.array([1.0, 2.0, 1.0])).sum(), "r5",
  key="unique")

# -- linear algebra -----------------------------------------------------------------------------
group("linear algebra")
E("np.dot", lambda a, b: np.dot(a, b), "r3x4", "r4x2")
E("np.dot(A, v)", lambda a, b: np.dot(a, b), "r3x4", "r4", key="dot")
E("A.dot(B)", lambda a, b: a.dot(b), "r3x4", "r4x2", key="dot")
E("np.dot of 3-D", lambda a, b: np.dot(a, b), "r2x3x4", "r4x2", key="dot")
E("np.vdot", lambda u, v: np.vdot(u, v), "r4", "r4")
E("np.inner", lambda u, v: np.inner(u, v), "r4", "r4")
E("np.inner of 2-D", lambda a, b: np.inner(a, b), "r3x4", "r2x4", key="inner")
E("np.matmul", lambda a, b: np.matmul(a, b), "r3x4", "r4x2")
E("np.matmul batched", lambda a, b: np.matmul(a, b), "r2x3x4", "r4x2", key="matmul")
E("np.tensordot", lambda a, b: np.tensordot(a, b, axes=1), "r3x4", "r4x2")
E("np.tensordot(axes=2)", lambda a, b: np.tensordot(a, b), "r3x4", "r3x4", key="tensordot")
E("np.tensordot(axes pairs)", lambda a, b: np.tensordot(a, b, axes=([0], [1])), "r3x4", "r2x3",
  key="tensordot")
E("np.einsum('ij,jk->ik')", lambda a, b: np.einsum("ij,jk->ik", a, b), "r3x4", "r4x2",
  key="einsum")
E("np.einsum('ij,jk')", lambda a, b: np.einsum("ij,jk", a, b), "r3x4", "r4x2", key="einsum")
E("np.einsum('ii')", lambda a: np.einsum("ii", a), "r3x3", key="einsum")
E("np.einsum('ii->i')", lambda a: np.einsum("ii->i", a), "r3x3", key="einsum")
E("np.einsum('ij->ji')", lambda a: np.einsum("ij->ji", a), "r3x4", key="einsum")
E("np.einsum('ij->')", lambda a: np.einsum("ij->", a), "r3x4", key="einsum")
E("np.einsum('i,i->')", lambda u, v: np.einsum("i,i->", u, v), "r4", "r4", key="einsum")
E("np.einsum('i,j->ij')", lambda u, v: np.einsum("i,j->ij", u, v), "r3", "r4", key="einsum")
E("np.einsum('bij,bjk->bik')", lambda a, b: np.einsum("bij,bjk->bik", a, b), "r2x3x4", "r2x4x2",
  key="einsum")
E("np.einsum('...ij,...jk')", lambda a, b: np.einsum("...ij,...jk", a, b), "r2x3x4", "r2x4x2",
  key="einsum")
E("np.einsum('ij,ij->i')", lambda a, b: np.einsum("ij,ij->i", a, b), "r3x4", "r3x4", key="einsum")
E("np.einsum('ij,j,k->ik')", lambda a, u, v: np.einsum("ij,j,k->ik", a, u, v), "r3x4", "r4", "r2",
  key="einsum")
E("np.einsum(optimize=True)", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize=True),
  "r3x4", "r4x2", "r2x3", key="einsum")
E("np.kron(vectors)", lambda u, v: np.kron(u, v), "r3", "r2", key="kron")
E("np.cross", lambda u, v: np.cross(u, v), "r3", "r3")
E("np.cross batched", lambda u, v: np.cross(u, v), "r4x3", "r4x3", key="cross")
E("np.linalg.solve", lambda a, b: np.linalg.solve(a, b), "w3x3", "r3")
E("np.linalg.solve(matrix rhs)", lambda a, b: np.linalg.solve(a, b), "w3x3", "r3x2", key="solve")
E("np.linalg.solve batched", lambda a, b: np.linalg.solve(a, b[..., None])[..., 0], "w2x3x3",
  "r2x3", key="solve")
E("np.linalg.inv", lambda a: np.linalg.inv(a), "w3x3")
E("np.linalg.inv batched", lambda a: np.linalg.inv(a), "w2x3x3", key="inv")
E("np.linalg.det", lambda a: np.linalg.det(a), "w3x3")
E("np.linalg.det batched", lambda a: np.linalg.det(a), "w2x3x3", key="det")
E("np.linalg.slogdet", lambda a: np.linalg.slogdet(a)[1], "w3x3")
E("np.linalg.slogdet sign*exp", lambda a: (lambda s, l: s * np.exp(l))(*np.linalg.slogdet(a)),
  "w3x3", key="slogdet")
E("np.linalg.cholesky", lambda a: np.linalg.cholesky(a), "spd3x3")
E("np.linalg.eigh values", lambda a: np.linalg.eigh(a)[0], "sym3x3", key="eigh")
E("np.linalg.eigh vectors", lambda a: np.abs(np.linalg.eigh(a)[1]), "sym3x3", key="eigh")
E("np.linalg.eigvalsh", lambda a: np.linalg.eigvalsh(a), "sym3x3")
E("np.linalg.svd values", lambda a: np.linalg.svd(a, compute_uv=False), "r3x4", key="svd")
E("np.linalg.svd full", lambda a: (lambda u, s, vt: u @ np.diag(s) @ vt[:3])(
    *np.linalg.svd(a, full_matrices=False)), "r3x4", key="svd")
E("np.linalg.svdvals", lambda a: np.linalg.svdvals(a), "r3x4")
E("np.linalg.qr R", lambda a: np.abs(np.linalg.qr(a)[1]), "w3x3", key="qr")
E("np.linalg.qr Q@R", lambda a: np.linalg.qr(a)[0] @ np.linalg.qr(a)[1], "w3x3", key="qr")
E("np.linalg.lstsq", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], "r5x3", "r5")
E("np.linalg.pinv", lambda a: np.linalg.pinv(a), "r3x4")
E("np.linalg.matrix_power", lambda a: np.linalg.matrix_power(a, 3), "r3x3")
E("np.linalg.matrix_power(-1)", lambda a: np.linalg.matrix_power(a, -2), "w3x3",
  key="matrix_power")
E("np.linalg.multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c]), "r3x4", "r4x2", "r2x3")
E("np.linalg.matrix_transpose", lambda a: np.linalg.matrix_transpose(a), "r2x3x4")
E("np.linalg.outer", lambda u, v: np.linalg.outer(u, v), "r3", "r4")
E("np.linalg.trace", lambda a: np.linalg.trace(a), "r3x3")
E("np.linalg.diagonal", lambda a: np.linalg.diagonal(a), "r2x3x3")
E("np.linalg.vecdot", lambda u, v: np.linalg.vecdot(u, v), "r3x4", "r3x4")
E("np.linalg.tensorsolve-free cond", lambda a: np.linalg.cond(a), "w3x3", key="cond")
E("np.linalg.eig", lambda a: np.real(np.linalg.eig(a)[0]), "sym3x3", key="eig")
E("scipy.linalg.solve_triangular", lambda a, b: sla.solve_triangular(a, b, lower=True),
  "tri3x3", "r3")
E("scipy.linalg.cho_solve", lambda a, b: sla.cho_solve(sla.cho_factor(a), b), "spd3x3", "r3")
E("scipy.linalg.cho_solve(lower=True)", lambda a, b: sla.cho_solve((np.linalg.cholesky(a), True),
                                                                    b), "spd3x3", "r3",
  key="cho_solve")
E("scipy.linalg.solve", lambda a, b: sla.solve(a, b), "w3x3", "r3")
E("scipy.linalg.inv", lambda a: sla.inv(a), "w3x3")
E("scipy.linalg.det", lambda a: sla.det(a), "w3x3")
E("scipy.linalg.cholesky", lambda a: sla.cholesky(a, lower=True), "spd3x3")
E("scipy.linalg.expm", lambda a: sla.expm(a), "u3x3")
E("scipy.linalg.eigh", lambda a: sla.eigh(a)[0], "sym3x3")

# -- numerics --------------------------------------------------------------------------------------
group("numerics")
E("np.convolve", lambda u, v: np.convolve(u, v), "r5", "r3")
E("np.convolve(mode='same')", lambda u, v: np.convolve(u, v, mode="same"), "r5", "r3",
  key="convolve")
E("np.convolve(mode='valid')", lambda u, v: np.convolve(u, v, "valid"), "r5", "r3",
  key="convolve")
E("np.correlate", lambda u, v: np.correlate(u, v), "r5", "r3")
E("np.correlate(mode='full')", lambda u, v: np.correlate(u, v, mode="full"), "r5", "r3",
  key="correlate")
E("np.interp(traced y)", lambda y: np.interp(np.array([-1.5, 0.1, 1.9]), XP, y), "r7",
  key="interp")
E("np.interp(traced x)", lambda x: np.interp(x, XP, np.sin(XP)), "u4", key="interp")
E("np.polyval", lambda c, x: np.polyval(c, x), "r4", "r5")
E("np.polyfit", lambda y: np.polyfit(np.linspace(0, 1, 6), y, 2), "r6")
E("np.polynomial.polynomial.polyval", lambda c, x: np.polynomial.polynomial.polyval(x, c), "r4",
  "r5", key="polyval")
E("np.fft.fft (abs)", lambda x: np.abs(np.fft.fft(x)), "r6", key="fft")
E("np.fft.rfft (real)", lambda x: np.real(np.fft.rfft(x)), "r6", key="rfft")
E("np.fft.irfft", lambda x: np.fft.irfft(np.fft.rfft(x)), "r6", key="rfft")
E("np.fft.ifft (real)", lambda x: np.real(np.fft.ifft(x)), "r6", key="ifft")
E("np.isclose-weighted", lambda x: np.where(np.isclose(x, 0.5), 0.0, x), "r5", key="where")
E("np.sqrt(np.sum(x**2))", lambda x: np.sqrt(np.sum(x ** 2)), "r5", key="sqrt")
E("np.exp(-x**2 / 2).sum()", lambda x: np.exp(-x ** 2 / 2).sum(), "r5", key="exp")
E("x.T @ A @ x", lambda a, x: x.T @ a @ x, "r3x3", "r3", key="matmul")
E("logistic loss", lambda w, X: np.mean(np.log1p(np.exp(-(X @ w)))), "r3", "r5x3", key="log1p")

# -- scipy ------------------------------------------------------------------------------------------
group("scipy.special")
E("scipy.special.logsumexp", lambda x: special.logsumexp(x), "r5")
E("scipy.special.logsumexp(axis=1)", lambda x: special.logsumexp(x, axis=1), "r3x4",
  key="logsumexp")
E("scipy.special.logsumexp(keepdims)", lambda x: special.logsumexp(x, axis=0, keepdims=True),
  "r3x4", key="logsumexp")
E("scipy.special.logsumexp(b=)", lambda x: special.logsumexp(x, b=np.arange(1.0, 6.0)), "r5",
  key="logsumexp")
E("scipy.special.softmax", lambda x: special.softmax(x), "r5")
E("scipy.special.softmax(axis=1)", lambda x: special.softmax(x, axis=1), "r3x4", key="softmax")
E("scipy.special.log_softmax", lambda x: special.log_softmax(x, axis=-1), "r3x4")
for _name, _dom in [("expit", "r"), ("logit", "h"), ("gammaln", "p"), ("digamma", "p"),
                    ("psi", "p"), ("erf", "r"), ("erfc", "r"), ("ndtr", "r"), ("log_ndtr", "r"),
                    ("gamma", "p"), ("entr", "p"), ("erfinv", "u"), ("ndtri", "h"),
                    ("log_expit", "r"), ("i0", "r"), ("sinc", "nz")]:
    if hasattr(special, _name):
        E(f"scipy.special.{_name}", (lambda n: lambda x: getattr(special, n)(x))(_name),
          f"{_dom}2x3")
for _name, _d1, _d2 in [("xlogy", "p", "p"), ("xlog1py", "p", "p"), ("betaln", "p", "p"),
                        ("rel_entr", "p", "p"), ("kl_div", "p", "p"), ("beta", "p", "p")]:
    E(f"scipy.special.{_name}", (lambda n: lambda x, y: getattr(special, n)(x, y))(_name),
      f"{_d1}4", f"{_d2}4")

group("scipy.stats")
E("scipy.stats.norm.logpdf", lambda x: stats.norm.logpdf(x), "r5")
E("scipy.stats.norm.logpdf(loc, scale)", lambda x, m: stats.norm.logpdf(x, m, 1.5), "r5", "r",
  key="logpdf")
E("scipy.stats.norm.pdf", lambda x: stats.norm.pdf(x, 0.5, 2.0), "r5")
E("scipy.stats.norm.cdf", lambda x: stats.norm.cdf(x), "r5")
E("scipy.stats.norm.logcdf", lambda x: stats.norm.logcdf(x), "r5")
E("scipy.stats.norm.sf", lambda x: stats.norm.sf(x), "r5")
E("scipy.stats.multivariate_normal.logpdf",
  lambda x: stats.multivariate_normal.logpdf(x, np.zeros(3), np.diag([1.0, 2.0, 0.5])), "r3")
E("scipy.stats.multivariate_normal.logpdf(rows)",
  lambda x, m: stats.multivariate_normal.logpdf(x, m, np.array([[2.0, 0.3, 0], [0.3, 1.0, 0.1],
                                                                [0, 0.1, 1.5]])),
  "r4x3", "r3", key="logpdf")
E("scipy.stats.t.logpdf", lambda x: stats.t.logpdf(x, 3.0), "r5")
E("scipy.stats.gamma.logpdf", lambda x: stats.gamma.logpdf(x, 2.0), "p5")

# -- ndarray methods -------------------------------------------------------------------------------
group("methods")
for _name, _dom, _kw in [("sum", "r", {}), ("mean", "r", {"axis": 0}), ("max", "d", {"axis": 1}),
                         ("min", "d", {}), ("prod", "nz", {"axis": 0}), ("std", "r", {}),
                         ("var", "r", {"axis": 1}), ("cumsum", "r", {"axis": 1}),
                         ("cumprod", "nz", {"axis": 0}),
                         ("ravel", "r", {}), ("flatten", "r", {}), ("copy", "r", {}),
                         ("squeeze", "r", {}), ("transpose", "r", {}), ("conj", "r", {}),
                         ("conjugate", "r", {}), ("round", "o", {}), ("trace", "r", {}),
                         ("diagonal", "r", {}),
                         ("repeat", "r", {"repeats": 2}), ("take", "r", {"indices": [0, 2]}),
                         ("clip", "d", {"min": -0.5, "max": 0.5}),
                         ("astype", "r", {"dtype": np.float64}),
                         ("dot", "r", {"b": np.ones((4, 2))}), ("all_of_sum", "r", {})]:
    if _name == "all_of_sum":
        continue
    if _name == "round":
        E(f"x.{_name}()", lambda x: x - x.round(), "o3x4", key="round")
        continue
    E(f"x.{_name}({', '.join(f'{k}=' for k in _kw)})",
      (lambda n, kw: lambda x: getattr(x, n)(**kw))(_name, _kw), f"{_dom}3x4", key=_name)
E("x.T", lambda x: x.T * 2, "r3x4", key="transpose")
E("x.real", lambda x: x.real * 2, "r5", key="real")
E("x.imag + x", lambda x: x.imag + x, "r5", key="imag")
E("x.sort() on a copy", lambda x: (lambda y: (y.sort(), y)[1])(x.copy()), "d5", key="sort")
E("x.argsort() index", lambda x: x[x.argsort()[::-1]], "d5", key="argsort")
E("x.reshape(3, 4)", lambda x: x.reshape(3, 4), "r12", key="reshape")
E("x.sum(axis=0, keepdims=True)", lambda x: x.sum(axis=0, keepdims=True), "r3x4", key="sum")
E("x.mean(axis=(0, 1))", lambda x: x.mean(axis=(0, 1)), "r2x3x4", key="mean")
E("x.max(initial=)", lambda x: x.max(initial=-5.0), "d5", key="max")
E("x.nonzero index", lambda x: x[(x > 0).nonzero()], "nz5", key="nonzero")
E("x.fill on a copy", lambda x: (lambda y: (y.fill(1.0), y * x)[1])(x.copy()), "r5", key="fill")
E("x.item() of a constant", lambda x: x * np.ones(3).sum().item(), "r5", key="item")
E("x.dot(v)", lambda x, v: x.dot(v), "r3x4", "r4", key="dot")
E("x.std(ddof=1)", lambda x: x.std(ddof=1), "r6", key="std")
E("x.var(keepdims)", lambda x: x.var(axis=0, keepdims=True), "r3x4", key="var")
E("x.norm-free np.linalg.norm(x.T)", lambda x: np.linalg.norm(x.T, axis=0), "r3x4", key="norm")
E("x.cumsum()", lambda x: x.cumsum(), "r5", key="cumsum")
E("x.flat sum", lambda x: np.sum(x.flatten()[::2]), "r3x4", key="flatten")
E("x.any-guarded", lambda x: x * 2 if (x > 0).any() else x, "r5", key="any")
E("x.all-guarded", lambda x: x * 2 if (x > -5).all() else x, "r5", key="all")
E("x.argmax(axis) index", lambda x: np.take_along_axis(x, x.argmax(axis=1)[:, None], axis=1),
  "d3x4", key="argmax")

# -- keyword variants and idioms ------------------------------------------------------------------
group("idioms")
E("np.sum(x * w, axis=-1)", lambda x, w: np.sum(x * w, axis=-1), "r3x4", "r4", key="sum")
E("np.mean((x - y) ** 2)", lambda x, y: np.mean((x - y) ** 2), "r5", "r5", key="mean")
E("np.max(x, axis=0, keepdims=True)", lambda x: np.max(x, axis=0, keepdims=True), "d3x4",
  key="max")
E("np.maximum(x, 0) (relu)", lambda x: np.maximum(x, 0), "nz5", key="maximum")
E("np.tanh(A @ x + b)", lambda a, x, b: np.tanh(a @ x + b), "r3x4", "r4", "r3", key="tanh")
E("softmax by hand", lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(), "r5", key="exp")
E("np.log(np.sum(np.exp(x)))", lambda x: np.log(np.sum(np.exp(x))), "r5", key="log")
E("np.linalg.norm(x - y, axis=1)", lambda x, y: np.linalg.norm(x - y, axis=1), "r3x4", "r3x4",
  key="norm")
E("np.einsum('i,ij,j', x, A, x)", lambda x, a: np.einsum("i,ij,j", x, a, x), "r3", "r3x3",
  key="einsum")
E("x.swapaxes(0, 1)", lambda x: x.swapaxes(0, 1), "r3x4", key="swapaxes")
E("x.astype(np.float32) values", lambda x: np.exp(x.astype(np.float32)).astype(np.float64) * 0 + x,
  "r5", key="astype")
E("x[:, 0] ** 2 + x[:, 1]", lambda x: x[:, 0] ** 2 + x[:, 1], "r4x2", key="index")
E("np.array(list comprehension)", lambda x: np.array([x[i] * x[i + 1] for i in range(4)]), "r5",
  key="array")
E("np.stack(list comprehension)", lambda x: np.stack([np.sin(x) * k for k in range(3)]), "r4",
  key="stack")
E("np.sum(generator)", lambda x: sum(x[i] ** 2 for i in range(3)), "r5", key="sum")
E("np.dot(x, x) (norm squared)", lambda x: np.dot(x, x), "r5", key="dot")
E("np.diff(x) ** 2 sum", lambda x: np.sum(np.diff(x) ** 2), "r6", key="diff")
E("np.cumsum(x)[-1]", lambda x: np.cumsum(x)[-1], "r6", key="cumsum")
E("np.sqrt(np.maximum(x, 1e-12))", lambda x: np.sqrt(np.maximum(x, 1e-12)), "p5", key="sqrt")
E("np.clip(x, 1e-6, 1)", lambda x: np.clip(x, 1e-6, 1.0), "h5", key="clip")
E("np.where(x > 0, np.log(x), 0)", lambda x: np.where(x > 0, np.log(np.abs(x)), 0.0), "nz5",
  key="where")
E("np.outer(x, x) - np.eye(n)", lambda x: np.outer(x, x) - np.eye(3), "r3", key="outer")
E("np.eye(3) * x", lambda x: np.eye(3) * x, "r3", key="multiply")
E("np.identity(3) @ x", lambda x: np.identity(3) @ x, "r3", key="matmul")
E("np.full(shape, traced)", lambda x: np.full((2, 2), x), "r", key="full")
E("np.zeros(n) + x", lambda x: np.zeros(5) + x, "r5", key="add")
E("np.arange(n) * x", lambda x: np.arange(5) * x, "r5", key="multiply")
E("np.linspace(0, 1, n) ** x", lambda x: np.linspace(0.1, 1, 5) ** x, "r", key="power")
E("np.sum(x, initial=1.0)", lambda x: np.sum(x, initial=1.0), "r5", key="sum")
E("np.prod(x, axis=-1, keepdims=True)", lambda x: np.prod(x, axis=-1, keepdims=True), "nz3x4",
  key="prod")
E("np.round(x, 2) straight-through", lambda x: x + (np.round(x, 2) - x) * 0.0, "o5", key="round")
E("x / np.linalg.norm(x)", lambda x: x / np.linalg.norm(x), "r5", key="norm")
E("np.triu(A, 1) + A.T", lambda a: np.triu(a, 1) + a.T, "r3x3", key="triu")
E("A[np.triu_indices(3)]", lambda a: a[np.triu_indices(3)], "r3x3", key="index")
E("A[np.tril_indices(3, -1)]", lambda a: a[np.tril_indices(3, -1)], "r3x3", key="index")
E("A[np.diag_indices(3)]", lambda a: a[np.diag_indices(3)], "r3x3", key="index")
E("np.ix_ indexing", lambda a: a[np.ix_([0, 2], [1, 3])], "r3x4", key="index")
E("np.unravel_index indexing", lambda a: a[np.unravel_index(5, (3, 4))], "r3x4", key="index")
E("x.reshape(-1, 2).sum(1)", lambda x: x.reshape(-1, 2).sum(1), "r6", key="reshape")
E("np.einsum('ij,kj->ik')", lambda a, b: np.einsum("ij,kj->ik", a, b), "r3x4", "r2x4",
  key="einsum")
E("np.concatenate(generator)", lambda x: np.concatenate([x[i:i + 2] for i in range(3)]), "r5",
  key="concatenate")
E("np.tensordot(axes=0)", lambda u, v: np.tensordot(u, v, axes=0), "r3", "r2", key="tensordot")
E("np.matmul(x, y.T)", lambda x, y: np.matmul(x, y.T), "r3x4", "r2x4", key="matmul")
E("np.sum(np.abs(x))", lambda x: np.sum(np.abs(x)), "nz5", key="abs")
E("np.linalg.solve(A, B).sum()", lambda a, b: np.linalg.solve(a, b).sum(), "w3x3", "r3x2",
  key="solve")
E("np.log(np.linalg.det(A))", lambda a: np.log(np.linalg.det(a)), "spd3x3", key="det")
E("x @ np.linalg.inv(A) @ x", lambda a, x: x @ np.linalg.inv(a) @ x, "spd3x3", "r3", key="inv")
E("np.sum(np.log(np.diag(L)))", lambda a: np.sum(np.log(np.diag(np.linalg.cholesky(a)))),
  "spd3x3", key="cholesky")
E("np.mean(x, where=)", lambda x: np.mean(x, where=MASK), "r5", key="mean")
E("np.std(x, axis=0, keepdims=True)", lambda x: np.std(x, axis=0, keepdims=True), "r3x4",
  key="std")


def census_names() -> list[str]:
    return [e.name for e in ENTRIES]


assert len(set(census_names())) == len(ENTRIES), "census names must be unique"


# -- keyword variants of the newer entries: values and gradients against NumPy's own ------------------
group("keyword variants")
E("np.linspace(endpoint=False)", lambda x: np.linspace(x[0], x[1], 4, endpoint=False), "r2",
  key="linspace")
E("np.linspace(retstep=True)", lambda x: np.linspace(x[0], x[1], 4, retstep=True)[1] * x, "r2",
  key="linspace")
E("np.linspace(vector ends, axis=1)", lambda x, y: np.linspace(x, y, 3, axis=1), "r2", "r2",
  key="linspace")
E("np.roll(tuple shifts)", lambda x: np.roll(x, (1, -2), axis=(0, 1)), "r3x4", key="roll")
E("np.pad(per-axis widths, edge)", lambda x: np.pad(x, ((2, 0), (1, 3)), mode="edge"), "r2x3",
  key="pad")
E("np.pad(reflect, wide)", lambda x: np.pad(x, (3, 4), mode="reflect"), "r3", key="pad")
E("np.pad(symmetric, 2-D)", lambda x: np.pad(x, 2, mode="symmetric"), "r2x3", key="pad")
E("np.pad(wrap, wide)", lambda x: np.pad(x, (5, 1), mode="wrap"), "r3", key="pad")
E("np.repeat(array repeats)", lambda x: np.repeat(x, [1, 0, 3]), "r3", key="repeat")
E("np.tile(reps longer than ndim)", lambda x: np.tile(x, (2, 2, 1)), "r2x3", key="tile")
E("np.diff(append=)", lambda x: np.diff(x, append=[1.0, 2.0]), "r5", key="diff")
E("np.diff(n=3, axis=0)", lambda x: np.diff(x, n=3, axis=0), "r5x2", key="diff")
E("np.gradient of 2-D (tuple)", lambda x: np.gradient(x)[0] * np.gradient(x)[1], "r3x4",
  key="gradient")
E("np.cumsum(dtype=float32)", lambda x: np.cumsum(x, dtype=np.float32).astype(np.float64) * 0
  + np.cumsum(x), "r5", key="cumsum")
E("np.cumprod(axis=None, 2-D)", lambda x: np.cumprod(x), "nz2x3", key="cumprod")
E("np.einsum('...i,...i->...')", lambda a, b: np.einsum("...i,...i->...", a, b), "r2x3x4",
  "r3x4", key="einsum")
E("np.einsum('ij,ij')", lambda a, b: np.einsum("ij,ij", a, b), "r3x4", "r3x4", key="einsum")
E("np.einsum('iij->j')", lambda a: np.einsum("iij->j", a), "r3x3x2", key="einsum")
E("np.einsum('i,i,i')", lambda u, v, w: np.einsum("i,i,i", u, v, w), "r4", "r4", "r4",
  key="einsum")
E("np.einsum('ijk->kji')", lambda a: np.einsum("ijk->kji", a), "r2x3x4", key="einsum")
E("np.take(negative indices)", lambda x: np.take(x, [-1, 0, -2]), "r5", key="take")
E("np.take(2-D indices, axis=0)", lambda x: np.take(x, [[0, 2], [1, 1]], axis=0), "r3x2",
  key="take")
E("np.delete(slice)", lambda x: np.delete(x, slice(1, 4, 2)), "r6", key="delete")
E("np.insert(negative position, axis=0)", lambda x: np.insert(x, -1, 5.0, axis=0), "r3x2",
  key="insert")
E("np.array_split(uneven, axis=1)", lambda x: np.array_split(x, 3, axis=1)[0], "r2x4",
  key="array_split")
E("np.meshgrid(sparse=True)", lambda u, v: np.meshgrid(u, v, sparse=True)[0]
  + np.meshgrid(u, v, sparse=True)[1], "r3", "r4", key="meshgrid")
E("np.meshgrid(three inputs)", lambda u, v, w: np.meshgrid(u, v, w)[2], "r2", "r3", "r2",
  key="meshgrid")
E("np.cov(x, y)", lambda x, y: np.cov(x, y), "r5", "r5", key="cov")
E("np.cov(bias=True)", lambda x: np.cov(x, bias=True), "r2x5", key="cov")
E("np.cov(ddof=0)", lambda x: np.cov(x, ddof=0), "r2x5", key="cov")
E("np.corrcoef(x, y)", lambda x, y: np.corrcoef(x, y), "r5", "r5", key="corrcoef")
E("np.average(returned=True)", lambda x: np.average(x, axis=1, weights=[1.0, 2.0, 3.0],
                                                   returned=True)[0], "r2x3", key="average")
E("np.average(keepdims=True)", lambda x: np.average(x, axis=0, keepdims=True), "r2x3",
  key="average")
E("np.kron(2-D, 3-D)", lambda a, b: np.kron(a, b), "r2x2", "r2x1x2", key="kron")
E("np.cross(axis=0)", lambda u, v: np.cross(u, v, axis=0), "r3x2", "r3x2", key="cross")
E("np.interp(left=, right=)", lambda y: np.interp(np.array([-3.0, 0.3, 3.0]), XP, y, left=-1.0,
                                                  right=2.0), "r7", key="interp")
E("np.interp(traced x and y)", lambda x, y: np.interp(x, XP, y), "u3", "r7", key="interp")
E("np.convolve(short first)", lambda u, v: np.convolve(u, v), "r2", "r5", key="convolve")
E("np.correlate(mode='same')", lambda u, v: np.correlate(u, v, "same"), "r5", "r3",
  key="correlate")
E("np.correlate(short first, full)", lambda u, v: np.correlate(u, v, "full"), "r2", "r4",
  key="correlate")
E("np.polyval(scalar x)", lambda c, x: np.polyval(c, x), "r4", "r", key="polyval")
E("np.percentile(keepdims=True)", lambda x: np.percentile(x, 40.0, axis=1, keepdims=True),
  "d3x5", key="percentile")
E("np.quantile(array q, axis=(0, 1))", lambda x: np.quantile(x, [0.1, 0.5, 0.95], axis=(0, 1)),
  "d2x3x2", key="quantile")
E("np.median(axis=(0, 2))", lambda x: np.median(x, axis=(0, 2)), "d2x3x2", key="median")
E("np.sort(kind='stable')", lambda x: np.sort(x, kind="stable"), "d6", key="sort")
E("np.argsort(axis=0) gather", lambda x: np.take_along_axis(x, np.argsort(x, axis=0), axis=0),
  "d4x3", key="argsort")
E("np.select(array default)", lambda x, y: np.select([x > 0.5], [x], default=y), "d5", "r5",
  key="select")
E("np.choose(broadcast)", lambda x, y: np.choose(np.array([[0], [1]]), [x, y]), "r3", "r3",
  key="choose")
E("np.linalg.norm(A, -2)", lambda a: np.linalg.norm(a, -2), "r4x3", key="norm")
E("np.linalg.norm(axis=(1, 0))", lambda a: np.linalg.norm(a, 1, axis=(1, 0)), "d3x4",
  key="norm")
E("np.linalg.matrix_norm(ord=2) batched", lambda a: np.linalg.matrix_norm(a, ord=2), "r2x3x4",
  key="matrix_norm")
E("np.linalg.matrix_norm(ord='nuc')", lambda a: np.linalg.matrix_norm(a, ord="nuc"), "r4x3",
  key="matrix_norm")
E("np.linalg.vector_norm(ord=1, keepdims)", lambda x: np.linalg.vector_norm(x, ord=1,
                                                                           keepdims=True),
  "nz3x4", key="vector_norm")
E("np.linalg.svd(square, full)", lambda a: (lambda u, s, vt: (u * s) @ vt)(*np.linalg.svd(a)),
  "w3x3", key="svd")
E("np.linalg.svd(wide)", lambda a: (lambda u, s, vt: u @ np.diag(s) @ vt)(
    *np.linalg.svd(a, full_matrices=False)), "r3x5", key="svd")
E("np.linalg.qr(mode='r')", lambda a: np.abs(np.linalg.qr(a, mode="r")), "r5x3", key="qr")
E("np.linalg.qr tall Q@R", lambda a: (lambda q, r: q @ r)(*np.linalg.qr(a)), "r5x3", key="qr")
E("np.linalg.solve(batched matrices)", lambda a, b: np.linalg.solve(a, b), "w2x3x3", "r2x3x2",
  key="solve")
E("np.linalg.cholesky(upper=True)", lambda a: np.linalg.cholesky(a, upper=True), "spd3x3",
  key="cholesky")
E("np.linalg.eigh(UPLO='U')", lambda a: np.linalg.eigh(a, UPLO="U")[0], "sym3x3", key="eigh")
E("np.linalg.eigh batched", lambda a: np.linalg.eigvalsh(np.stack([a, 2 * a])), "sym3x3",
  key="eigvalsh")
E("np.linalg.pinv(wide)", lambda a: np.linalg.pinv(a), "r2x4", key="pinv")
E("np.linalg.lstsq residuals", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[1], "r5x3", "r5",
  key="lstsq")
E("np.linalg.lstsq(matrix rhs)", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], "r5x3",
  "r5x2", key="lstsq")
E("np.linalg.matrix_power(0)", lambda a: np.linalg.matrix_power(a, 0) * a, "r3x3",
  key="matrix_power")
E("np.polyfit(deg=3)", lambda y: np.polyfit(np.linspace(-1, 1, 8), y, 3), "r8", key="polyfit")
E("np.tensordot(axes=([1, 0], [0, 1]))", lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 1])),
  "r3x4", "r4x3", key="tensordot")
E("np.inner(3-D, 1-D)", lambda a, b: np.inner(a, b), "r2x3x4", "r4", key="inner")
E("np.dot(1-D, 3-D)", lambda a, b: np.dot(a, b), "r3", "r2x3x4", key="dot")
E("np.trace(3-D, axis1=1, axis2=2)", lambda a: np.trace(a, axis1=1, axis2=2), "r2x3x3",
  key="trace")
E("np.diag(A, k=-1)", lambda a: np.diag(a, k=-1), "r4x4", key="diag")
E("np.triu(batched, k=1)", lambda a: np.triu(a, 1), "r2x3x4", key="triu")
E("np.vander(N=None)", lambda v: np.vander(v), "r3", key="vander")
E("np.nan_to_num(nan=)", lambda x: np.nan_to_num(x, nan=1.0, posinf=3.0), "r5",
  key="nan_to_num")
E("np.round(decimals=-1)", lambda x: x - np.round(x * 10, -1) / 10, "o5", key="round")
E("np.clip(a_max only)", lambda x: np.clip(x, None, 0.5), "d5", key="clip")
E("np.logaddexp.reduce(axis=1)", lambda x: np.logaddexp.reduce(x, axis=1), "r3x4",
  key="logaddexp")
E("np.add.accumulate(axis=1)", lambda x: np.add.accumulate(x, axis=1), "r3x4",
  key="accumulate")
E("np.minimum.accumulate", lambda x: np.minimum.accumulate(x), "d6", key="accumulate")
E("np.trapezoid(2-D x)", lambda y, x: np.trapezoid(y, x, axis=1), "r3x4", "r3x4",
  key="trapezoid")
E("np.ediff1d(to_begin, to_end)", lambda x: np.ediff1d(x, to_begin=[0.5], to_end=[1.0, 2.0]),
  "r4", key="ediff1d")
E("scipy.special.logsumexp(axis=(0, 1))", lambda x: special.logsumexp(x, axis=(0, 1)), "r2x3x2",
  key="logsumexp")
E("scipy.special.softmax(axis=None)", lambda x: special.softmax(x), "r3x4", key="softmax")
E("scipy.special.xlogy with zeros", lambda x, y: special.xlogy(x * (x > 1), y), "p4", "p4",
  key="xlogy")
E("scipy.stats.norm.logsf", lambda x: stats.norm.logsf(x, 0.2, 1.3), "r5", key="logsf")
E("scipy.linalg.solve_triangular(upper, trans='T')",
  lambda a, b: sla.solve_triangular(a.T, b, lower=False, trans="T"), "tri3x3", "r3x2",
  key="solve_triangular")
E("scipy.linalg.solve_triangular(unit_diagonal)",
  lambda a, b: sla.solve_triangular(a, b, lower=True, unit_diagonal=True), "tri3x3", "r3",
  key="solve_triangular")
E("scipy.linalg.cho_factor(lower=True)", lambda a, b: sla.cho_solve(sla.cho_factor(a, lower=True),
                                                                    b), "spd3x3", "r3",
  key="cho_factor")
E("scipy.linalg.cholesky(upper)", lambda a: sla.cholesky(a), "spd3x3", key="cholesky")
E("scipy.linalg.eigh(eigvals_only=True)", lambda a: sla.eigh(a, eigvals_only=True), "sym3x3",
  key="eigh")
E("x.cumprod()", lambda x: x.cumprod(), "nz5", key="cumprod")
E("x.mT", lambda x: x.mT * 2, "r2x3x4", key="mT")
E("x.partition(2) on a copy", lambda x: (lambda y: (y.partition(2), y)[1])(x.copy()), "d5",
  key="partition")
E("x.put on a copy", lambda x: (lambda y: (y.put([1, 3], x[:2] * 2), y)[1])(x.copy()), "r5",
  key="put")
E("np.fill_diagonal(wrap vector)", lambda a, v: (lambda b: (np.fill_diagonal(b, v), b)[1])(
    a.copy()), "r3x3", "r3", key="fill_diagonal")
E("np.where(traced condition only via select)", lambda x: np.select([x < 0], [-x], x), "nz5",
  key="select")

"""Property-based tests: random NumPy programs, broadcasting, retraces.

Hypothesis draws small NumPy programs (``programs``: 3-8 steps, each an
elementwise op, an op with a Python scalar, where, a reduction, matmul,
indexing, setitem, concatenate, transpose, reshape or a Python branch) over
one to three inputs of mutually broadcastable shapes, and the values to run
them on. For every draw:

- ``sg.jit`` of the program on the interpreter equals the program on NumPy,
  also in NumPy's dtypes when inputs mix float32 and float64;
- its derivatives (``jvp``, ``vjp``, ``sg.grad`` of a weighted sum, and the
  gradient's own derivatives) equal central finite differences, away from
  the points where they do not exist;
- the Numba kernel of value and gradient equals the interpreter on the same graph;
- the eager API (Tensors, ``.backward()``) gives ``sg.grad``'s gradients;
- the gradient of ``sum(x op y)`` has each input's shape (broadcasting reversed);
- guards send every call down the path NumPy takes (branches and loops),
  tracing each (signature, path) once.

Runs are reproducible (``derandomize=True``); a failure prints the program
as the NumPy source it runs. Compiled properties draw few examples: each
new program is a Numba compilation (kernels are cached on disk).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import tempfile
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

os.environ.setdefault("STATICGRAD_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"staticgrad-tests-{os.getuid()}"))

import staticgrad as sg  # noqa: E402
from compiler.codegen import compile_graph  # noqa: E402
from compiler.interpreter import Interpreter  # noqa: E402

# Every intermediate value of a drawn program stays below this in magnitude,
# so finite differences (step ~6e-6 |x|) keep about five correct digits.
BOUND = 100.0
# Finite differences are checked only where every kink (maximum, minimum,
# where, clip, abs, max/min reductions, branches) is at least this far away:
# no step crosses one.
KINK_MARGIN = 1e-3


@contextlib.contextmanager
def backend(name: str):
    saved = sg.config.backend
    sg.config.backend = name
    try:
        yield
    finally:
        sg.config.backend = saved


# -- programs -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Step:
    """``v_n = fun(*operands)``: plain NumPy, so it runs on arrays and on traced values."""

    text: str                     # the NumPy source, with {0}, {1}, ... for the operands
    fun: Callable
    operands: tuple[int, ...]     # variable numbers (inputs first, then steps)
    kink: Callable | None = None  # operands -> distance to the nearest non-differentiable point


@dataclasses.dataclass(frozen=True)
class Program:
    shapes: tuple[tuple[int, ...], ...]   # of the inputs
    steps: tuple[Step, ...]

    def __call__(self, *xs):
        env = list(xs)
        for step in self.steps:
            env.append(step.fun(*(env[i] for i in step.operands)))
        return env[-1]

    def kink_distance(self, *xs) -> float:
        """How far the NumPy run of the program stays from every kink."""
        env, distance = list(xs), math.inf
        for step in self.steps:
            operands = [env[i] for i in step.operands]
            if step.kink is not None:
                distance = min(distance, float(step.kink(*operands)))
            env.append(step.fun(*operands))
        return distance

    def __repr__(self) -> str:
        n = len(self.shapes)
        lines = [f"def program({', '.join(f'v{i}' for i in range(n))}):  # shapes {self.shapes}"]
        for k, step in enumerate(self.steps):
            lines.append(f"    v{n + k} = " + step.text.format(*(f"v{i}" for i in step.operands)))
        lines.append(f"    return v{n + len(self.steps) - 1}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # hypothesis reports the source, not the fields
        printer.text(repr(self))


@dataclasses.dataclass(frozen=True)
class Var:
    shape: tuple[int, ...]
    bound: float                  # of |value|


def _gap(a, b) -> float:
    return float(np.min(np.abs(a - b), initial=math.inf))


UNARY = [  # (text, fun, bound of the result given the operand's, kink)
    ("np.sin({0})", np.sin, lambda b: 1.0, None),
    ("np.cos({0})", np.cos, lambda b: 1.0, None),
    ("np.tanh({0})", np.tanh, lambda b: 1.0, None),
    ("np.exp(np.clip({0}, -3.0, 3.0))", lambda a: np.exp(np.clip(a, -3.0, 3.0)),
     lambda b: math.exp(min(b, 3.0)), lambda a: min(_gap(a, 3.0), _gap(a, -3.0))),
    ("np.log1p({0} * {0})", lambda a: np.log1p(a * a), lambda b: math.log1p(b * b), None),
    ("np.sqrt({0} * {0} + 1.0)", lambda a: np.sqrt(a * a + 1.0),
     lambda b: math.sqrt(b * b + 1.0), None),
    ("-{0}", lambda a: -a, lambda b: b, None),
    ("np.abs({0})", np.abs, lambda b: b, lambda a: _gap(a, 0.0)),
    ("np.arcsinh({0})", np.arcsinh, math.asinh, None),
    ("np.cbrt({0} * {0} + 1.0)", lambda a: np.cbrt(a * a + 1.0),
     lambda b: (b * b + 1.0) ** (1 / 3), None),
    ("np.flip({0})", np.flip, lambda b: b, None),
    ("np.roll({0}, 1)", lambda a: np.roll(a, 1), lambda b: b, None),
]

BINARY = [  # the same, with two operands
    ("{0} + {1}", lambda a, b: a + b, lambda p, q: p + q, None),
    ("{0} - {1}", lambda a, b: a - b, lambda p, q: p + q, None),
    ("{0} * {1}", lambda a, b: a * b, lambda p, q: p * q, None),
    ("{0} / (1.0 + {1} * {1})", lambda a, b: a / (1.0 + b * b), lambda p, q: p, None),
    ("np.maximum({0}, {1})", np.maximum, max, _gap),
    ("np.minimum({0}, {1})", np.minimum, max, _gap),
    ("np.hypot({0}, {1})", np.hypot, lambda p, q: p + q,
     lambda a, b: float(np.min(np.hypot(a, b), initial=math.inf))),
    ("np.logaddexp({0}, {1})", np.logaddexp, lambda p, q: max(p, q) + math.log(2), None),
]

REDUCTIONS = [  # (name, bound given the operand's and the reduced size, kink of the values)
    ("sum", lambda b, n: b * n, None),
    ("mean", lambda b, n: b, None),
    ("prod", lambda b, n: b ** n, None),
    ("max", lambda b, n: b, lambda top: top[-1] - top[-2]),
    ("min", lambda b, n: b, lambda top: top[1] - top[0]),
]

SCALAR = [  # (text with {c} the constant, fun, bound given the operand's and |c|)
    ("{0} * {c}", lambda a, c: a * c, lambda b, c: b * c),
    ("{0} + {c}", lambda a, c: a + c, lambda b, c: b + c),
    ("{c} - {0}", lambda a, c: c - a, lambda b, c: b + c),
    ("{c} / (1.0 + {0} * {0})", lambda a, c: c / (1.0 + a * a), lambda b, c: c),
    ("{0} ** 2", lambda a, c: a ** 2, lambda b, c: b ** 2),
    ("{0} ** 3", lambda a, c: a ** 3, lambda b, c: b ** 3),
]

COMPARISONS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}


def _broadcasts(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def _matmul_shape(p, q):
    try:
        return np.matmul(np.zeros(p), np.zeros(q)).shape
    except ValueError:
        return None


def setitem(p, index, r):
    """``p`` with ``p[index] = r``, on a copy (the functional form traced code uses)."""
    q = p.copy()
    q[index] = r
    return q


def _bounded(step: Step, result: Var):
    return (step, result) if result.bound <= BOUND else None


@st.composite
def _slice(draw, n: int) -> slice:
    """A non-empty slice of range(n), either direction, bounds maybe negative."""
    i, j = sorted(draw(st.lists(st.integers(0, n), min_size=2, max_size=2, unique=True)))
    step = draw(st.sampled_from([1, 2, -1, -2]))
    start, stop = (i, j) if step > 0 else (j - 1, i - 1 if i else None)
    if draw(st.booleans()):  # the same bounds counted from the end
        start, stop = (v - n if v is not None and 0 <= v < n else v for v in (start, stop))
    return slice(start, stop, step)


@st.composite
def _basic_index(draw, shape: tuple) -> tuple:
    index = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        index.append(draw(st.integers(-n, n - 1) if draw(st.integers(0, 3)) == 0 else _slice(n)))
    return tuple(index)


# Each builder makes a step on variable ``env[i]`` (and maybe others), or
# returns None when it does not apply to it.

def _unary(draw, env, i):
    text, fun, bound, kink = draw(st.sampled_from(UNARY))
    return _bounded(Step(text, fun, (i,), kink), Var(env[i].shape, bound(env[i].bound)))


def _partners(env, *shapes):
    """Variables broadcasting with all of ``shapes`` (a variable does with its own)."""
    return [j for j, v in enumerate(env) if _broadcasts(v.shape, *shapes)]


def _binary(draw, env, i):
    text, fun, bound, kink = draw(st.sampled_from(BINARY))
    a = env[i]
    j = draw(st.sampled_from(_partners(env, a.shape)))
    result = Var(np.broadcast_shapes(a.shape, env[j].shape), bound(a.bound, env[j].bound))
    # An operand against itself (np.maximum(v, v)) has no kink to cross.
    return _bounded(Step(text, fun, (i, j), kink if i != j else None), result)


def _scalar(draw, env, i):
    text, fun, bound = draw(st.sampled_from(SCALAR))
    c = draw(st.floats(-2, 2, allow_subnormal=False))
    step = Step(text.replace("{c}", repr(c)), lambda a: fun(a, c), (i,))
    return _bounded(step, Var(env[i].shape, bound(env[i].bound, abs(c))))


def _where(draw, env, i):
    a = env[i]
    symbol = draw(st.sampled_from(sorted(COMPARISONS)))
    compare = COMPARISONS[symbol]
    j = draw(st.sampled_from(_partners(env, a.shape)))
    k = draw(st.sampled_from(_partners(env, a.shape, env[j].shape)))
    shape = np.broadcast_shapes(a.shape, env[j].shape, env[k].shape)
    step = Step(f"np.where({{0}} {symbol} {{1}}, {{0}}, {{2}})",
                lambda p, q, r: np.where(compare(p, q), p, r), (i, j, k),
                (lambda p, q, r: _gap(p, q)) if i != j else None)
    return step, Var(shape, max(a.bound, env[k].bound))


def _reduce(draw, env, i):
    a = env[i]
    if not a.shape:
        return None
    name, bound, kink = draw(st.sampled_from(REDUCTIONS))
    axis = draw(st.none() | st.integers(-len(a.shape), len(a.shape) - 1))
    keepdims = draw(st.booleans())
    size = math.prod(a.shape) if axis is None else a.shape[axis]
    options = f"axis={axis}, keepdims={keepdims}"
    if draw(st.booleans()):  # the method spelling
        text, reduce = f"{{0}}.{name}({options})", lambda p: getattr(p, name)(axis=axis,
                                                                               keepdims=keepdims)
    else:
        text, reduce = f"np.{name}({{0}}, {options})", lambda p: getattr(np, name)(
            p, axis=axis, keepdims=keepdims)

    def kink_of(p):  # the gap between the two extreme values of every reduced slice
        if size < 2:
            return math.inf
        top = np.sort(p.reshape(-1) if axis is None else np.moveaxis(p, axis, 0), axis=0)
        return float(np.min(kink(top)))

    shape = np.sum(np.zeros(a.shape), axis=axis, keepdims=keepdims).shape
    step = Step(text, reduce, (i,), kink_of if kink else None)
    return _bounded(step, Var(shape, bound(a.bound, size)))


def _matmul(draw, env, i):
    a = env[i]
    if not a.shape:
        return None
    candidates = [j for j, v in enumerate(env) if _matmul_shape(a.shape, v.shape) is not None]
    choice = draw(st.sampled_from(candidates + ["constant"]))
    if choice == "constant":  # a matrix captured from the enclosing scope
        w = draw(hnp.arrays(np.float64, (a.shape[-1], draw(st.integers(1, 3))),
                            elements=st.floats(-1, 1, allow_subnormal=False)))
        step = Step(f"{{0}} @ np.array({w.tolist()})", lambda p: p @ w, (i,))
        return _bounded(step, Var(_matmul_shape(a.shape, w.shape), a.bound * a.shape[-1]))
    b = env[choice]
    step = Step("{0} @ {1}", lambda p, q: p @ q, (i, choice))
    return _bounded(step, Var(_matmul_shape(a.shape, b.shape), a.bound * b.bound * a.shape[-1]))


def _index(draw, env, i):
    a = env[i]
    if not a.shape:
        return None
    if draw(st.integers(0, 3)) == 0:  # an integer array (repeats allowed) on the first axis
        n = a.shape[0]
        rows = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)))
        text, index = f"{{0}}[np.array({rows.tolist()})]", rows
    else:
        index = draw(_basic_index(a.shape))
        text = f"{{0}}[{index!r}]"
    return Step(text, lambda p: p[index], (i,)), Var(np.zeros(a.shape)[index].shape, a.bound)


def _setitem(draw, env, i):
    a = env[i]
    if not a.shape:
        return None
    index = draw(_basic_index(a.shape))
    target = np.zeros(a.shape)[index].shape
    fits = [j for j, v in enumerate(env)
            if _broadcasts(v.shape, target) and np.broadcast_shapes(v.shape, target) == target]
    if not fits:
        return None
    j = draw(st.sampled_from(fits))
    step = Step(f"setitem({{0}}, {index!r}, {{1}})", lambda p, r: setitem(p, index, r),
                (i, j))
    return step, Var(a.shape, max(a.bound, env[j].bound))


def _concatenate(draw, env, i):
    a = env[i]
    if not a.shape:
        return None
    axis = draw(st.integers(-len(a.shape), len(a.shape) - 1))
    def rest(shape):  # all but the concatenated axis
        return shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]

    fits = [j for j, v in enumerate(env) if len(v.shape) == len(a.shape)
            and rest(v.shape) == rest(a.shape)]
    j = draw(st.sampled_from(fits))
    shape = np.concatenate([np.zeros(a.shape), np.zeros(env[j].shape)], axis=axis).shape
    step = Step(f"np.concatenate([{{0}}, {{1}}], axis={axis})",
                lambda p, q: np.concatenate([p, q], axis=axis), (i, j))
    return step, Var(shape, max(a.bound, env[j].bound))


def _transpose(draw, env, i):
    a = env[i]
    if len(a.shape) < 2:
        return None
    if draw(st.booleans()):
        return Step("{0}.T", lambda p: p.T, (i,)), Var(a.shape[::-1], a.bound)
    axes = tuple(draw(st.permutations(range(len(a.shape)))))
    return (Step(f"np.transpose({{0}}, {axes})", lambda p: np.transpose(p, axes), (i,)),
            Var(tuple(a.shape[k] for k in axes), a.bound))


def _branch(draw, env, i):
    """A Python branch on a traced value: a guard in the traced graph."""
    c = draw(st.floats(-2, 2, allow_subnormal=False))

    def branch(p):
        return np.sin(p) if np.sum(p) > c else np.cos(p)
    step = Step(f"np.sin({{0}}) if np.sum({{0}}) > {c!r} else np.cos({{0}})", branch, (i,),
                lambda p: abs(float(np.sum(p)) - c))
    return step, Var(env[i].shape, 1.0)


def _reshape(draw, env, i):
    a = env[i]
    size = math.prod(a.shape)
    shapes = [s for s in _shapes_of_size(size) if s != a.shape]
    if not shapes:
        return None
    shape = draw(st.sampled_from(shapes))
    if len(shape) == 1:  # the method spelling
        return Step("{0}.reshape(-1)", lambda p: p.reshape(-1), (i,)), Var(shape, a.bound)
    return Step(f"np.reshape({{0}}, {shape})", lambda p: np.reshape(p, shape), (i,)), Var(
        shape, a.bound)


def _shapes_of_size(size: int, dims: int = 3) -> list[tuple]:
    """Every shape of up to ``dims`` axes holding ``size`` elements."""
    shapes = [()] if size == 1 else []
    for n in range(1, size + 1):
        if size % n == 0 and dims:
            shapes += [(n,) + rest for rest in _shapes_of_size(size // n, dims - 1)]
    return shapes


BUILDERS = [_unary, _binary, _scalar, _where, _reduce, _matmul, _index, _setitem,
            _concatenate, _transpose, _reshape, _branch]


@st.composite
def _step(draw, env: list[Var]):
    """A step on some variable, the newest most often (shrinks towards it)."""
    for _ in range(4):
        i = draw(st.sampled_from(range(len(env) - 1, -1, -1)))
        built = draw(st.sampled_from(BUILDERS))(draw, env, i)
        if built is not None:
            return built
    return Step("np.tanh({0})", np.tanh, (len(env) - 1,)), Var(env[-1].shape, 1.0)


@st.composite
def programs(draw, max_inputs: int = 3) -> Program:
    # One input of a drawn shape, the others broadcasting with it (hypothesis
    # alone favours tiny shapes).
    first = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    count = draw(st.integers(1, max_inputs))
    others = () if count == 1 else draw(hnp.mutually_broadcastable_shapes(
        num_shapes=count - 1, base_shape=first, min_dims=0, max_dims=3, min_side=1,
        max_side=4)).input_shapes
    shapes = (first,) + others
    env = [Var(s, 2.0) for s in shapes]
    steps = []
    for _ in range(draw(st.integers(3, 8))):
        step, var = draw(_step(env))
        steps.append(step)
        env.append(var)
    return Program(tuple(shapes), tuple(steps))


def values(shape, lo: float = -2.0, hi: float = 2.0, distinct: bool = False):
    """float64 arrays in [lo, hi]. Hypothesis repeats values (ties at every
    maximum and where) unless ``distinct``: every element drawn on its own."""
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_subnormal=False),
                      fill=st.nothing() if distinct else None)


@st.composite
def program_and_inputs(draw, distinct: bool = False):
    program = draw(programs())
    args = tuple(draw(values(s, distinct=distinct)) for s in program.shapes)
    out_shape = np.shape(program(*args))
    weights = draw(values(out_shape, -1.0, 1.0, distinct=True))
    return program, args, weights


def _loss(program, weights):
    return lambda *xs: np.sum(program(*xs) * weights)


def _assert_close(got, want, rtol=1e-9, atol=1e-12, what="value"):
    assert np.shape(got) == np.shape(want), (what, np.shape(got), np.shape(want))
    assert np.asarray(got).dtype == np.asarray(want).dtype, (what, np.asarray(got).dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


# -- 1. random programs ---------------------------------------------------------

@settings(max_examples=200, deadline=None, derandomize=True)
@given(program_and_inputs())
def test_jit_of_a_random_program_equals_numpy(case):
    program, args, _ = case
    with backend("interpreter"):
        got = sg.jit(program)(*args)
    _assert_close(got, program(*args))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(program_and_inputs(), st.data())
def test_mixed_precision_program_keeps_numpys_dtypes(case, data):
    # float32 and float64 inputs: NumPy's promotion (python floats keep
    # float32) for values, each input's own dtype for its gradient.
    program, args, weights = case
    # float32 rounding may flip a branch or a kink that float64 resolves the
    # other way (a threshold of 1e-121 is -0.0 in float32): keep clear of them.
    assume(program.kink_distance(*args) > KINK_MARGIN)
    dtypes = [data.draw(st.sampled_from([np.float32, np.float64])) for _ in args]
    mixed = tuple(a.astype(d) for a, d in zip(args, dtypes))
    argnums = tuple(range(len(args)))
    with backend("interpreter"):
        _assert_close(sg.jit(program)(*mixed), program(*mixed), rtol=1e-4, atol=1e-4)
        grads = sg.grad(_loss(program, weights), argnums=argnums)(*mixed)
        wide = sg.grad(_loss(program, weights), argnums=argnums)(
            *(a.astype(np.float64) for a in mixed))
    for k, (g, w, d) in enumerate(zip(grads, wide, dtypes)):
        assert np.asarray(g).dtype == d, (k, np.asarray(g).dtype, d)
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3, err_msg=f"gradient {k}")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(program_and_inputs(distinct=True))
def test_derivatives_of_a_random_program_equal_finite_differences(case):
    program, args, weights = case
    assume(program.kink_distance(*args) > KINK_MARGIN)
    argnums = tuple(range(len(args)))
    with backend("interpreter"):
        sg.check_grads(program, args, order=1)            # jvp and vjp, random directions
        gradient = sg.grad(_loss(program, weights), argnums=argnums)
        grads = gradient(*args)
        # Second order: the gradient function's own jvp (Hessian-vector
        # products) and vjp, against differences of gradients.
        sg.check_grads(gradient, args, order=1)
        _, pullback = sg.vjp(program, *args)
        # The weighted sum's gradient is the pullback of its weights.
        for k, (g, v) in enumerate(zip(grads, pullback(weights))):
            _assert_close(g, v, what=f"gradient {k}")


@settings(max_examples=15, deadline=None, derandomize=True)
@given(program_and_inputs())
def test_compiled_random_program_equals_the_interpreter(case):
    program, args, weights = case
    argnums = tuple(range(len(args)))

    def value_and_gradient(*xs):
        return program(*xs), sg.grad(_loss(program, weights), argnums=argnums)(*xs)

    graph = sg.jit(value_and_gradient).lower(*args).graph
    want = Interpreter(graph)(*args)
    got = compile_graph(graph, name="random program")(*args)
    assert len(got) == len(want) == 1 + len(args)
    _assert_close(want[0], program(*args))
    for k, (g, w) in enumerate(zip(got, want)):
        _assert_close(g, w, what=f"output {k}")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(program_and_inputs())
def test_eager_backward_of_a_random_program_equals_grad(case):
    # The same program on Tensors twice: the first backward derives its graph,
    # the second runs it as the static mode's executable. The eager cache is
    # cleared around each example: its executables are the interpreter's here.
    program, args, weights = case
    with backend("interpreter"):
        want = sg.grad(_loss(program, weights), argnums=tuple(range(len(args))))(*args)
        sg.autograd.clear_cache()
        try:
            for _ in range(2):
                leaves = [sg.tensor(a, requires_grad=True) for a in args]
                out = program(*leaves)
                _assert_close(out.detach().numpy(), np.asarray(program(*args)))
                (out * weights).sum().backward()
                for k, (x, g) in enumerate(zip(leaves, want)):
                    # An input the program never reads gets no .grad (PyTorch's None).
                    got = np.zeros_like(g) if x.grad is None else x.grad.numpy()
                    _assert_close(got, g, what=f"gradient {k}")
            info = sg.autograd.cache_info()
            assert (info.builds, info.compiles) == (1, 1), info
        finally:
            sg.autograd.clear_cache()


# -- 2. broadcasting reversed ---------------------------------------------------

BROADCASTING_OPS = {  # name: (fun, domain of each argument)
    "add": (lambda x, y: x + y, ((-2, 2), (-2, 2))),
    "sub": (lambda x, y: x - y, ((-2, 2), (-2, 2))),
    "mul": (lambda x, y: x * y, ((-2, 2), (-2, 2))),
    "div": (lambda x, y: x / y, ((-2, 2), (0.5, 2))),
    "pow": (lambda x, y: x ** y, ((0.5, 2), (-2, 2))),
    "maximum": (np.maximum, ((-2, 2), (-2, 2))),
    "minimum": (np.minimum, ((-2, 2), (-2, 2))),
    "arctan2": (np.arctan2, ((0.5, 2), (0.5, 2))),
    "where": (lambda c, x, y: np.where(c > 0, x, y), ((0.5, 2), (-2, 2), (-2, 2))),
}


@st.composite
def broadcasting_cases(draw):
    name = draw(st.sampled_from(sorted(BROADCASTING_OPS)))
    fun, domains = BROADCASTING_OPS[name]
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=len(domains), min_dims=0,
                                                    max_dims=4, min_side=1, max_side=3))
    args = []
    for shape, (lo, hi) in zip(shapes.input_shapes, domains):
        elements = st.floats(lo, hi, allow_subnormal=False)
        if name in ("maximum", "minimum") and args:  # ties with the first operand
            elements |= st.sampled_from(sorted(set(args[0].flat)))
        x = draw(hnp.arrays(np.float64, shape, elements=elements))
        if name == "where" and not args:   # a condition of both signs, never 0
            x = x * draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
        args.append(x)
    return name, fun, tuple(args)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(broadcasting_cases())
def test_gradient_of_a_broadcasting_op_has_each_inputs_shape(case):
    name, fun, args = case
    # Equal operands of maximum/minimum split the gradient evenly, as central
    # differences do; only near-ties would put a kink inside the step.
    if name in ("maximum", "minimum"):
        gap = np.abs(args[0] - args[1])
        assume(np.all((gap == 0) | (gap > KINK_MARGIN)))
    argnums = tuple(range(len(args)))
    with backend("interpreter"):
        grads = sg.grad(lambda *xs: np.sum(fun(*xs)), argnums=argnums)(*args)
        for x, g in zip(args, grads):
            assert np.shape(g) == x.shape and np.asarray(g).dtype == np.float64
        sg.check_grads(lambda *xs: np.sum(fun(*xs)), args, order=1, modes=("rev",))
        sg.check_grads(fun, args, order=1)   # a random cotangent over the broadcast shape


# -- 3. retraces ------------------------------------------------------------------

def branchy(x, t):
    """A Python branch on a traced value: a guard in the graph."""
    if np.sum(x) > t:
        return np.sum(np.sin(x) * x)
    return np.sum(np.cos(x) ** 2)


def branchy_gradient(x, t):
    """The gradient of the path NumPy takes, by hand."""
    if np.sum(x) > t:
        return np.cos(x) * x + np.sin(x)
    return -2 * np.cos(x) * np.sin(x)


SHAPES = [(3,), (2, 2)]


@st.composite
def call_sequences(draw, thresholds: int):
    """Interleaved calls ``(x, t)``: x of one of two shapes, t among a few
    thresholds drawn between the sums of the xs (both branches are taken
    unless all sums are equal)."""
    xs = draw(st.lists(st.sampled_from(SHAPES).flatmap(values), min_size=2, max_size=8))
    sums = [float(np.sum(x)) for x in xs]
    ts = draw(st.lists(st.floats(min(sums), max(sums)), min_size=thresholds,
                       max_size=thresholds))
    return [(x, draw(st.sampled_from(ts))) for x in xs]


def _check_calls(g, calls, key, closed_over=False):
    """Every result is the gradient of the path NumPy takes; one trace per
    (signature, path) seen, every other call a cache hit."""
    seen = set()
    for x, t in calls:
        np.testing.assert_allclose(g(x) if closed_over else g(x, t), branchy_gradient(x, t),
                                   rtol=1e-12, atol=1e-14)
        seen.add((key(x, t), bool(np.sum(x) > t)))
    info = g.cache_info()
    assert info.traces == info.specializations == len(seen), (str(info), seen)
    assert info.hits == len(calls) - len(seen)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(call_sequences(thresholds=1))
def test_branch_on_a_closed_over_threshold_follows_numpy(calls):
    t = calls[0][1]
    with backend("interpreter"):
        g = sg.grad(lambda x: branchy(x, t))
        _check_calls(g, calls, lambda x, t: x.shape, closed_over=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(call_sequences(thresholds=3))
def test_branch_on_a_static_threshold_follows_numpy(calls):
    with backend("interpreter"):
        g = sg.jit(sg.grad(branchy), static_argnums=1)
        _check_calls(g, calls, lambda x, t: (x.shape, t))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(call_sequences(thresholds=3))
def test_compiled_branch_on_a_traced_threshold_follows_numpy(calls):
    # t traced: the kernels do not depend on its value, so four kernels (two
    # shapes, two paths) serve every example, from the disk cache after the first run.
    with backend("numba"):
        g = sg.grad(branchy)
        _check_calls(g, calls, lambda x, t: x.shape)


def halve(x):
    """A loop on a traced value: halve x until its squared norm is at most 1."""
    while np.sum(x * x) > 1.0:
        x = x * 0.5
    return np.sum(np.sin(x))


def halve_gradient(x):
    """(gradient, number of halvings), by hand."""
    k = 0
    while np.sum(x * x) > 1.0:
        x, k = x * 0.5, k + 1
    return np.cos(x) * 0.5 ** k, k


@pytest.mark.parametrize("name, examples", [("interpreter", 40), ("numba", 8)])
def test_loop_on_a_traced_value_traces_once_per_iteration_count(name, examples):
    @settings(max_examples=examples, deadline=None, derandomize=True)
    @given(st.lists(values((3,), -20.0, 20.0), min_size=1, max_size=10))
    def check(xs):
        with backend(name):
            g = sg.grad(halve)
            counts = set()
            for x in xs:
                gradient, count = halve_gradient(x)
                np.testing.assert_allclose(g(x), gradient, rtol=1e-12, atol=1e-14)
                counts.add(count)
            assert g.cache_info().traces == len(counts), str(g.cache_info())
    check()


# -- 4. dtype mixes: float32 with Python scalars and integer index arguments ---------

@st.composite
def mixed_dtype_cases(draw):
    """A drawn program over float32/float64 inputs, its result scaled by a Python
    float and shifted by a Python int (both arguments: weak, NEP 50) and indexed
    by an integer array argument (negative indices too)."""
    program, args, _ = draw(program_and_inputs())
    dtypes = [draw(st.sampled_from([np.float32, np.float64])) for _ in args]
    xs = tuple(a.astype(d) for a, d in zip(args, dtypes))
    scale = draw(st.floats(-2, 2, allow_subnormal=False))
    shift = draw(st.integers(-3, 3))
    n = np.shape(program(*args))[0] if np.ndim(program(*args)) else 0
    rows = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
                    if n else [], dtype=draw(st.sampled_from([np.int64, np.int32])))
    return program, xs, scale, shift, rows


def _scaled(program):
    def fun(*args):
        *xs, scale, shift, rows = args
        out = program(*xs) * scale + shift
        return out[rows] if rows.size else out
    return fun


def _check_mixed_dtypes(case, name):
    program, xs, scale, shift, rows = case
    fun = _scaled(program)
    args = xs + (scale, shift, rows)
    want = fun(*args)
    with backend(name):
        f = sg.jit(fun)
        for _ in range(2):  # the trace, then the kernel
            _assert_close(f(*args), want, rtol=1e-4, atol=1e-4)
        if np.asarray(want).dtype.kind == "f":
            nums = tuple(range(len(xs) + 1))   # the arrays and the Python float
            grads = sg.grad(lambda *a: np.sum(fun(*a)), argnums=nums)(*args)
            for k, g in enumerate(grads):
                # an array's gradient has its dtype; a Python float's is float64
                assert np.asarray(g).dtype == np.asarray(args[k]).dtype, (k, np.asarray(g).dtype)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(mixed_dtype_cases())
def test_python_scalars_and_index_arguments_keep_numpys_dtypes(case):
    _check_mixed_dtypes(case, "interpreter")


@settings(max_examples=5, deadline=None, derandomize=True)
@given(mixed_dtype_cases())
def test_compiled_python_scalars_and_index_arguments_keep_numpys_dtypes(case):
    _check_mixed_dtypes(case, "numba")

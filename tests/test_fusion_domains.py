"""Loop groups over joined domains (compiler/codegen/plan.py ``join``).

A root whose outer trip count differs from its group's by a slice's or a
pad's edge (the value of Rosenbrock's function sums n - 1 terms, its
gradient has n elements) is computed in the group's loop where the outer
index is inside its domain. Each case compares the compiled kernel with the
reference interpreter, the value with NumPy and the gradient with central
finite differences.
"""
import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("STATICGRAD_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"staticgrad-tests-{os.getuid()}"))

import staticgrad as sg  # noqa: E402
from compiler.codegen import compile_graph  # noqa: E402
from compiler.codegen.plan import LoopGroup  # noqa: E402
from compiler.codegen.source import Generator, generate  # noqa: E402
from compiler.interpreter import Interpreter  # noqa: E402


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def both_ends(x):
    return np.sum(x[2:] * x[:-2]) + np.sum(np.sin(x[1:-1]) ** 2)


def padded(x):
    return np.sum(np.pad(x, (2, 3)) ** 2 * np.linspace(0.5, 1.5, x.shape[0] + 5))


def prod_rows(X):
    # 2-D domains, a product over the inner axis
    return np.sum(np.prod(1.0 + 0.1 * X[1:] * X[:-1], axis=1))


def keepdims(X):
    r = np.sum((X[1:] - X[:-1]) ** 2, axis=1, keepdims=True)
    return np.sum(np.sqrt(r + 1.0))


def logistic(w, X, y):
    # the value sums over (n,), the adjoint of X @ w is over (n, 1)
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


_rng = np.random.default_rng(0)
CASES = {
    "rosenbrock, blocked sum": (rosenbrock, (_rng.uniform(-1, 1, 3000),)),
    "rosenbrock, float32": (rosenbrock, (_rng.uniform(-1, 1, 3000).astype(np.float32),)),
    "rosenbrock, straight-line": (rosenbrock, (_rng.uniform(-1, 1, 12),)),
    "slices at both ends": (both_ends, (_rng.uniform(-1, 1, 500),)),
    "pads": (padded, (_rng.uniform(-1, 1, 500),)),
    "products over 2-D": (prod_rows, (_rng.uniform(-1, 1, (40, 3)),)),
    "keepdims": (keepdims, (_rng.uniform(-1, 1, (300, 7)),)),
    "logistic": (logistic, (_rng.normal(size=5) * 0.1, _rng.normal(size=(300, 5)),
                            (_rng.random(300) < 0.5) * 1.0)),
}


def _groups(graph) -> list:
    return [u for u in generate(graph).plan.units if isinstance(u, LoopGroup)]


def _finite_differences(f, x: np.ndarray, points: int = 6) -> tuple:
    """Central differences of f at a few coordinates of x (in float64)."""
    x = x.astype(np.float64)
    picks = np.random.default_rng(1).choice(x.size, size=min(points, x.size), replace=False)
    picks = np.unique(np.concatenate([picks, [0, x.size - 1]]))
    got = []
    for k in picks:
        step = 1e-6 * max(1.0, abs(x.flat[k]))
        up, down = x.copy(), x.copy()
        up.flat[k] += step
        down.flat[k] -= step
        got.append((f(up) - f(down)) / (2 * step))
    return picks, np.array(got)


@pytest.mark.parametrize("name", list(CASES))
def test_joined_domains_match_interpreter_numpy_and_finite_differences(name):
    f, args = CASES[name]
    graph = sg.value_and_grad(f).lower(*args).graph
    value, gradient = compile_graph(graph, name=f"joined domains: {name}")(*args)
    want_value, want_gradient = Interpreter(graph)(*args)
    single = args[0].dtype == np.float32
    tol = dict(rtol=2e-6, atol=1e-6) if single else dict(rtol=1e-12, atol=1e-12)
    assert gradient.dtype == args[0].dtype and np.asarray(value).dtype == args[0].dtype
    np.testing.assert_allclose(value, want_value, **tol)
    np.testing.assert_allclose(gradient, want_gradient, **tol)
    np.testing.assert_allclose(value, f(*args), rtol=1e-5 if single else 1e-12)
    picks, differences = _finite_differences(lambda x: f(x, *args[1:]), args[0])
    np.testing.assert_allclose(gradient.flat[picks], differences,
                               rtol=1e-3 if single else 1e-6, atol=1e-3 if single else 1e-6)


def test_rosenbrock_value_and_gradient_are_one_loop_over_x():
    # The sum over x[1:] - x[:-1]**2 (n - 1 terms) and the gradient (n) read x once.
    x = np.linspace(-1.0, 1.0, 3000)
    graph = sg.value_and_grad(rosenbrock).lower(x).graph
    (group,) = _groups(graph)
    assert group.domain == (3000,) and len(group.roots) == 2
    source = sg.value_and_grad(rosenbrock).lower(x).source
    # blocks of the sum over the long piece, then the edge indices
    assert source.count("for i0 in") == 1 and "for i0 in (0, 2999):" in source
    assert source.count("accumulate(") == 2   # the long piece and the edge


@pytest.mark.parametrize("name", ["logistic", "products over 2-D", "slices at both ends",
                                  "pads"])
def test_value_and_gradient_share_a_loop(name):
    f, args = CASES[name]
    graph = sg.value_and_grad(f).lower(*args).graph
    gen = Generator(graph)
    gen.kernel()
    joined = [g.domain for g in gen.plan.units if isinstance(g, LoopGroup)
              and len({gen.domain(r) for r in g.roots}) > 1]
    assert joined, [(g.domain, g.roots) for g in gen.plan.units if isinstance(g, LoopGroup)]


def test_unrelated_loops_of_nearby_sizes_stay_apart():
    # Joining needs an array both read: x[:-3] * 2 and np.cos(y) share none.
    f = sg.jit(lambda x, y: (x[:-3] * 2.0, np.cos(y)))
    x, y = np.linspace(0, 1, 100), np.linspace(0, 1, 99)
    assert [g.domain for g in _groups(f.lower(x, y).graph)] == [(97,), (99,)]
    # nor does a scalar both read
    f = sg.jit(lambda x, y, s: (x[:-3] * s, np.cos(y) * s))
    assert [g.domain for g in _groups(f.lower(x, y, np.array(2.0)).graph)] == [(97,), (99,)]
    # sharing x, they join
    f = sg.jit(lambda x, y: (x[:-3] * 2.0, np.cos(x[1:] * y)))
    assert [g.domain for g in _groups(f.lower(x, y).graph)] == [(99,)]


def test_a_full_product_over_a_slice_joins_the_loop_of_the_whole():
    def f(x):
        return np.prod(1.0 + 0.001 * x[1:] * x[:-1]), np.sin(x) * 2.0

    x = np.random.default_rng(2).uniform(-1, 1, 3000)
    graph = sg.jit(f).lower(x).graph
    (group,) = _groups(graph)
    assert group.domain == (3000,)
    got = compile_graph(graph, name="product over a slice")(x)
    want = Interpreter(graph)(x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[0], np.prod(1.0 + 0.001 * x[1:] * x[:-1]), rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-14)


def test_joined_group_without_deciding_pieces_is_written_as_one_loop_per_domain(monkeypatch):
    # Too many bounds for pieces: rather than a condition per element, the
    # group's roots get a loop per domain again (the larger first).
    monkeypatch.setattr(Generator, "MAX_PIECES", 1)
    x = np.random.default_rng(3).uniform(-1, 1, 200)
    graph = sg.value_and_grad(rosenbrock).lower(x).graph
    kernel = generate(graph)
    assert kernel.source.count("for i0 in range(") >= 2
    assert kernel.source.index("v%d = np.empty" % graph.outputs[1]) < \
        kernel.source.index("accumulate(")
    # (another part size: compile_graph's memory must not answer with the
    # kernel of this graph written with the default MAX_PIECES)
    got = compile_graph(graph, name="joined group, one loop per domain", part_size=2999)(x)
    want = Interpreter(graph)(x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)

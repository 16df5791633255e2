"""Structured loops: gradient of an RK4 Lorenz trajectory through ``sg.scan``.

    python -m benchmarks.loops            # everything below
    python -m benchmarks.loops --quick    # no memory runs, N up to 1,000 on the interpreter
    python -m benchmarks.loops --memory   # only the memory runs (4. below)

Run it from the repository root (``PYTHONPATH=. python -m benchmarks.loops``,
with a Python that has JAX installed for its columns). Printed:

1. RK4 Lorenz, gradient of |x(N)|^2 with respect to the parameters, compiled
   (loop nodes are Numba loops): the first call in a fresh process with an
   empty kernel cache (trace + compile + run; and the import before it) at
   N = 10, 1,000 and 100,000, and the steady call against a hand-written Numba
   forward-plus-adjoint loop (``hand_gradient`` below); when JAX is
   installed, ``jax.jit(jax.grad(...))`` of the same loss through
   ``jax.lax.scan`` (float64, one thread), its first call also in a fresh
   process.
2. The same on the reference interpreter against the Python loop unrolled
   into the graph.
3. A 1-D heat equation (1,000 cells, 10,000 explicit steps): the compiled
   gradient against a hand-written Numba forward-plus-adjoint loop
   (``hand_heat_gradient``), the interpreter's, and JAX's ``lax.scan``.
4. The heat equation's gradient through 200,000 steps with
   ``checkpoints=50`` (compiled: the adjoint recomputes carries along the
   revolve schedule), and through 20,000 and 200,000 steps with every carry
   stored, each in a fresh process (``--memory``: only these): the peak RSS
   of the process (``resource.getrusage``, tracing and compiling included)
   and of the second call alone (``VmHWM`` in /proc/self/status, reset before
   it), the times of the first and second calls, the steps recomputed, and
   the checkpointed gradient against the stored one.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# JAX (when installed) on one thread too, as the Numba kernels run
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numba  # noqa: E402

import staticgrad as sg  # noqa: E402

DT = 0.001
SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0


def lorenz(x, p):
    return np.stack([p[0] * (x[1] - x[0]), x[0] * (p[1] - x[2]) - x[1], x[0] * x[1] - p[2] * x[2]])


def rk4(x, p):
    k1 = lorenz(x, p)
    k2 = lorenz(x + 0.5 * DT * k1, p)
    k3 = lorenz(x + 0.5 * DT * k2, p)
    k4 = lorenz(x + DT * k3, p)
    return x + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def scan_loss(p, x0, n):
    x, _ = sg.scan(lambda x, _: (rk4(x, p), None), x0, length=n)
    return np.sum(x ** 2)


def unrolled_loss(p, x0, n):
    x = x0
    for _ in range(n):
        x = rk4(x, p)
    return np.sum(x ** 2)


def median_time(fun, *args, budget=1.0, at_most=21):
    times = []
    start = time.perf_counter()
    while len(times) < at_most and (len(times) < 3 or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fun(*args)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def first_and_steady(loss, n):
    p, x0 = np.array([SIGMA, RHO, BETA]), np.array([1.0, 1.0, 1.0])
    grad = sg.grad(lambda q: loss(q, x0, n))
    start = time.perf_counter()
    g = grad(p)
    first = time.perf_counter() - start
    return g, first, median_time(grad, p)


def have_jax() -> bool:
    return importlib.util.find_spec("jax") is not None


def jax_gradient(problem: str, n: int):
    """``jax.jit(jax.grad(loss))`` and its argument for the RK4 Lorenz loss
    (``problem="lorenz"``) or the heat equation's (``"heat"``) through
    ``jax.lax.scan``: the same losses as ``scan_loss`` and ``heat_loss``."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def f(x, p):
        return jnp.stack([p[0] * (x[1] - x[0]), x[0] * (p[1] - x[2]) - x[1],
                          x[0] * x[1] - p[2] * x[2]])

    def step(x, p):
        k1 = f(x, p)
        k2 = f(x + 0.5 * DT * k1, p)
        k3 = f(x + 0.5 * DT * k2, p)
        k4 = f(x + DT * k3, p)
        return x + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    def lorenz_loss(p):
        x, _ = jax.lax.scan(lambda x, _: (step(x, p), None), jnp.ones(3), length=n)
        return jnp.sum(x ** 2)

    def heat(a):
        def body(u, _):
            lap = jnp.concatenate([u[1:2] - u[:1], u[2:] - 2.0 * u[1:-1] + u[:-2],
                                   u[-2:-1] - u[-1:]])
            return u + a * lap, None
        u, _ = jax.lax.scan(body, jnp.sin(jnp.linspace(0.0, 3.0, 1000)), length=n)
        return jnp.sum(u ** 2)

    if problem == "lorenz":
        return jax.jit(jax.grad(lorenz_loss)), jnp.array([SIGMA, RHO, BETA])
    return jax.jit(jax.grad(heat)), jnp.float64(0.2)


JAX_CHILD = """
import sys, time
start = time.perf_counter()
import jax
sys.path.insert(0, {root!r})
from benchmarks.loops import jax_gradient, median_time
imported = time.perf_counter()
grad, arg = jax_gradient({problem!r}, {n})
t = time.perf_counter()
g = grad(arg).block_until_ready()
first = time.perf_counter() - t
steady = median_time(lambda a: grad(a).block_until_ready(), arg, budget=2.0)
print(imported - start, first, steady, *[float(v) for v in g.ravel()])
"""


def jax_in_fresh_process(problem: str, n: int):
    """(import time, first call, steady call, gradient) of JAX's gradient, in a
    new process (its first call compiles with XLA: JAX keeps no compile cache
    on disk by default), or None without JAX."""
    if not have_jax():
        return None
    out = subprocess.run([sys.executable, "-c", JAX_CHILD.format(root=ROOT, problem=problem,
                                                                 n=n)],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ)).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), np.array([float(v) for v in out[3:]])


# -- the hand-written reference: forward loop storing the states, adjoint loop back
@numba.njit(cache=True)
def _lorenz(x0, x1, x2, p0, p1, p2):
    return p0 * (x1 - x0), x0 * (p1 - x2) - x1, x0 * x1 - p2 * x2


@numba.njit(cache=True)
def _lorenz_vjp(x0, x1, x2, p0, p1, p2, w0, w1, w2):
    """(cotangent of x, cotangent of p) of _lorenz at (x, p) for the output cotangent w."""
    return ((-p0 * w0 + (p1 - x2) * w1 + x1 * w2, p0 * w0 - w1 + x0 * w2, -x0 * w1 - p2 * w2),
            ((x1 - x0) * w0, x0 * w1, -x2 * w2))


@numba.njit(cache=True)
def hand_gradient(p, x, n):
    p0, p1, p2 = p[0], p[1], p[2]
    states = np.empty((n, 3))
    x0, x1, x2 = x[0], x[1], x[2]
    h = DT
    for t in range(n):
        states[t, 0], states[t, 1], states[t, 2] = x0, x1, x2
        a0, a1, a2 = _lorenz(x0, x1, x2, p0, p1, p2)
        b0, b1, b2 = _lorenz(x0 + 0.5 * h * a0, x1 + 0.5 * h * a1, x2 + 0.5 * h * a2, p0, p1, p2)
        c0, c1, c2 = _lorenz(x0 + 0.5 * h * b0, x1 + 0.5 * h * b1, x2 + 0.5 * h * b2, p0, p1, p2)
        d0, d1, d2 = _lorenz(x0 + h * c0, x1 + h * c1, x2 + h * c2, p0, p1, p2)
        x0 += h / 6.0 * (a0 + 2.0 * b0 + 2.0 * c0 + d0)
        x1 += h / 6.0 * (a1 + 2.0 * b1 + 2.0 * c1 + d1)
        x2 += h / 6.0 * (a2 + 2.0 * b2 + 2.0 * c2 + d2)
    l0, l1, l2 = 2.0 * x0, 2.0 * x1, 2.0 * x2          # d|x|^2/dx
    g0 = g1 = g2 = 0.0
    for t in range(n - 1, -1, -1):
        x0, x1, x2 = states[t, 0], states[t, 1], states[t, 2]
        a0, a1, a2 = _lorenz(x0, x1, x2, p0, p1, p2)
        s0, s1, s2 = x0 + 0.5 * h * a0, x1 + 0.5 * h * a1, x2 + 0.5 * h * a2
        b0, b1, b2 = _lorenz(s0, s1, s2, p0, p1, p2)
        u0, u1, u2 = x0 + 0.5 * h * b0, x1 + 0.5 * h * b1, x2 + 0.5 * h * b2
        c0, c1, c2 = _lorenz(u0, u1, u2, p0, p1, p2)
        v0, v1, v2 = x0 + h * c0, x1 + h * c1, x2 + h * c2
        # y = x + h/6 (k1 + 2 k2 + 2 k3 + k4): back through k4, k3, k2, k1
        (e0, e1, e2), (q0, q1, q2) = _lorenz_vjp(v0, v1, v2, p0, p1, p2,
                                                 h / 6.0 * l0, h / 6.0 * l1, h / 6.0 * l2)
        g0 += q0; g1 += q1; g2 += q2
        m0, m1, m2 = l0 + e0, l1 + e1, l2 + e2
        (e0, e1, e2), (q0, q1, q2) = _lorenz_vjp(u0, u1, u2, p0, p1, p2, h / 3.0 * l0 + h * e0,
                                                 h / 3.0 * l1 + h * e1, h / 3.0 * l2 + h * e2)
        g0 += q0; g1 += q1; g2 += q2
        m0, m1, m2 = m0 + e0, m1 + e1, m2 + e2
        (e0, e1, e2), (q0, q1, q2) = _lorenz_vjp(s0, s1, s2, p0, p1, p2,
                                                 h / 3.0 * l0 + 0.5 * h * e0,
                                                 h / 3.0 * l1 + 0.5 * h * e1,
                                                 h / 3.0 * l2 + 0.5 * h * e2)
        g0 += q0; g1 += q1; g2 += q2
        m0, m1, m2 = m0 + e0, m1 + e1, m2 + e2
        (e0, e1, e2), (q0, q1, q2) = _lorenz_vjp(x0, x1, x2, p0, p1, p2,
                                                 h / 6.0 * l0 + 0.5 * h * e0,
                                                 h / 6.0 * l1 + 0.5 * h * e1,
                                                 h / 6.0 * l2 + 0.5 * h * e2)
        g0 += q0; g1 += q1; g2 += q2
        l0, l1, l2 = m0 + e0, m1 + e1, m2 + e2
    return np.array([g0, g1, g2])


FIRST_CALL_CHILD = """
import os, sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
import staticgrad as sg
imported = time.perf_counter()
from benchmarks.loops import scan_loss
p, x0 = np.array([10.0, 28.0, 8.0 / 3.0]), np.ones(3)
grad = sg.grad(lambda q: scan_loss(q, x0, {n}))
t = time.perf_counter()
g = grad(p)
first = time.perf_counter() - t
assert grad.cache_info().specializations == 1
print(imported - start, first, *g)
"""


def first_call_in_fresh_process(n):
    """(import time, first call time, gradient) in a new process with an empty cache."""
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, STATICGRAD_CACHE_DIR=cache, STATICGRAD_COMPILE_IN_BACKGROUND="0",
                   STATICGRAD_BACKEND="numba")
        out = subprocess.run([sys.executable, "-c", FIRST_CALL_CHILD.format(root=ROOT, n=n)],
                             capture_output=True, text=True, check=True, env=env).stdout.split()
    return float(out[0]), float(out[1]), np.array([float(v) for v in out[2:]])


def compiled_table():
    print("RK4 Lorenz, gradient of |x(N)|^2 with respect to (sigma, rho, beta), compiled")
    print("| N | import | first call (fresh process, empty cache) | steady | hand-written Numba "
          "| ratio | per step | JAX first call (fresh process) | JAX steady | JAX / steady |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    p, x0 = np.array([SIGMA, RHO, BETA]), np.array([1.0, 1.0, 1.0])
    sg.config.backend = "numba"
    sg.config.compile_in_background = False
    firsts = {}
    for n in (10, 1000, 100000):
        imported, first, g_first = first_call_in_fresh_process(n)
        firsts[n] = first
        grad = sg.grad(lambda q, n=n: scan_loss(q, x0, n))
        grad.compile(p)
        g = grad(p)
        hand = hand_gradient(p, x0, n)
        assert np.allclose(g, hand, rtol=1e-9, atol=1e-12), (g, hand)
        assert np.allclose(g_first, g, rtol=1e-12), (g_first, g)
        steady = median_time(grad, p)
        hand_time = median_time(hand_gradient, p, x0, n)
        peer = jax_in_fresh_process("lorenz", n)
        if peer is None:
            jax_cells = "n/a | n/a | n/a"
        else:
            # (beyond N = 1,000 the chaotic trajectory amplifies rounding: no agreement)
            assert n > 1000 or np.allclose(peer[3], g, rtol=1e-6), (peer[3], g)
            jax_cells = f"{peer[1]:.2f} s | {peer[2] * 1e3:.3f} ms | {peer[2] / steady:.1f}x"
        print(f"| {n:,} | {imported:.2f} s | {first:.2f} s | {steady * 1e3:.3f} ms | "
              f"{hand_time * 1e3:.3f} ms | {steady / hand_time:.2f}x | "
              f"{steady / n * 1e9:.0f} ns | {jax_cells} |")
    print(f"first call at N = 100,000 / at N = 10: {firsts[100000] / firsts[10]:.2f}x")
    print()


def heat_loss(a, u0, n, checkpoints=None):
    def step(u, _):
        lap = np.concatenate([u[1:2] - u[:1], u[2:] - 2.0 * u[1:-1] + u[:-2], u[-2:-1] - u[-1:]])
        return u + a * lap, None
    u, _ = sg.scan(step, u0, length=n, checkpoints=checkpoints)
    return np.sum(u ** 2)


@numba.njit(cache=True)
def _heat_step(u, a, out):
    """out = u + a * (the Laplacian of u, zero-flux ends)."""
    m = u.shape[0]
    out[0] = u[0] + a * (u[1] - u[0])
    for i in range(1, m - 1):
        out[i] = u[i] + a * (u[i + 1] - 2.0 * u[i] + u[i - 1])
    out[m - 1] = u[m - 1] + a * (u[m - 2] - u[m - 1])


@numba.njit(cache=True, fastmath={"reassoc"})
def _heat_adjoint_sum(lam, u):
    """sum(lam * Laplacian(u)), reassociated so that it vectorises."""
    m = u.shape[0]
    s = lam[0] * (u[1] - u[0]) + lam[m - 1] * (u[m - 2] - u[m - 1])
    for i in range(1, m - 1):
        s += lam[i] * (u[i + 1] - 2.0 * u[i] + u[i - 1])
    return s


@numba.njit(cache=True)
def hand_heat_gradient(a, u0, n):
    """d/da of |u(n)|^2 for heat_loss: the states stored forward (into the
    rows of one array), then the adjoint loop back (the Laplacian is
    symmetric, so the adjoint state steps like the state)."""
    m = u0.shape[0]
    states = np.empty((n + 1, m))
    states[0] = u0
    for t in range(n):
        _heat_step(states[t], a, states[t + 1])
    lam = 2.0 * states[n]
    spare = np.empty(m)
    ga = 0.0
    for t in range(n - 1, -1, -1):
        ga += _heat_adjoint_sum(lam, states[t])
        _heat_step(lam, a, spare)
        lam, spare = spare, lam
    return ga


def heat_table():
    n = 10000
    print(f"1-D heat equation, 1,000 cells, {n:,} explicit steps, gradient by sg.scan")
    u0 = np.sin(np.linspace(0.0, 3.0, 1000))
    a = np.float64(0.2)
    rows = []
    for backend in ("numba", "interpreter"):
        sg.config.backend = backend
        grad = sg.grad(lambda a, u: heat_loss(a, u, n))
        start = time.perf_counter()
        if backend == "numba":
            grad.compile(a, u0)
        g = grad(a, u0)
        first = time.perf_counter() - start
        rows.append((backend, first, median_time(grad, a, u0, budget=2.0, at_most=5), g))
    assert np.isclose(rows[0][3], rows[1][3], rtol=1e-10)
    hand_heat_gradient(a, u0, n)
    hand = median_time(hand_heat_gradient, a, u0, n, budget=2.0, at_most=5)
    assert np.isclose(hand_heat_gradient(a, u0, n), rows[0][3], rtol=1e-9)
    for backend, first, steady, _ in rows:
        print(f"  {backend}: first call {first:.2f} s, steady {steady * 1e3:.1f} ms "
              f"({steady / n * 1e6:.2f} us per step and adjoint; {steady / hand:.2f}x hand)")
    print(f"  hand-written Numba: {hand * 1e3:.1f} ms ({hand / n * 1e6:.2f} us per step)")
    peer = jax_in_fresh_process("heat", n)
    if peer is not None:
        assert np.isclose(peer[3][0], rows[0][3], rtol=1e-8), (peer[3], rows[0][3])
        print(f"  JAX lax.scan: first call {peer[1]:.2f} s (fresh process), steady "
              f"{peer[2] * 1e3:.1f} ms ({peer[2] / n * 1e6:.2f} us per step; "
              f"{peer[2] / rows[0][2]:.2f}x the compiled gradient)")
    print()


MEMORY_CHILD = """
import json, resource, sys, time, numpy as np
sys.path.insert(0, {root!r})
import staticgrad as sg
from benchmarks.loops import heat_loss
sg.config.backend = {backend!r}
sg.config.compile_in_background = False
n, k = {n}, {k}
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
u0 = np.sin(np.linspace(0.0, 3.0, 1000))
grad = sg.grad(lambda a, u: heat_loss(a, u, n, k))
start = time.perf_counter()
grad(np.float64(0.2), u0)              # the trace (and compile)
first = time.perf_counter() - start
before = rss("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                       # reset the peak (VmHWM) to the current RSS
start = time.perf_counter()
g = grad(np.float64(0.2), u0)          # a call of the traced gradient
call = time.perf_counter() - start
print(json.dumps(dict(peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      call_peak=rss("VmHWM"), grown=rss("VmHWM") - before, first=first,
                      call=call, gradient=float(g))))
"""


def memory(n, k, backend):
    """One gradient in a fresh process: peak RSS of the process (getrusage: the
    trace and the Numba compile included) and of the second call alone, the
    times of the first and second call, the gradient."""
    import json

    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(root=ROOT, n=n, k=k,
                                                                     backend=backend)],
                         capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_table(cases=((20000, None, "numba"), (20000, None, "interpreter"),
                        (20000, 50, "numba"), (200000, 50, "numba"),
                        (200000, 50, "interpreter"), (200000, None, "numba"))):
    from compiler.codegen.revolve import recomputations
    from compiler.ops.control import revolve_cost

    print("heat equation gradient, 1,000 cells: memory and time (fresh process each)")
    print("| steps | checkpoints | backend | every carry | peak RSS (process) | peak RSS "
          "(second call) | first call | second call | steps recomputed | gradient |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    gradients = {}
    for n, k, backend in cases:
        r = memory(n, k, backend)
        gradients[n, k, backend] = r["gradient"]
        recomputed = "0" if k is None else f"{recomputations(n, k):,}"
        if k is not None:   # the kernel's schedule is the interpreter's optimum
            assert recomputations(n, k) == revolve_cost(n, k)
        print(f"| {n:,} | {k} | {backend} | {n * 1000 * 8 / 2**20:.0f} MB | {r['peak']:.0f} MB "
              f"| {r['call_peak']:.0f} MB | {r['first']:.1f} s | {r['call']:.1f} s "
              f"| {recomputed} | {r['gradient']!r} |")
    for (n, k, backend), g in gradients.items():
        stored = gradients.get((n, None, "numba"))
        if k is not None and stored is not None:
            print(f"{n:,} steps, checkpoints={k} against every carry stored: relative "
                  f"difference {abs(g - stored) / abs(stored):.1e}")
    print()


def interpreter_table(sizes):
    sg.config.backend = "interpreter"
    print("RK4 Lorenz on the reference interpreter")
    print("| N | sg.scan first call | sg.scan steady | per step | unrolled first call "
          "| unrolled steady |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        g_scan, first, steady = first_and_steady(scan_loss, n)
        if n <= 100:
            g_unrolled, u_first, u_steady = first_and_steady(unrolled_loss, n)
            assert np.allclose(g_scan, g_unrolled, rtol=1e-9), (g_scan, g_unrolled)
            unrolled = f"{u_first * 1e3:.0f} ms | {u_steady * 1e3:.1f} ms"
        else:
            unrolled = "(not run) | (not run)"
        print(f"| {n:,} | {first * 1e3:.0f} ms | {steady * 1e3:.1f} ms | "
              f"{steady / n * 1e6:.0f} us | {unrolled} |")
    print()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory", action="store_true", help="only the memory runs")
    args = parser.parse_args()
    if args.memory:
        memory_table()
        return
    if have_jax():
        import jax
        print(f"JAX {jax.__version__} (float64, XLA_FLAGS={os.environ['XLA_FLAGS']!r})")
    else:
        print("JAX: not installed (its columns show n/a)")
    print()
    compiled_table()
    heat_table()
    interpreter_table((10, 100, 1000) if args.quick else (10, 100, 1000))
    if not args.quick:
        memory_table()


if __name__ == "__main__":
    main()

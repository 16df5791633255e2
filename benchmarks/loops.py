"""Structured loops: gradient of an RK4 Lorenz trajectory through ``sg.scan``.

    python -m benchmarks.loops            # N = 10 .. 10,000; memory with checkpoints
    python -m benchmarks.loops --quick    # N = 10 .. 1,000, no memory runs

Loop nodes run on the reference interpreter for now (no Numba kernel yet), so
this measures what the graph representation buys today: the first call
(trace + passes) no longer grows with N as an unrolled Python loop does, and
the steady call costs NumPy's per-node time for each step. Also printed: the
same gradient with ``jax.lax.scan`` when JAX is installed, and the peak memory
(``VmHWM`` in /proc/self/status, reset before the call) of a long loop with
``checkpoints=50`` against every carry stored, each in a fresh process.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import staticgrad as sg  # noqa: E402

sg.config.backend = "interpreter"
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


def jax_scan(n):
    if importlib.util.find_spec("jax") is None:
        return None
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

    def loss(p):
        x, _ = jax.lax.scan(lambda x, _: (step(x, p), None), jnp.ones(3), length=n)
        return jnp.sum(x ** 2)

    grad = jax.jit(jax.grad(loss))
    p = jnp.array([SIGMA, RHO, BETA])
    start = time.perf_counter()
    grad(p).block_until_ready()
    first = time.perf_counter() - start
    return first, median_time(lambda q: grad(q).block_until_ready(), p)


MEMORY_CHILD = """
import sys, numpy as np
sys.path.insert(0, {root!r})
import staticgrad as sg
sg.config.backend = "interpreter"
n, k = {n}, {k}
def loss(a, u0):
    def step(u, _):
        lap = np.concatenate([u[1:2] - u[:1], u[2:] - 2.0 * u[1:-1] + u[:-2], u[-2:-1] - u[-1:]])
        return u + a * lap, None
    u, _ = sg.scan(step, u0, length=n, checkpoints=k)
    return np.sum(u ** 2)
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
u0 = np.sin(np.linspace(0.0, 3.0, 1000))
grad = sg.grad(loss)
grad(np.float64(0.2), u0)              # the trace (it evaluates the loops too)
before = rss("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                       # reset the peak (VmHWM) to the current RSS
g = grad(np.float64(0.2), u0)          # a call of the traced gradient
print(rss("VmHWM"), rss("VmHWM") - before, float(g))
"""


def memory(n, k):
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(root=ROOT, n=n, k=k)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (10, 100, 1000) if args.quick else (10, 100, 1000, 10000)
    if not args.quick:  # first: a fresh child of a small parent
        n = 20000
        print(f"heat equation, 1,000 cells, {n:,} explicit steps, gradient by sg.scan "
              f"(every carry stored: {n * 1000 * 8 / 2**20:.0f} MB)")
        stored = memory(n, "None")
        for k in (None, 50, 10):
            peak, grown, g = stored if k is None else memory(n, k)
            assert np.isclose(g, stored[2], rtol=1e-12)
            print(f"  checkpoints={k}: peak RSS {peak:.0f} MB, {grown:.0f} MB above the "
                  "RSS before the call")
        print()
    print("RK4 Lorenz, gradient of |x(N)|^2 with respect to (sigma, rho, beta); "
          "interpreter backend")
    print("| N | sg.scan first call | sg.scan steady | per step | unrolled first call "
          "| unrolled steady | JAX scan first / steady |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        g_scan, first, steady = first_and_steady(scan_loss, n)
        if n <= 1000:
            g_unrolled, u_first, u_steady = first_and_steady(unrolled_loss, n)
            assert np.allclose(g_scan, g_unrolled, rtol=1e-9), (g_scan, g_unrolled)
            unrolled = f"{u_first * 1e3:.0f} ms | {u_steady * 1e3:.1f} ms"
        else:
            unrolled = "(not run) | (not run)"
        peer = jax_scan(n)
        peer = "n/a" if peer is None else f"{peer[0] * 1e3:.0f} ms / {peer[1] * 1e3:.2f} ms"
        print(f"| {n:,} | {first * 1e3:.0f} ms | {steady * 1e3:.1f} ms | "
              f"{steady / n * 1e6:.0f} us | {unrolled} | {peer} |")


if __name__ == "__main__":
    main()

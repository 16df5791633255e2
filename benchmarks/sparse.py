"""Sparse Jacobians and Hessians: colours, speed against dense derivatives,
the cost at 10^6 unknowns and of sparsity detection.

    python -m benchmarks.sparse [--quick] [colours] [speed] [large]

Prints, for each case, the colours against the pattern's maximum row degree
(a lower bound); the 2-D energy's sparse Hessian against the dense
sg.hessian (at the sizes where the dense one can be built at all), against
the dense Hessian from n compiled HVPs, and against jax.hessian when JAX is
installed; time and peak memory of the sparse Hessian at 1000 x 1000
(10^6 unknowns); and the time of sparsity detection (trace + pattern pass) at
10^6 unknowns. Timings are medians of repeated calls after the first
(compiling) one.
"""
from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import time

import numpy as np

import staticgrad as sg
from compiler.passes.sparsity import hessian_pattern, jacobian_pattern


def median_time(fun, *args, repeat=5):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fun(*args)
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def ratio(r: float) -> str:
    return f"{r:,.0f}x" if r >= 10 else f"{r:.2f}x"


def energy_2d(side: int):
    def energy(u):
        u = u.reshape(side, side)
        return (0.5 * np.sum((u[1:, :] - u[:-1, :]) ** 2)
                + 0.5 * np.sum((u[:, 1:] - u[:, :-1]) ** 2) + np.sum(np.exp(u) - u))
    return energy


def bratu(side: int):
    h = 1.0 / (side + 1)

    def residual(u):
        U = u.reshape(side, side)
        P = np.concatenate([np.zeros((1, side)), U, np.zeros((1, side))], axis=0)
        P = np.concatenate([np.zeros((side + 2, 1)), P, np.zeros((side + 2, 1))], axis=1)
        return ((4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]) / h ** 2
                - 6.0 * np.exp(U)).ravel()
    return residual


def nine_point(side: int):
    def energy(u):
        u = u.reshape(side, side)
        return np.sum((u[1:, 1:] - u[:-1, :-1]) ** 2 * (u[1:, :-1] - u[:-1, 1:]) ** 2) \
            + np.sum(u ** 4)
    return energy


def colours_table(quick: bool):
    n = 1000 if quick else 10_000
    cases = [
        ("tridiagonal Jacobian", "jacobian",
         lambda x: x ** 3 - np.concatenate([x[1:], [0.0]]) - np.concatenate([[0.0], x[:-1]]),
         np.ones(n)),
        ("Bratu 5-point Jacobian 100x100", "jacobian", bratu(100), np.zeros(100 * 100)),
        ("least-squares residuals (rows 2-4)", "jacobian",
         lambda p: np.concatenate([(p.reshape(-1, 2)[:, :1] * np.exp(-p.reshape(-1, 2)[:, 1:]
                                                                   * np.linspace(0, 1, 5))).ravel(),
                                   p[3::2] - p[1:-2:2]]), np.ones(2000)),
        ("5-point Hessian 30x30", "hessian", energy_2d(30), np.zeros(900)),
        ("5-point Hessian 100x100", "hessian", energy_2d(100), np.zeros(10_000)),
        ("5-point Hessian 300x300", "hessian", energy_2d(300), np.zeros(90_000)),
        ("9-point (cross terms) Hessian 100x100", "hessian", nine_point(100), np.zeros(10_000)),
        ("arrowhead Hessian n=10^4", "hessian", lambda x: np.sum(x[0] * x ** 2), np.ones(10_000)),
    ]
    print("## Colours against the lower bound (max nonzeros in a row)\n")
    print("| case | unknowns | nnz | max row degree | colours | mode | order "
          "| pattern + colouring |")
    print("|---|---|---|---|---|---|---|---|")
    for name, kind, fun, x in cases:
        derivative = (sg.sparse_jacobian if kind == "jacobian" else sg.sparse_hessian)(fun)
        start = time.perf_counter()
        info = derivative.sparsity(x)
        elapsed = time.perf_counter() - start
        degree = int(np.diff(info.pattern.indptr).max())
        print(f"| {name} | {x.size:,} | {info.pattern.nnz:,} | {degree} | {info.n_colors} | "
              f"{info.mode} | {info.strategy} | {fmt(elapsed)} |")
    print()


def dense_hessian_time(side: int, timeout: float) -> str:
    """sg.hessian of the energy, warm call, in a subprocess (it may not finish)."""
    code = (f"import time, numpy as np, staticgrad as sg\n"
            f"from benchmarks.sparse import energy_2d, median_time\n"
            f"H = sg.hessian(energy_2d({side})); u = np.zeros({side * side})\n"
            f"start = time.perf_counter(); H(u); H(u); first = time.perf_counter() - start\n"
            f"print(median_time(H, u, repeat=3), first)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout)
        warm, first = map(float, proc.stdout.split())
        return f"{warm} {first}"
    except (subprocess.TimeoutExpired, ValueError):
        return ""


def speed(quick: bool):
    print("## 2-D energy: sparse Hessian against dense Hessians\n")
    print("| grid | unknowns | colours | sparse Hessian | dense sg.hessian (first call) | "
          "ratio | n compiled HVPs | ratio | jax.hessian | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    has_jax = importlib.util.find_spec("jax") is not None
    # sg.hessian builds one HVP per unknown into one kernel: its Numba compile
    # takes about a minute at 5 x 5 and grows with n, so it is only tried small.
    sides = (5, 8, 100) if not quick else (5, 30)
    for side in sides:
        f = energy_2d(side)
        u = np.random.default_rng(0).uniform(-0.5, 0.5, side * side)
        H = sg.sparse_hessian(f)
        H(u)
        H(u)                                  # compiles
        sparse_time = median_time(H, u, repeat=7)
        dense = dense_hessian_time(side, timeout=600) if side <= 8 else ""
        if dense:
            warm, first = map(float, dense.split())
            dense_cell = f"{fmt(warm)} ({fmt(first)}) | {ratio(warm / sparse_time)}"
        else:
            dense_cell = "not built (a graph of n HVPs) | -"
        hvp = sg.hvp(f)
        basis = np.zeros(u.size)
        hvp(u, basis)
        hvp(u, basis)

        def by_hvps():
            out = np.empty((u.size, u.size))
            e = np.zeros(u.size)
            for k in range(u.size):
                e[k] = 1.0
                out[:, k] = hvp(u, e)
                e[k] = 0.0
            return out
        hvp_time = median_time(by_hvps, repeat=1 if side >= 100 else 3)
        jax_cell = "not installed | -"
        if has_jax:
            import jax
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            def jf(v):
                w = v.reshape(side, side)
                return (0.5 * jnp.sum((w[1:, :] - w[:-1, :]) ** 2)
                        + 0.5 * jnp.sum((w[:, 1:] - w[:, :-1]) ** 2) + jnp.sum(jnp.exp(w) - w))
            jh = jax.jit(jax.hessian(jf))
            jh(u).block_until_ready()
            jt = median_time(lambda: jh(u).block_until_ready(), repeat=3)
            jax_cell = f"{fmt(jt)} | {ratio(jt / sparse_time)}"
        print(f"| {side}x{side} | {u.size:,} | {H.sparsity(u).n_colors} | {fmt(sparse_time)} | "
              f"{dense_cell} | {fmt(hvp_time)} | {ratio(hvp_time / sparse_time)} | {jax_cell} |")
    print()


def large(quick: bool):
    side = 300 if quick else 1000
    n = side * side
    f = energy_2d(side)
    u = np.random.default_rng(0).uniform(-0.5, 0.5, n)
    print(f"## {side} x {side} ({n:,} unknowns)\n")

    for attempt in ("first", "repeated"):
        start = time.perf_counter()
        graph = sg.jit(f).trace(u).ir
        traced = time.perf_counter() - start
        start = time.perf_counter()
        pattern = hessian_pattern(graph, graph.outputs[0], graph.params[0])
        detect = time.perf_counter() - start
        print(f"- sparsity detection (Hessian pattern), {attempt}: trace {fmt(traced)} + "
              f"pattern pass {fmt(detect)} = {fmt(traced + detect)}; {pattern.nnz:,} nonzeros")
    residual = bratu(side)
    graph = sg.jit(residual).trace(u).ir
    start = time.perf_counter()
    jpattern = jacobian_pattern(graph, graph.outputs[0], graph.params[0])
    print(f"- sparsity detection (Bratu Jacobian pattern pass): "
          f"{fmt(time.perf_counter() - start)}; "
          f"{jpattern.nnz:,} nonzeros")
    start = time.perf_counter()
    jinfo = sg.sparse_jacobian(residual).sparsity(u)
    print(f"- Bratu Jacobian pattern + colouring (colours in NumPy rounds): "
          f"{fmt(time.perf_counter() - start)}, {jinfo.n_colors} colours ({jinfo.mode}, "
          f"{jinfo.strategy})")

    H = sg.sparse_hessian(f)
    start = time.perf_counter()
    info = H.sparsity(u)
    print(f"- pattern + colouring: {fmt(time.perf_counter() - start)}, {info.n_colors} colours "
          f"({info.strategy})")
    start = time.perf_counter()
    H(u)
    first = time.perf_counter() - start
    start = time.perf_counter()
    H(u)
    second = time.perf_counter() - start
    warm = median_time(H, u, repeat=5)
    result = H(u)
    print(f"- sparse Hessian: first call {fmt(first)} (trace and compile of the compressed "
          f"HVPs), second {fmt(second)}, then {fmt(warm)} per call; {result.nnz:,} entries")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dense_gb = n * n * 8 / 1e9
    print(f"- peak resident memory of this process: {rss:,.0f} MB "
          f"(a dense Hessian would take {dense_gb:,.0f} GB)")
    print()


def main():
    quick = "--quick" in sys.argv
    sections = [a for a in sys.argv[1:] if not a.startswith("--")] or ["colours", "speed", "large"]
    for name in sections:
        {"colours": colours_table, "speed": speed, "large": large}[name](quick)


if __name__ == "__main__":
    main()

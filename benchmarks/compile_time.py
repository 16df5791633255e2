"""Compile time against graph size: RK4 steps of the Lorenz system, unrolled.

    python -m benchmarks.compile_time              # N = 1, 2, 4, 8, 16, 32
    python -m benchmarks.compile_time --max-n 8

For each N, a fresh process with an empty kernel cache (a new temporary
``STATICGRAD_CACHE_DIR``) imports staticgrad and calls ``sg.grad(loss)(p, u0)``
twice, where ``loss`` integrates the Lorenz system with N explicit RK4 steps
written as a Python loop (so the graph grows linearly with N). It prints the
graph's node count (forward and adjoint, after the passes), the first call
(trace, passes, code generation and, with compiles blocking as here, Numba),
the second call (the kernel), their sum, the CPU time of both (a
figure other processes on a shared machine disturb less), and the exponents
of least-squares fits of log(time) against log(nodes). One thread, as
``benchmarks/run.py``.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ONE_RUN = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import staticgrad as sg
from benchmarks.lorenz import rk4_loss
from compiler.codegen.compile import stats

loss = rk4_loss({n})
p, u0 = np.array([10.0, 28.0, 8.0 / 3.0]), np.array([1.0, 1.0, 1.0])
g = sg.grad(loss)
cpu = time.process_time()
start = time.perf_counter()
first = g(p, u0)
t1 = time.perf_counter() - start
start = time.perf_counter()
second = g(p, u0)
t2 = time.perf_counter() - start
cpu = time.process_time() - cpu
assert np.allclose(first, second, rtol=1e-10, atol=1e-12), (first, second)
nodes = len(g.lower(p, u0).graph.needed())
print(json.dumps({{"first": t1, "second": t2, "cpu": cpu, "nodes": nodes, "stats": stats}}))
"""


def one_run(n: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        # blocking compiles: the second call waits for the kernel (with the
        # default background compile it would be answered by the interpreter)
        env = dict(os.environ, STATICGRAD_CACHE_DIR=cache, PYTHONPATH=ROOT,
                   STATICGRAD_COMPILE_IN_BACKGROUND="0")
        done = subprocess.run([sys.executable, "-c", ONE_RUN.format(root=ROOT, n=n)],
                              env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=32, help="largest N (powers of two from 1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    options = parser.parse_args()
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= options.max_n]
    print("| N | graph nodes | first call | second call | first + second | CPU time | "
          "kernels compiled |")
    print("|---|---|---|---|---|---|---|")
    nodes, totals, cpus = [], [], []
    for n in sizes:
        r = one_run(n, options.timeout)
        total = r["first"] + r["second"]
        nodes.append(r["nodes"])
        totals.append(total)
        cpus.append(r["cpu"])
        print(f"| {n} | {r['nodes']} | {r['first']:.2f} s | {r['second']:.2f} s | "
              f"{total:.2f} s | {r['cpu']:.2f} s | {r['stats']['compilations']} |", flush=True)
    if len(sizes) > 1:
        for label, times in (("first + second", totals), ("CPU time", cpus)):
            slope = np.polyfit(np.log(nodes), np.log(times), 1)[0]
            print(f"\nfitted exponent ({label} against nodes): {slope:.2f}")


if __name__ == "__main__":
    main()

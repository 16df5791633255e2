"""A trajectory built in a Python loop and stacked (issue: tracing must stay linear).

    python -m benchmarks.trajectory

Prints, per number of unrolled steps, the median trace time and the time of
the optimisation passes (each over 3 runs), the node count, and the first and
second call of ``sg.grad`` on the configured backend. Timings are never tests.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import staticgrad as sg
from compiler.passes import optimize


def trajectory(steps: int):
    def loss(x0, v):
        x, states = x0, []
        for _ in range(steps):
            x = x + 0.01 * np.sin(x) * v
            states.append(x)
        return np.sum(np.stack(states) ** 2)
    return loss


def _median(fun, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fun()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    x0, v = np.ones(3), np.ones(3)
    print("| steps | nodes | trace (s) | passes (s) | first call (s) | later call (ms) |")
    print("|---|---|---|---|---|---|")
    for steps in (50, 100, 200, 400):
        g = sg.grad(trajectory(steps))
        _, leaves, treedef = g._key((x0, v), {})
        traced = g._trace((x0, v), {}, leaves, treedef)[0].graph
        trace = _median(lambda: g._trace((x0, v), {}, leaves, treedef))
        passes = _median(lambda: optimize(traced))
        start = time.perf_counter()
        g(x0, v)
        first = time.perf_counter() - start
        later = _median(lambda: g(x0, v), 7)
        print(f"| {steps} | {len(traced)} | {trace:.3f} | {passes:.3f} | {first:.2f} | "
              f"{later * 1e3:.2f} |")


if __name__ == "__main__":
    main()

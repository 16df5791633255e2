"""Row-blocked loops against two BLAS passes: the gradient of the logistic
NLL (``benchmarks/workloads.py``) over matrices of several sizes, and of a
softmax regression (a softmax over each row), with several block sizes.

    python -m benchmarks.rowblock            # 15 samples per kernel
    python -m benchmarks.rowblock --quick    # 5

For each case, the kernel of ``sg.grad`` generated with row blocks (blocks
of ``ROW_BLOCK_BYTES`` of the matrix, and of other sizes) and without (the
size threshold ``ROW_BLOCK_MIN_BYTES`` raised beyond the matrix), their
samples interleaved; medians in ms and the ratio blocked / two passes. The
threshold and block size in ``compiler/codegen/source.py`` come from here.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import staticgrad as sg  # noqa: E402
from benchmarks.workloads import _logistic_args, logistic_nll  # noqa: E402
from compiler.codegen import compile as compile_module  # noqa: E402
from compiler.codegen.compile import compile_graph  # noqa: E402
from compiler.codegen.source import Generator  # noqa: E402

SHAPES = [(1_000, 100), (2_500, 100), (10_000, 100), (100_000, 100), (100_000, 20),
          (20_000, 500)]


def softmax_nll(W, X, Y):
    """Multinomial logistic regression: a softmax over each row of X @ W."""
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    return -np.sum(Y * (z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))))


def _softmax_args(n, d, k):
    def make():
        rng = np.random.default_rng(4)
        return (rng.normal(size=(d, k)) * 0.1, rng.normal(size=(n, d)),
                np.eye(k)[rng.integers(0, k, n)])
    return make


#: (name, function, arguments) of the table's rows
CASES = [(f"logistic {n:,} x {d}", logistic_nll, _logistic_args(n, d)) for n, d in SHAPES] + [
    ("softmax rows 100,000 x 100, k = 10", softmax_nll, _softmax_args(100_000, 100, 10))]
BLOCK_BYTES = [1 << 16, 1 << 17, 1 << 18, 1 << 19]


def kernel(graph, min_bytes: int, block_bytes: int):
    saved = Generator.ROW_BLOCK_MIN_BYTES, Generator.ROW_BLOCK_BYTES
    Generator.ROW_BLOCK_MIN_BYTES, Generator.ROW_BLOCK_BYTES = min_bytes, block_bytes
    try:
        compile_module._memory.clear()   # its key is the graph's: generate again
        return compile_graph(graph, name="rowblock benchmark")
    finally:
        Generator.ROW_BLOCK_MIN_BYTES, Generator.ROW_BLOCK_BYTES = saved


def medians(fns, args, samples: int) -> list:
    for fn in fns:
        fn(*args)
    number = max(1, int(0.02 / max(1e-6, min(_once(fn, args) for fn in fns))))
    times = [[] for _ in fns]
    for _ in range(samples):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            for _ in range(number):
                fn(*args)
            out.append((time.perf_counter() - start) / number)
    return [float(np.median(t)) for t in times]


def _once(fn, args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    samples = 5 if options.quick else 15
    print("| gradient | matrix | two passes | " + " | ".join(
        f"blocks of {b >> 10} kB" for b in BLOCK_BYTES) + " |")
    print("|" + "---|" * (3 + len(BLOCK_BYTES)))
    for name, fun, make in CASES:
        args = make()
        graph = sg.grad(fun).lower(*args).graph
        plain = kernel(graph, 1 << 62, Generator.ROW_BLOCK_BYTES)
        blocked = [kernel(graph, 0, b) for b in BLOCK_BYTES]
        assert "rows in blocks" not in plain.source
        for k in blocked:
            assert "rows in blocks" in k.source
            np.testing.assert_allclose(k(*args)[0], plain(*args)[0], rtol=1e-9, atol=1e-9)
        times = medians([plain] + blocked, args, samples)
        print(f"| {name} | {args[1].nbytes / 1e6:.1f} MB | {times[0] * 1e3:.2f} ms | "
              + " | ".join(f"{t * 1e3:.2f} ms ({t / times[0]:.2f})" for t in times[1:]) + " |",
              flush=True)


if __name__ == "__main__":
    main()

"""Logistic regression on 4,000,000 x 50 float64 (1.6 GB) that never sits in
one process: dask generates X and y chunk by chunk on a LocalCluster of two
worker processes and keeps them there; scipy.optimize.minimize (L-BFGS-B) is
given the exact loss and gradient by sg.data_parallel(sg.value_and_grad(...)),
which runs the compiled per-chunk gradient on the workers and adds up the
chunks' results (a row-weighted mean).

Run: python examples/dask_logistic.py [--rows 4000000] [--cols 50] [--chunk-rows 250000]
(Needs the dask extra: pip install "staticgrad[dask]".)
"""
import argparse
import statistics
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster, wait
from scipy.optimize import minimize

import staticgrad as sg


def logistic_nll(w, X, y):
    """The mean negative log-likelihood: a mean of per-row terms."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def make_data(rows, cols, chunk_rows, seed=0):
    """X ~ N(0, 1) and y ~ Bernoulli(sigmoid(X @ w_true)), generated chunk by chunk."""
    rng = da.random.default_rng(seed)
    w_true = np.linspace(-1.0, 1.0, cols)
    X = rng.normal(size=(rows, cols), chunks=(chunk_rows, cols))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.uniform(size=rows, chunks=chunk_rows) < p).astype(np.float64)
    return X, y, w_true


class Timed:
    """Count the calls of a function and time each."""

    def __init__(self, fun):
        self.fun, self.seconds, self.last = fun, [], None

    def __call__(self, *args):
        start = time.perf_counter()
        self.last = self.fun(*args)
        self.seconds.append(time.perf_counter() - start)
        return self.last


def main():
    parser = argparse.ArgumentParser(description="logistic regression on a dask LocalCluster")
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    args = parser.parse_args()
    chunk_rows = min(args.chunk_rows, args.rows)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        start = time.perf_counter()
        X, y, w_true = make_data(args.rows, args.cols, chunk_rows)
        X, y = client.persist([X, y])            # generated on the workers, kept there
        wait([X, y])
        print(f"data: {args.rows:,} x {args.cols} float64 ({X.nbytes / 1e9:.2f} GB) in "
              f"{X.numblocks[0]} chunks on 2 workers, generated in "
              f"{time.perf_counter() - start:.1f} s")

        value_and_grad = sg.data_parallel(sg.value_and_grad(logistic_nll), data_argnums=(1, 2),
                                          reduce="mean")
        w0 = np.zeros(args.cols)
        start = time.perf_counter()
        value_and_grad(w0, X, y)                 # the workers trace and compile (or load) once
        print(f"first call (workers trace, compile or load the kernels): "
              f"{time.perf_counter() - start:.2f} s")

        if args.rows <= 500_000:                 # small enough to check in this process
            X_here, y_here = client.compute([X, y], sync=True)
            value, grad = value_and_grad(w0, X, y)
            ref_value, ref_grad = sg.value_and_grad(logistic_nll)(w0, X_here, y_here)
            difference = max(abs(value - ref_value) / abs(ref_value),
                             np.max(np.abs(grad - ref_grad)) / np.max(np.abs(ref_grad)))
            print(f"max relative difference to the single-process gradient = {difference:.1e}")

        fun = Timed(lambda w: value_and_grad(w, X, y))
        iteration = [0]

        def progress(w):
            iteration[0] += 1
            if iteration[0] % 5 == 1:
                print(f"  iteration {iteration[0]:3d}: loss {fun.last[0]:.6f}, "
                      f"{len(fun.seconds)} gradients, "
                      f"{statistics.median(fun.seconds) * 1e3:.1f} ms per gradient", flush=True)

        start = time.perf_counter()
        result = minimize(fun, w0, jac=True, method="L-BFGS-B", callback=progress,
                          options={"gtol": 1e-8})
        elapsed = time.perf_counter() - start

    w = result.x
    print(f"success = {result.success} ({result.message}), {result.nit} iterations, "
          f"{len(fun.seconds)} gradients in {elapsed:.1f} s")
    print(f"final loss = {result.fun:.6f}")
    print(f"time per gradient = {statistics.median(fun.seconds) * 1e3:.1f} ms (median)")
    print(f"cosine(w, w_true) = {w @ w_true / np.linalg.norm(w) / np.linalg.norm(w_true):.4f}")


if __name__ == "__main__":
    main()

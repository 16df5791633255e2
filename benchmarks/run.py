"""Benchmarks: staticgrad's compiled gradients against hand-written Numba.

    python -m benchmarks.run            # all workloads, markdown table on stdout
    python -m benchmarks.run --quick    # skip the fresh-process timings
    python -m benchmarks.run --no-vector-math   # libm in every loop (sg.config.vector_math)

For each workload (``benchmarks/workloads.py``): the steady-state call (median
of calibrated samples, interleaved with the reference's and with ``value_and_grad``'s), the first call in a fresh process with an empty
kernel cache (trace + passes + codegen + Numba compile), and the first call
in a fresh process with a warm cache; ratios against the hand-written Numba
gradient. JAX ``jit(grad)``, PyTorch and HIPS autograd columns appear when
those packages are installed. One thread throughout (NUMBA_NUM_THREADS and
the BLAS thread variables are set to 1 before anything is imported).
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import peers  # noqa: E402

peers.single_thread()
from benchmarks.workloads import (WORKLOADS, staticgrad_function,  # noqa: E402
                                  value_and_grad_function)


def _batch(fn, args, min_sample: float) -> int:
    """Calls per sample so that one sample lasts at least ``min_sample`` s."""
    fn(*args)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        if time.perf_counter() - start >= min_sample:
            return number
        number *= 2


def median_times(fns, args, min_sample: float = 0.05, samples: int = 9) -> list:
    """Median seconds per call of each function; their samples interleave, so
    that a load on the machine weighs on all of them alike."""
    numbers = [_batch(fn, args, min_sample) for fn in fns]
    times = [[] for _ in fns]
    for _ in range(samples):
        for fn, number, out in zip(fns, numbers, times):
            start = time.perf_counter()
            for _ in range(number):
                fn(*args)
            out.append((time.perf_counter() - start) / number)
    return [float(np.median(t)) for t in times]


# A fresh process's first call of workload {index}; benchmarks/first_call.py goes on from it.
FIRST_CALL_START = """
import os, sys, time, json
sys.path.insert(0, {root!r})
import numpy as np
import numba
import staticgrad as sg
from benchmarks.workloads import WORKLOADS, staticgrad_function
from compiler.codegen.compile import stats
w = WORKLOADS[{index}]
args = w.args()
f = staticgrad_function(w)
start = time.perf_counter()
f(*args)
first = time.perf_counter() - start
"""
FIRST_CALL = FIRST_CALL_START + """print(json.dumps({{"first": first, "stats": stats}}))
"""


def first_call(index: int, cache: str) -> dict:
    """The first call in a fresh process (after importing numpy, numba, staticgrad)."""
    # The first call waits for the kernel (and answers from it); with the
    # background compile, the default, it answers from the trace instead:
    # benchmarks/first_call.py times both.
    env = dict(os.environ, STATICGRAD_CACHE_DIR=cache, PYTHONPATH=ROOT,
               STATICGRAD_COMPILE_IN_BACKGROUND="0")
    done = subprocess.run([sys.executable, "-c", FIRST_CALL.format(root=ROOT, index=index)],
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip fresh-process timings")
    parser.add_argument("--only", help="run workloads whose name contains this text")
    parser.add_argument("--no-vector-math", action="store_true",
                        help="sg.config.vector_math = False (libm in every loop); "
                             "steady-state columns only")
    options = parser.parse_args()
    if options.no_vector_math:
        import staticgrad as sg
        sg.config.vector_math = False
        options.quick = True   # the fresh processes would not see the setting

    available = peers.available()
    head = ["workload", "staticgrad", "hand-written Numba", "ratio (staticgrad / Numba)",
            "value_and_grad (/ grad, / Numba)"]
    head += [f"{p} (staticgrad / it)" for p in available]
    if not options.quick:
        head += ["cold first call", "warm-cache first call"]
    rows = []
    for index, w in enumerate(WORKLOADS):
        if options.only and options.only not in w.name:
            continue
        args = w.args()
        f = staticgrad_function(w)
        f(*args)
        f.compile(*args)    # steady state: the kernel answers from here on
        got, want = f(*args), w.reference(*args)
        got, want = (got if isinstance(got, tuple) else (got,)), \
            (want if isinstance(want, tuple) else (want,))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=w.name)
        both = value_and_grad_function(w)
        if both is not None:
            both.compile(*args)
            value, grads = both(*args)
            np.testing.assert_allclose(value, w.fun(*args), rtol=1e-10, err_msg=w.name)
            for a, b in zip(grads if isinstance(grads, tuple) else (grads,), want):
                np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=w.name)
            ours, ref, vg = median_times([f, w.reference, both], args)
        else:
            ours, ref = median_times([f, w.reference], args)
        row = [w.name, fmt(ours), fmt(ref), f"{ours / ref:.2f}",
               "n/a" if both is None else f"{fmt(vg)} ({vg / ours:.2f}, {vg / ref:.2f})"]
        for p in available:
            fn = peers.gradient(p, w)
            peer = None if fn is None else median_times([fn], args)[0]
            row.append("n/a" if fn is None else f"{fmt(peer)} ({ours / peer:.2f})")
        if not options.quick:
            with tempfile.TemporaryDirectory() as cache:
                cold = first_call(index, cache)
                warm = first_call(index, cache)
            assert warm["stats"]["compilations"] == 0, warm
            row += [fmt(cold["first"]), fmt(warm["first"])]
        rows.append(row)
        print(" | ".join(row), file=sys.stderr, flush=True)

    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}, "
          f"Numba {importlib.import_module('numba').__version__}; one thread.\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

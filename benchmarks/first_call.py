"""First-call latency of a new function, in fresh processes.

    python -m benchmarks.first_call                 # every workload, 3 processes each
    python -m benchmarks.first_call --only rosen --repeat 5

For each workload of ``benchmarks/workloads.py`` and each compile mode
(``sg.config.compile_in_background`` on, the default, and off), fresh
processes time, after ``import numpy, numba, staticgrad`` and making the
arguments:

- *first call*: the first call of the gradient (trace, adjoint, passes, and
  with the background mode off, code generation and compilation);
- *kernel ready*: from the start of the first call until the compiled kernel
  answers (the background compile waited for);

with an empty kernel cache (*cold*) and with the cache the cold process left
(*warm*). Medians over the processes; one thread for Numba and BLAS.
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
sys.path.insert(0, ROOT)

from benchmarks.run import FIRST_CALL_START, fmt  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

PROCESS = FIRST_CALL_START + """for specs in f._cache.table.values():
    for spec in specs:
        spec.switch(wait=True)
f(*args)
ready = time.perf_counter() - start
print(json.dumps({{"first": first, "ready": ready, "stats": stats}}))
"""


def one_process(index: int, cache: str, background: bool) -> dict:
    env = dict(os.environ, STATICGRAD_CACHE_DIR=cache, PYTHONPATH=ROOT,
               STATICGRAD_COMPILE_IN_BACKGROUND="1" if background else "0")
    done = subprocess.run([sys.executable, "-c", PROCESS.format(root=ROOT, index=index)],
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run workloads whose name contains this text")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    options = parser.parse_args()
    head = ["workload", "compile", "cold first call", "cold kernel ready",
            "warm-cache first call", "warm-cache kernel ready"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for index, w in enumerate(WORKLOADS):
        if options.only and options.only not in w.name:
            continue
        for background in (True, False):
            runs = {"cold": [], "warm": []}
            for _ in range(options.repeat):
                with tempfile.TemporaryDirectory() as cache:
                    runs["cold"].append(one_process(index, cache, background))
                    runs["warm"].append(one_process(index, cache, background))
            assert all(r["stats"]["compilations"] == 0 for r in runs["warm"]), runs["warm"]
            row = [w.name, "background" if background else "blocking"]
            for kind in ("cold", "warm"):
                row += [fmt(float(np.median([r[what] for r in runs[kind]])))
                        for what in ("first", "ready")]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()

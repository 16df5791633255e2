"""One training step (forward + backward + SGD update) of a two-layer tanh MLP
in eager mode: X 256x64, W1 64x128, W2 128x10, float32.

Rows: the first step of a new structure (fragments traced, the backward graph
derived, interpreted); the static-mode step (backward cached; compiled when
the backend is Numba) under each backend; the same step written by hand in
NumPy (the floor); PyTorch's eager step when torch is installed.

    python benchmarks/bench_eager.py [--repeat 200]
"""
import argparse
import os
import statistics
import time

# One BLAS thread for every row (PyTorch too): on a shared machine, idle BLAS
# threads spinning against other processes make timings meaningless.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import staticgrad as sg  # noqa: E402
from staticgrad import autograd  # noqa: E402

rng = np.random.default_rng(0)
X = rng.standard_normal((256, 64)).astype(np.float32)
Y = rng.standard_normal((256, 10)).astype(np.float32)
W1_0 = (rng.standard_normal((64, 128)) * 0.1).astype(np.float32)
W2_0 = (rng.standard_normal((128, 10)) * 0.1).astype(np.float32)
LR = 0.01


def sg_step(x, y, w1, w2):
    loss = sg.mean((sg.tanh(x @ w1) @ w2 - y) ** 2)
    loss.backward()
    with sg.no_grad():
        w1 -= LR * w1.grad
        w2 -= LR * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
    return loss


def sg_setup():
    return (sg.tensor(X), sg.tensor(Y), sg.tensor(W1_0.copy(), requires_grad=True),
            sg.tensor(W2_0.copy(), requires_grad=True))


def numpy_step(w1, w2):
    h = np.tanh(X @ w1)
    r = h @ w2 - Y
    g = (2.0 / r.size) * r
    g2 = h.T @ g
    g1 = X.T @ ((g @ w2.T) * (1 - h * h))
    w1 -= LR * g1
    w2 -= LR * g2
    return np.mean(r * r)


def median_us(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def first_step_us(repeat):
    def fresh():
        autograd.clear_cache()  # and the traced fragments
        args = sg_setup()
        start = time.perf_counter()
        sg_step(*args)
        return time.perf_counter() - start
    return statistics.median(fresh() for _ in range(repeat)) * 1e6


def interleaved_us(step, baseline, repeat):
    """Medians of ``step`` and ``baseline`` timed alternately, so that a change
    of load on a shared machine hits both alike."""
    a, b = [], []
    for _ in range(repeat):
        a.append(median_us(step, 1))
        b.append(median_us(baseline, 1))
    return statistics.median(a), statistics.median(b)


def static_step_us(backend, repeat, baseline):
    sg.config.backend = backend
    autograd.clear_cache()
    args = sg_setup()
    for _ in range(3):  # past the compile threshold
        sg_step(*args)
    us, base = interleaved_us(lambda: sg_step(*args), baseline, repeat)
    info = autograd.cache_info()
    assert info.builds == 1 and info.compiles == 1, info
    return us, base


def torch_step_us(repeat):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    w1 = torch.tensor(W1_0, requires_grad=True)
    w2 = torch.tensor(W2_0, requires_grad=True)

    def step(w1=w1, w2=w2):  # parameters, as sg_step's: ``w1 -= ...`` rebinds a local
        loss = torch.mean((torch.tanh(x @ w1) @ w2 - y) ** 2)
        loss.backward()
        with torch.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    for _ in range(5):
        step()
    return median_us(step, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    saved = sg.config.backend
    w1, w2 = W1_0.copy(), W2_0.copy()

    def baseline():
        numpy_step(w1, w2)

    # Each row is timed alternately with the hand-written NumPy step; the
    # ratio is to that step measured alongside.
    first = first_step_us(max(5, args.repeat // 20))
    rows = [("first step (trace + derive + interpret)", first, median_us(baseline, 50))]
    backends = ["interpreter"]
    try:
        import compiler.codegen  # noqa: F401
        backends.append("numba")
    except ImportError:
        pass
    for backend in backends:
        rows.append((f"static mode, {backend} backend", *static_step_us(backend, args.repeat,
                                                                         baseline)))
    sg.config.backend = saved
    torch_us = torch_step_us(args.repeat)
    print(f"MLP training step, X {X.shape}, W1 {W1_0.shape}, W2 {W2_0.shape}, float32, one BLAS "
          f"thread; median of {args.repeat} steps")
    for name, us, base in rows:
        print(f"  {name:40s} {us:9.1f} us  = {us / base:5.2f}x the NumPy step ({base:.1f} us)")
    if torch_us is None:
        print("  PyTorch is not installed: no PyTorch row")
    else:
        print(f"  {'PyTorch eager step':40s} {torch_us:9.1f} us")
        for name, us, _ in rows[1:]:
            print(f"  {name} / PyTorch: {us / torch_us:.2f}x")


if __name__ == "__main__":
    main()

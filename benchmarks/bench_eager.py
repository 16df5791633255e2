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


def static_step_us(backend, repeat):
    sg.config.backend = backend
    autograd.clear_cache()
    args = sg_setup()
    for _ in range(3):  # past the compile threshold
        sg_step(*args)
    us = median_us(lambda: sg_step(*args), repeat)
    info = autograd.cache_info()
    assert info.builds == 1 and info.compiles == 1, info
    return us


def torch_step_us(repeat):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    w1 = torch.tensor(W1_0, requires_grad=True)
    w2 = torch.tensor(W2_0, requires_grad=True)

    def step():
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
    rows = {"first step (trace + derive + interpret)": first_step_us(max(5, args.repeat // 20)),
            "static mode, interpreter backend": static_step_us("interpreter", args.repeat)}
    try:
        import compiler.codegen  # noqa: F401
        rows["static mode, numba backend"] = static_step_us("numba", args.repeat)
    except ImportError:
        pass
    sg.config.backend = saved
    w1, w2 = W1_0.copy(), W2_0.copy()
    rows["hand-written NumPy step"] = median_us(lambda: numpy_step(w1, w2), args.repeat)
    torch_us = torch_step_us(args.repeat)
    if torch_us is not None:
        rows["PyTorch eager step"] = torch_us
    reference_name = "PyTorch eager step" if torch_us is not None else "hand-written NumPy step"
    reference = rows[reference_name]
    print(f"MLP training step, X {X.shape}, W1 {W1_0.shape}, W2 {W2_0.shape}, float32; "
          f"median of {args.repeat} steps")
    for name, us in rows.items():
        print(f"  {name:42s} {us:10.1f} us   {us / reference:6.2f}x {reference_name}")
    if torch_us is None:
        print("  (PyTorch is not installed: no PyTorch row)")


if __name__ == "__main__":
    main()

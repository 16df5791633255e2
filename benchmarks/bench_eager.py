"""One training step (forward + backward + SGD update) of a two-layer tanh MLP
in eager mode: X 256x64, W1 64x128, W2 128x10, float32.

Rows: the first step of a new structure (fragments traced, the backward graph
derived, interpreted); the static-mode step (backward cached; compiled when
the backend is Numba) under each backend. Each row is timed in turn with the
same step written by hand in NumPy (the floor) and PyTorch's eager step (when
torch is installed), and given as a ratio to each.

    python benchmarks/bench_eager.py [--repeat 300]
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


def train_step(lib, x, y, w1, w2):
    """One step in PyTorch's spelling, which staticgrad shares: ``lib`` is ``sg`` or ``torch``."""
    loss = lib.mean((lib.tanh(x @ w1) @ w2 - y) ** 2)
    loss.backward()
    with lib.no_grad():
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


def timer(step):
    """A function timing one call of ``step``, in seconds."""
    def timed():
        start = time.perf_counter()
        step()
        return time.perf_counter() - start
    return timed


def first_step():
    """Seconds of one step of a new structure: the caches (backward graphs and
    traced fragments) cleared and fresh tensors made beforehand, untimed."""
    autograd.clear_cache()
    args = sg_setup()
    return timer(lambda: train_step(sg, *args))()


def round_robin_us(timers, repeat):
    """Median microseconds of each timer, the timers run in turn, so that a
    change of load on a shared machine hits all alike."""
    times = [[] for _ in timers]
    for _ in range(repeat):
        for time_one, t in zip(timers, times):
            t.append(time_one())
    return [statistics.median(t) * 1e6 for t in times]


def static_step(backend):
    """The static-mode step under ``backend``, past the compile threshold (and
    checked against the NumPy step: same weights after the same steps)."""
    sg.config.backend = backend
    autograd.clear_cache()
    args = sg_setup()
    w1, w2 = W1_0.copy(), W2_0.copy()
    for _ in range(3):
        train_step(sg, *args)
        numpy_step(w1, w2)
    info = autograd.cache_info()
    assert info.builds == 1 and info.compiles == 1, info
    np.testing.assert_allclose(args[2].detach().numpy(), w1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(args[3].detach().numpy(), w2, rtol=1e-4, atol=1e-6)
    return lambda: train_step(sg, *args)


def torch_step():
    """PyTorch's eager step (one thread), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    w1 = torch.tensor(W1_0, requires_grad=True)
    w2 = torch.tensor(W2_0, requires_grad=True)
    for _ in range(5):
        train_step(torch, x, y, w1, w2)
    return lambda: train_step(torch, x, y, w1, w2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    saved = sg.config.backend
    sg.config.compile_in_background = False   # the static-mode rows time the kernel
    w1, w2 = W1_0.copy(), W2_0.copy()
    baselines = [timer(lambda: numpy_step(w1, w2))]
    torch_fn = torch_step()
    if torch_fn is not None:
        baselines.append(timer(torch_fn))

    # Each row is timed in turn with the hand-written NumPy step and PyTorch's
    # step; its ratios are to those measured alongside it.
    first_repeat = max(5, args.repeat // 20)
    rows = [("first step (trace + derive + interpret)",
             *round_robin_us([first_step] + baselines, first_repeat))]
    backends = ["interpreter"]
    try:
        import compiler.codegen  # noqa: F401
        backends.append("numba")
    except ImportError:
        pass
    for backend in backends:
        rows.append((f"static mode, {backend} backend",
                     *round_robin_us([timer(static_step(backend))] + baselines, args.repeat)))
    sg.config.backend = saved
    print(f"MLP training step, X {X.shape}, W1 {W1_0.shape}, W2 {W2_0.shape}, float32, one BLAS "
          f"thread; medians of {args.repeat} steps (first step: {first_repeat})")
    for name, us, numpy_us, *torch_us in rows:
        line = f"  {name:40s} {us:8.1f} us = {us / numpy_us:5.2f}x NumPy ({numpy_us:.1f} us)"
        if torch_us:
            line += f", {us / torch_us[0]:5.2f}x PyTorch ({torch_us[0]:.1f} us)"
        print(line)
    if torch_fn is None:
        print("  PyTorch is not installed: no PyTorch column")


if __name__ == "__main__":
    main()

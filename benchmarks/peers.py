"""Peer libraries, when installed (the optional extra ``bench``): JAX
``jit(grad)``, PyTorch autograd and HIPS autograd gradients of the workloads."""
from __future__ import annotations

import importlib.util
import os


def single_thread() -> None:
    """One thread for the peers too (set before they are imported)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                          "intra_op_parallelism_threads=1")
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(1)


def available() -> list:
    return [name for name, module in (("JAX", "jax"), ("PyTorch", "torch"),
                                      ("autograd", "autograd"))
            if importlib.util.find_spec(module) is not None]


def gradient(peer: str, w):
    """A callable of the workload's NumPy arguments, or None when not supported."""
    if peer == "JAX" and w.transform == "hvp":
        import jax
        jax.config.update("jax_enable_x64", True)
        g = jax.grad(_rewrite(w.fun, __import__("jax.numpy").numpy))
        fun = jax.jit(lambda x, v: jax.jvp(g, (x,), (v,))[1])
        return lambda *args: jax.block_until_ready(fun(*args))
    if w.transform != "grad":
        return None
    if peer == "JAX":
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        fun = jax.jit(jax.grad(_rewrite(w.fun, jnp), argnums=w.argnums))
        return lambda *args: jax.block_until_ready(fun(*args))
    if peer == "autograd":
        import autograd
        import autograd.numpy as anp
        return autograd.grad(_rewrite(w.fun, anp), w.argnums)
    if peer == "PyTorch":
        import torch

        def grad(*args):
            ts = [torch.tensor(a, requires_grad=k in _nums(w.argnums)) for k, a in enumerate(args)]
            out = _rewrite(w.fun, _TorchNumpy(torch))(*ts)
            return torch.autograd.grad(out, [ts[k] for k in _nums(w.argnums)])
        return grad
    return None


def _nums(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _rewrite(fun, np_module):
    """The workload with ``np`` bound to another NumPy-like module."""
    import types
    return types.FunctionType(fun.__code__, dict(fun.__globals__, np=np_module), fun.__name__)


class _TorchNumpy:
    """The few NumPy names the workloads use, on torch tensors."""

    def __init__(self, torch):
        self.t = torch

    def __getattr__(self, name):
        t = self.t
        return {"sum": t.sum, "mean": t.mean, "tanh": t.tanh, "sin": t.sin, "cos": t.cos,
                "exp": t.exp, "log1p": t.log1p,
                "logaddexp": lambda a, b: t.logaddexp(t.as_tensor(a, dtype=t.float64), b)}[name]

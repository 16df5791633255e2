"""staticgrad: exact gradients of NumPy code, traced to a static graph and
compiled with Numba."""
from staticgrad import errors, logs  # logs: STATICGRAD_LOG=recompiles|debug
from staticgrad.errors import (ArgumentTypeError, InPlaceMutationError, IntegerInputError,
                               LoopLimitError, LoopTypeError, NonScalarOutputError,
                               RetraceLimitError, ShapeError, StaticgradError,
                               TracerConversionError, UnsupportedOperationError)
from staticgrad.specialize import config
from staticgrad.parallel import data_parallel  # Dask scale-out; dask is imported on use
from staticgrad.transforms import grad, hessian, hvp, jacobian, jit, jvp, value_and_grad, vjp
from staticgrad.check import check_grads
from staticgrad.loops import cond, fori_loop, scan, while_loop
from staticgrad.sparse import sparse_hessian, sparse_jacobian
from staticgrad import numpy_extra  # noqa: F401  installs the rest of the NumPy table
from staticgrad import autograd  # eager: sg.tensor(..., requires_grad=True), .backward()
from staticgrad.autograd import GradientTape, enable_grad, no_grad, set_grad_enabled
from staticgrad.eager import (Tensor, abs, add, amax, amin, arange, bool_, cat, clamp, clip, concat,
                              concatenate, cos, cosh, div, divide, dot, empty, exp, expm1, float32,
                              float64, full, int32, int64, is_tensor, log, log1p, log_softmax,
                              logsumexp, manual_seed, matmul, maximum, mean, minimum, mul,
                              multiply, norm, ones, ones_like, outer, pow, prod, rand, randn,
                              reduce_sum, relu, reshape, sigmoid, sign, sin, sinh, softmax,
                              softplus, sqrt, square, stack, sub, subtract, sum, tan, tanh,
                              tensor, to_tensor, transpose, where, zeros, zeros_like)

__version__ = "0.1.0"

__all__ = [
    "jit", "grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp", "check_grads",
    "sparse_jacobian", "sparse_hessian",
    "config", "data_parallel",
    "fori_loop", "scan", "while_loop", "cond", "LoopLimitError", "LoopTypeError",
    "errors", "logs", "StaticgradError", "ShapeError", "UnsupportedOperationError",
    "TracerConversionError", "InPlaceMutationError", "RetraceLimitError",
    "NonScalarOutputError", "IntegerInputError", "ArgumentTypeError",
    # eager autograd (PyTorch / Paddle / TensorFlow spellings)
    "autograd", "Tensor", "tensor", "to_tensor", "no_grad", "enable_grad", "set_grad_enabled",
    "GradientTape", "float32", "float64", "int32", "int64", "bool_", "empty", "zeros", "ones",
    "full", "zeros_like", "ones_like", "arange", "rand", "randn", "manual_seed", "is_tensor",
    "sum", "mean", "prod", "amax", "amin", "norm", "exp", "log", "log1p", "expm1", "sin", "cos",
    "tan", "tanh", "sinh", "cosh", "sqrt", "abs", "sign", "square", "pow", "maximum", "minimum",
    "where", "clamp", "clip", "dot", "matmul", "outer", "add", "sub", "subtract", "mul",
    "multiply", "div", "divide", "sigmoid", "relu", "softplus", "softmax", "log_softmax",
    "logsumexp", "reduce_sum", "concatenate", "concat", "cat", "stack", "reshape", "transpose",
]

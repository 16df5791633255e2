"""The eager Tensor: PyTorch/Paddle-style autograd on top of the static core.

Split by concern, each module importing only the ones above it:

  dtypes.py       the dtypes the eager API names; the default float
  grad_mode.py    whether operations record (no_grad, enable_grad, set_grad_enabled)
  records.py      version counters and the grad_fn nodes with their edges
  printing.py     how a Tensor prints (as PyTorch)
  tensor_type.py  the Tensor class: storage, autograd attributes, conversions
  dispatch.py     fragments: an operation traced once per signature, cached, run
  operations.py   Tensor's operators, NumPy protocols and methods (installed)
  factories.py    tensor(), zeros(), rand(), ...
  functions.py    sg.sigmoid, sg.sum, sg.exp, ... on Tensors, traced values, arrays

``backward`` lives in staticgrad.autograd.
"""
from staticgrad.eager.dtypes import DEFAULT_FLOAT, bool_, float32, float64, int32, int64
from staticgrad.eager.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from staticgrad.eager.tensor_type import Tensor
from staticgrad.eager import operations  # noqa: F401  installs Tensor's operations
from staticgrad.eager.factories import (arange, empty, full, manual_seed, ones, ones_like, rand,
                                        randn, seed, tensor, to_tensor, zeros, zeros_like)
from staticgrad.eager.functions import (abs, add, amax, amin, cat, clamp, clip, concat,
                                        concatenate, cos, cosh, div, divide, dot, exp, expm1,
                                        is_tensor, log, log1p, log_softmax, logsumexp, matmul,
                                        maximum, mean, minimum, mul, multiply, norm, outer, pow,
                                        prod, reduce_sum, relu, reshape, sigmoid, sign, sin, sinh,
                                        softmax, softplus, sqrt, square, stack, sub, subtract, sum,
                                        tan, tanh, transpose, where)

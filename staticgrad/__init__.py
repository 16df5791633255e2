"""staticgrad: exact gradients of NumPy code, traced to a static graph and
compiled with Numba."""
from staticgrad import errors, logs  # logs: STATICGRAD_LOG=recompiles|debug
from staticgrad.errors import (InPlaceMutationError, IntegerInputError, NonScalarOutputError,
                               RetraceLimitError, ShapeError, StaticgradError,
                               TracerConversionError, UnsupportedOperationError)
from staticgrad.specialize import config
from staticgrad.transforms import grad, hessian, hvp, jacobian, jit, jvp, value_and_grad, vjp
from staticgrad.check import check_grads

__version__ = "0.1.0"

__all__ = [
    "jit", "grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp", "check_grads",
    "config",
    "errors", "logs", "StaticgradError", "ShapeError", "UnsupportedOperationError",
    "TracerConversionError", "InPlaceMutationError", "RetraceLimitError",
    "NonScalarOutputError", "IntegerInputError",
]

"""The exception types users catch.

Every error staticgrad raises on purpose is a ``StaticgradError`` and also a
subclass of the built-in type a NumPy user would expect (``TypeError``,
``ValueError``, ``RuntimeError``), so ``except ValueError`` keeps working.
"""
from compiler.errors import CompilerError as StaticgradError
from compiler.errors import (GuardFailure, LoopLimitError, LoopTypeError, ShapeError,
                             UnsupportedOperationError)


class TracerConversionError(StaticgradError, RuntimeError):
    """A traced value was used where a concrete NumPy value is required
    (``np.asarray(x)``, ``float(x)`` of a value being differentiated, ...).

    A RuntimeError, not a TypeError: NumPy swallows TypeErrors raised while
    it converts an element (``out[i] = x``) and would hide this message."""


class UnsupportedAttributeError(UnsupportedOperationError, AttributeError):
    """An ndarray method or attribute staticgrad does not trace (``x.tofile``):
    an UnsupportedOperationError that is also the AttributeError ``hasattr``
    expects."""


class ArgumentTypeError(StaticgradError, TypeError):
    """An argument a transformed function cannot take: an array of dtype object,
    or a non-array value that is not hashable (non-array arguments are static,
    part of the cache key)."""


class InPlaceMutationError(StaticgradError, RuntimeError):
    """A traced function mutated one of its inputs (or a view of a value) in place."""


class RetraceLimitError(StaticgradError, RuntimeError):
    """A function needed more specialisations than the configured limit; the
    message names the guard (source line) that keeps failing."""


class NonScalarOutputError(StaticgradError, TypeError):
    """``grad`` of a function whose output is not a scalar."""


class IntegerInputError(StaticgradError, TypeError):
    """Differentiation with respect to an integer (or boolean) input."""


__all__ = ["StaticgradError", "ShapeError", "UnsupportedOperationError", "GuardFailure",
           "TracerConversionError", "InPlaceMutationError", "RetraceLimitError",
           "NonScalarOutputError", "IntegerInputError", "LoopLimitError", "LoopTypeError",
           "ArgumentTypeError", "UnsupportedAttributeError"]

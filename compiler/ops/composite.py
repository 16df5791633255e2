"""Composites: functions built from primitives. They need no rules of their
own -- differentiation and compilation see only the primitives."""
from __future__ import annotations

import numpy as np

import compiler.ops as O
from compiler.errors import ShapeError
from compiler.ops import fold_axes

__all__ = ["mean", "var", "expand_dims", "squeeze", "swapaxes", "moveaxis", "stack",
           "square", "reciprocal", "logsumexp", "softmax", "log_softmax", "norm",
           "dot", "outer", "sigmoid", "softplus", "ravel", "log2", "log10", "exp2",
           "power", "trace", "diagonal"]


def mean(x, axis=None, keepdims=False):
    axes = fold_axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = O.sum(x, axis=axes, keepdims=keepdims)
    if total.dtype.kind not in "fc":
        total = O.cast(total, np.float64)
    return total / count


def var(x, axis=None, keepdims=False, ddof=0):
    axes = fold_axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    centred = x - mean(x, axis=axes, keepdims=True)
    return O.sum(centred * centred, axis=axes, keepdims=keepdims) / (count - ddof)


def expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = sorted(a % ndim for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return O.reshape(x, tuple(shape))


def squeeze(x, axis=None):
    if axis is None:
        axes = tuple(k for k, n in enumerate(x.shape) if n == 1)
    else:
        axes = fold_axes(axis, x.ndim)
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: cannot select axis {a} of shape {x.shape}: size != 1")
    return O.reshape(x, tuple(n for k, n in enumerate(x.shape) if k not in axes))


def swapaxes(x, a, b):
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return O.transpose(x, tuple(axes))


def moveaxis(x, source, destination):
    """np.moveaxis: ``source`` and ``destination`` are ints or sequences of them."""
    from numpy.lib.array_utils import normalize_axis_tuple

    source = normalize_axis_tuple(source, x.ndim, "source")
    destination = normalize_axis_tuple(destination, x.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [k for k in range(x.ndim) if k not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return O.transpose(x, tuple(order))


def stack(xs, axis=0):
    xs = list(xs)
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ShapeError("stack: all input arrays must have the same shape, got "
                         + ", ".join(str(x.shape) for x in xs))
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ShapeError(f"stack: axis {axis} is out of bounds for {ndim} dimensions")
    return O.concatenate([expand_dims(x, axis % ndim) for x in xs], axis=axis % ndim)


def power(x, y):
    """x ** y: a Python-number exponent is an attribute (``x ** 2`` compiles to
    ``x * x``-speed code and its derivative never takes ``log(x)``)."""
    if isinstance(y, (int, float, np.integer, np.floating)) and isinstance(x, O.Value):
        return O.pow_scalar(x, p=y)
    return O.pow(x, y)


def square(x):
    return x * x


def reciprocal(x):
    return 1 / x


def logsumexp(x, axis=None, keepdims=False):
    # Shift by the (gradient-free) max for stability; the result's gradient
    # is softmax either way.
    axes = fold_axes(axis, x.ndim)
    shift = O.stop_gradient(O.amax(x, axis=axes, keepdims=True))
    total = O.sum(O.exp(x - shift), axis=axes, keepdims=True)
    out = O.log(total) + shift
    return out if keepdims else O.reshape(out, tuple(n for k, n in enumerate(x.shape) if k not in axes))


def softmax(x, axis=-1):
    return O.exp(x - logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def _two_norm(x, axis, keepdims):
    # The 2-norm of a zero vector has gradient 0, as in PyTorch (not 0 * inf):
    # sqrt only ever sees a positive argument, and the where blocks the rest.
    squares = O.sum(x * x, axis=axis, keepdims=keepdims)
    zero = O.equal(squares, 0)
    return O.where(zero, 0, O.sqrt(O.where(zero, 1, squares)))


def norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm: vector norms (any ord NumPy accepts) and the matrix norms
    'fro', 1, -1, inf and -inf. The spectral (2, -2) and nuclear norms need a
    singular value decomposition and are refused by name."""
    if x.dtype.kind not in "fc":
        x = O.cast(x, np.float64)
    if axis is None:
        if ord is None:
            return _two_norm(x, None, keepdims)
        if x.ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if len(axes) == 1:
        (a,) = axes
        if ord is None or ord == 2:
            return _two_norm(x, a, keepdims)
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order '{ord}' for vectors")
        if ord == np.inf:
            return O.amax(O.abs(x), axis=a, keepdims=keepdims)
        if ord == -np.inf:
            return O.amin(O.abs(x), axis=a, keepdims=keepdims)
        if ord == 0:
            return O.sum(O.cast(O.not_equal(x, 0), x.dtype), axis=a, keepdims=keepdims)
        if ord == 1:
            return O.sum(O.abs(x), axis=a, keepdims=keepdims)
        p = float(ord)
        return O.sum(O.abs(x) ** p, axis=a, keepdims=keepdims) ** (1.0 / p)
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError("Improper number of dimensions to norm.")
    row, col = axes
    if ord is None or ord in ("fro", "f"):
        result = _two_norm(x, axes, False)
    elif ord in (1, -1):
        reduce = O.amax if ord == 1 else O.amin
        result = reduce(O.sum(O.abs(x), axis=row), axis=col - (col > row))
    elif ord in (np.inf, -np.inf):
        reduce = O.amax if ord == np.inf else O.amin
        result = reduce(O.sum(O.abs(x), axis=col), axis=row - (row > col))
    elif ord in (2, -2, "nuc"):
        raise O.UnsupportedOperationError(
            f"np.linalg.norm: argument ord={ord!r} (a matrix norm computed from singular "
            "values) is not supported on traced values")
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        result = O.reshape(result, tuple(shape))
    return result


def dot(a, b):
    """np.dot: matmul for 1-D and 2-D operands, a product when one is 0-d."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return O.matmul(a, b)
    raise O.UnsupportedOperationError(
        f"dot: operands of {a.ndim} and {b.ndim} dimensions are not supported; use matmul or "
        "tensordot-free reshapes")


def outer(a, b):
    return O.reshape(a, (a.size, 1)) * O.reshape(b, (1, b.size))


def sigmoid(x):
    return 0.5 * (O.tanh(0.5 * x) + 1)


def softplus(x):
    return O.logaddexp(0, x)


def ravel(x):
    return O.reshape(x, (x.size,))


def log2(x):
    return O.log(x) * float(1 / np.log(2))  # a Python float keeps float32 float32


def log10(x):
    return O.log(x) * float(1 / np.log(10))


def exp2(x):
    return O.exp(x * float(np.log(2)))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """np.diagonal: the diagonal of the (axis1, axis2) planes, as a last axis."""
    from numpy.lib.array_utils import normalize_axis_index

    a1, a2 = normalize_axis_index(axis1, x.ndim), normalize_axis_index(axis2, x.ndim)
    if a1 == a2:
        raise ValueError("axis1 and axis2 cannot be the same")
    rest = [k for k in range(x.ndim) if k not in (a1, a2)]
    planes = O.transpose(x, tuple(rest + [a1, a2]))
    rows, cols = x.shape[a1], x.shape[a2]
    offset = int(offset)
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    i = np.arange(n)
    return O.index(planes, (Ellipsis, i - min(offset, 0), i + max(offset, 0)))


def trace(x, offset=0, axis1=0, axis2=1):
    return O.sum(diagonal(x, offset, axis1, axis2), axis=-1)

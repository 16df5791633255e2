"""BLAS calls shared by every kernel, compiled once per machine.

Numba's ``np.dot`` costs about a second to compile for each operand layout.
Kernels call it through this cached dispatcher instead, so a new kernel only
links the machine code compiled (and cached by Numba beside this file, or in
its user-wide cache) the first time a layout was seen.
"""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def dot(a, b):
    return np.dot(a, b)


@numba.njit(cache=True, nogil=True)
def dot_into(a, b, out):
    """``out[...] = a @ b`` (a row-blocked loop writes a block of rows in place)."""
    np.dot(a, b, out)

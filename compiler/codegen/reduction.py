"""Floating-point sums that vectorise and stay as accurate as NumPy's.

A sum written ``acc = acc + x`` in a loop is a chain of dependent additions
in one order: LLVM may not reorder it (that would change the rounding), so
the loop runs one element at a time. Kernels accumulate with
``accumulate(acc, x)`` instead: the same addition, compiled with the one
fast-math flag that allows reassociation (``reassoc``) and inlined into the
loop, so LLVM keeps several partial sums in vector registers (the loop is
vectorised; nothing else in the kernel is reassociated). Over long loops the
kernel sums blocks of ``BLOCK`` elements that way and combines the block sums
pairwise, as NumPy's ``sum`` does (``pairwise_push``, ``pairwise_total``):
the error grows with the logarithm of the number of blocks, not linearly.

Compiled once per machine and cached by Numba beside this file, like
:mod:`compiler.codegen.blas`.
"""
import numba

#: elements per block of a long sum (the block's sum is vectorised; blocks
#: are combined pairwise)
BLOCK = 1024
#: depth of the pairwise stack: enough for 2**64 blocks
DEPTH = 64


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def accumulate(acc, x):
    return acc + x


@numba.njit(cache=True, nogil=True)
def pairwise_push(stack, depth, count, value):
    """Push the ``count``-th block sum (from 1) and add the top two partial
    sums while they cover equal numbers of blocks; return the new depth."""
    stack[depth] = value
    depth += 1
    while count & 1 == 0:
        stack[depth - 2] += stack[depth - 1]
        depth -= 1
        count >>= 1
    return depth


@numba.njit(cache=True, nogil=True)
def pairwise_total(stack, depth, zero):
    """The sum of the partial sums on the stack, smallest first."""
    total = zero
    for k in range(depth - 1, -1, -1):
        total = stack[k] + total
    return total

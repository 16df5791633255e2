"""The schedule of a checkpointed reverse sweep, for compiled loops.

A loop whose carries are a checkpointed tape (``checkpoints=k``, see
``Revolve`` in :mod:`compiler.ops.control`) stores no carries in a kernel:
the loop reading the tape backwards (the adjoint) recomputes them from the
initial carry, keeping at most k more carries in a preallocated array of
k + 1 snapshot slots (slot 0 holds the initial carry). What to recompute
and when is this module's *schedule*, a sequence of actions, each

    ``(slot, first, t, keep)``: load the carry entering step ``first`` from
    snapshot ``slot``, run the forward body over steps ``first .. t-1``
    (``t - first`` steps recomputed); then, if ``keep >= 0``, store the
    carry (the one entering step ``t``) into snapshot ``keep``, else take
    the reverse step ``t`` with it.

The reverse steps come in the order t = n-1 .. 0, and the splits are the
interpreter's (``_best_split``: the fewest recomputed steps possible,
``revolve_cost(n, k)``); tests/test_loops.py checks both against the
interpreter's ``Revolve``. The schedule depends on the trip count, which a
while loop finds at run time, so it is made at run time too, one action at a
time, by the recursion of ``Revolve._reverse`` unrolled onto an explicit
stack: ``revolve_start(n, k)`` returns the state (a small int64 array),
``revolve_next(state)`` writes the next action into ``state[0:4]`` and
returns False when the sweep is done. The memory is O(k), whatever n.

Pure integer arithmetic, compiled by Numba and inlined into the kernels that
call it. The generated module's text carries ``SOURCE_HASH`` (as for
:mod:`compiler.codegen.vecmath`): Numba's disk cache does not notice a change
in a function a cached kernel calls.
"""
from __future__ import annotations

import hashlib

import numba
import numpy as np

__all__ = ["revolve_start", "revolve_next", "revolve_cost", "best_split", "recomputations",
           "IMPORT_LINE", "SOURCE_HASH"]

_OPTIONS = dict(cache=True, nogil=True)

# the state array: the action, then the depth of the stack, k, and per level
# d = 0 .. k the range [lo, hi) of steps still to walk back through whose
# first carry (the one entering step lo) is snapshot d
_DEPTH, _K, _LEVELS = 4, 5, 6


@numba.njit(**_OPTIONS)
def _binomial(s, r):
    """C(s + r, s), exactly (each partial product is a binomial coefficient)."""
    j = min(s, r)
    m = s + r
    c = 1
    for i in range(1, j + 1):
        c = c * (m - j + i) // i
    return c


@numba.njit(**_OPTIONS)
def revolve_cost(n, snapshots):
    """``compiler.ops.control.revolve_cost``: the fewest steps recomputed to
    walk back through n steps with ``snapshots`` carries besides the initial one."""
    if n <= 1:
        return 0
    if snapshots == 0:              # every step from the initial carry (a closed form:
        return n * (n - 1) // 2     # the search below would take n rounds)
    s = snapshots + 1
    r = 0
    while _binomial(s, r) < n:
        r += 1
    return r * n - _binomial(s + 1, r - 1)


@numba.njit(**_OPTIONS)
def _total(n, free, m):
    return m + revolve_cost(n - m, free - 1) + revolve_cost(m, free)


@numba.njit(**_OPTIONS)
def best_split(n, free):
    """``compiler.ops.control._best_split``: where the next snapshot goes in a
    walk back through n steps with ``free`` snapshots left (a convex sum:
    the first m where it stops decreasing)."""
    lo, hi = 1, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _total(n, free, mid + 1) < _total(n, free, mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


# revolve_start and revolve_next have explicit signatures: a kernel calls them
# with literal arguments (a static trip count, k), on which Numba would
# otherwise compile, and cache, one specialisation per value.
@numba.njit("int64[::1](int64, int64)", **_OPTIONS)
def revolve_start(n, snapshots):
    """The state of a reverse sweep through n steps with k = ``snapshots``."""
    state = np.zeros(_LEVELS + 2 * (snapshots + 1), np.int64)
    state[_K] = snapshots
    state[_LEVELS + snapshots + 1] = n      # level 0: [0, n) from the initial carry
    return state


@numba.njit("boolean(int64[::1])", **_OPTIONS)
def revolve_next(state):
    """Write the next action into ``state[0:4]``; False when there is none."""
    k = state[_K]
    lo, hi = _LEVELS, _LEVELS + k + 1
    d = state[_DEPTH]
    while True:
        a, b = state[lo + d], state[hi + d]
        if b - a > 1:
            if d == k:      # no snapshot left: recompute each step from snapshot d
                state[hi + d] = b - 1
                state[0], state[1], state[2], state[3] = d, a, b - 1, -1
                return True
            m = a + best_split(b - a, k - d)
            state[hi + d] = m           # once [m, b) is walked, [a, m) remains
            state[lo + d + 1], state[hi + d + 1] = m, b
            state[_DEPTH] = d + 1
            state[0], state[1], state[2], state[3] = d, a, m, d + 1
            return True
        if b - a == 1:
            state[hi + d] = a
            state[0], state[1], state[2], state[3] = d, a, a, -1
            return True
        if d == 0:
            return False
        d -= 1
        state[_DEPTH] = d


@numba.njit(**_OPTIONS)
def recomputations(n, snapshots):
    """The steps the schedule of (n, snapshots) recomputes (benchmarks print it)."""
    state = revolve_start(n, snapshots)
    total = 0
    while revolve_next(state):
        total += state[2] - state[1]
    return total


IMPORT_LINE = "from compiler.codegen.revolve import revolve_next, revolve_start"

with open(__file__, "rb") as _source:
    #: identifies this module's code, for the names of cached generated modules
    SOURCE_HASH = hashlib.sha256(_source.read()).hexdigest()[:16]

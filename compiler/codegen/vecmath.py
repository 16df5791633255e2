"""Transcendental functions that LLVM vectorises inside a generated loop.

Numba lowers ``np.exp(x)`` on a scalar to a call of the C library's ``exp``;
the llvmlite wheels carry no SVML, so a loop containing such a call runs one
element at a time. The functions here are written in plain arithmetic instead:
range reduction, a polynomial, and reconstruction of ``2**n`` by building the
float's bits from an integer. They contain no calls and no data-dependent
branches (every special case is an arithmetic select), so a loop that calls
them compiles to packed AVX instructions.

Each is a scalar ``numba.njit(inline="always", error_model="numpy")``
function of a float64, correct to within 4 ulp of NumPy over the whole float64
range (tests/test_vecmath.py sweeps millions of points and every special
value: +-0, +-inf, nan, denormal inputs and outputs, the overflow and underflow
thresholds). No ``fastmath``: the rounding tricks below rely on IEEE order.
The calling loop must be compiled with ``error_model="numpy"`` too (the
generated kernels are): the functions are inlined into it in Numba's IR, and
under Python's error model each division gets a zero check, a branch that
stops LLVM from vectorising.

- ``vm_exp``, ``vm_expm1``, ``vm_log``, ``vm_log1p``, ``vm_tanh``,
  ``vm_sigmoid`` (``1 / (1 + exp(-x))``, computed without overflow): every
  float64 input.
- ``vm_sin``, ``vm_cos``: inputs with ``|x| <= SIN_COS_BOUND`` (2**19 * pi/2),
  and +-inf/nan (giving nan). A finite input beyond the bound gives nan, never
  a wrong number; a caller that cannot bound its input checks
  ``sin_cos_in_range`` in the same loop (an OR reduction, which vectorises)
  and recomputes with libm when it is false (see "integration" below).
- float32: the rule is "compute in float64, round once":
  ``np.float32(vm_exp(np.float64(x)))``; the conversions vectorise too, and
  the result is within 1 ulp of the exact value in float32, and within 4 of
  NumPy's float32 functions (``vector_math_call`` writes the expression).

Method (after the classic Cody-Waite/Cephes/SLEEF designs; no code copied):
``exp(x) = 2**n * exp(r)`` with ``n = round(x / ln2)`` by the
``1.5 * 2**52`` shifter and ``r`` by a two-part ``ln2``; ``log(x)`` from the
exponent and mantissa bits, ``log(1 + f) = f - f**2/2 + s*(f**2/2 + R(s**2))``
with ``s = f / (2 + f)``; ``sin``/``cos`` reduce by ``pi/2`` in three exact
33-bit parts and evaluate both polynomial kernels, choosing by quadrant. The
polynomials are Taylor series economised in Chebyshev polynomials (exactly,
with fractions, at import) to the fewest terms whose error is below 0.02 ulp
on the reduced interval, evaluated by Horner's rule with LLVM's
``fmuladd`` (a fused multiply-add where the CPU has one).
"""
from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["vm_exp", "vm_expm1", "vm_log", "vm_log1p", "vm_tanh", "vm_sigmoid",
           "vm_sin", "vm_cos", "sin_cos_in_range", "SIN_COS_BOUND", "VECTOR_MATH",
           "vector_math_call", "range_check_call", "IMPORT_LINE", "SOURCE_HASH",
           "elementwise_loop"]


# -- bit casts: LLVM's bitcast vectorises (vmovq / a no-op in a ymm register) ---
@intrinsic
def _bits(typingctx, x):
    """The int64 with the bits of the float64 ``x``."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 with the bits of the int64 ``i``."""
    if i != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _mul_add(typingctx, a, b, c):
    """a * b + c as LLVM's fmuladd: one fused instruction where the CPU has FMA,
    a multiply and an add elsewhere (never a libm call); used in polynomials,
    whose error bounds hold either way."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fmuladd = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(double, [double] * 3), "llvm.fmuladd.f64")
        return builder.call(fmuladd, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


# -- constants, split exactly from decimal expansions with fractions ------------
_PI = Fraction("3.14159265358979323846264338327950288419716939937510"
               "58209749445923078164062862089986280348253421170679")
_LN2 = Fraction("0.69314718055994530941723212145817656807550013436025"
                "52541206800094933936219696947156058633269964186875")


def _head(value: Fraction, bits: int) -> float:
    """``value`` truncated to ``bits`` significant bits (so products by small
    integers are exact)."""
    exponent = math.floor(math.log2(abs(float(value))))
    scale = Fraction(2) ** (bits - 1 - exponent)
    return float(Fraction(math.floor(value * scale)) / scale)


# ln2 in two parts: 42 bits, so n * _LN2_HI is exact for |n| < 2**11.
_LN2_HI = _head(_LN2, 42)
_LN2_LO = float(_LN2 - Fraction(_LN2_HI))
_LOG2E = float(1 / _LN2)
# pi/2 in three 33-bit parts (n * part exact for |n| < 2**20) and a tail.
_PIO2 = _PI / 2
_PIO2_1 = _head(_PIO2, 33)
_PIO2_2 = _head(_PIO2 - Fraction(_PIO2_1), 33)
_PIO2_2T = float(_PIO2 - Fraction(_PIO2_1) - Fraction(_PIO2_2))
_PIO2_3 = _head(_PIO2 - Fraction(_PIO2_1) - Fraction(_PIO2_2), 33)
_PIO2_3T = float(_PIO2 - Fraction(_PIO2_1) - Fraction(_PIO2_2) - Fraction(_PIO2_3))
_TWO_OVER_PI = float(1 / _PIO2)
#: sin/cos are computed for |x| up to this bound (quadrant number < 2**19).
SIN_COS_BOUND = float(2 ** 19 * _PIO2)

_SHIFTER = 6755399441055744.0     # 1.5 * 2**52: x + it - it rounds x to an integer
_SHIFTER_BITS = int(np.float64(_SHIFTER).view(np.int64))
_SQRT2 = math.sqrt(2.0)
_TWO52 = 2.0 ** 52
_MIN_NORMAL = 2.2250738585072014e-308
_INF = math.inf
_NAN = math.nan
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000

def _economise(taylor, lo, hi, degree):
    """The polynomial of ``degree`` nearest in max-norm, within the neglected
    Chebyshev coefficients, to the polynomial ``taylor`` (coefficients of x**k,
    exact fractions) on [lo, hi]: the Taylor series expanded in Chebyshev
    polynomials of t = (x - c) / h, truncated, and converted back, all exactly.
    Fewer terms than the Taylor series for the same error (Lanczos economisation)."""
    c, h = (Fraction(lo) + Fraction(hi)) / 2, (Fraction(hi) - Fraction(lo)) / 2
    cheb = [Fraction(0)]
    for coefficient in reversed(taylor):            # Horner: cheb = cheb * (c + h t) + a
        shifted = [Fraction(0)] * (len(cheb) + 1)
        for i, a in enumerate(cheb):
            shifted[i] += c * a
            if i == 0:                                 # t T0 = T1
                shifted[1] += h * a
            else:                                      # t Tn = (Tn+1 + Tn-1) / 2
                shifted[i + 1] += h * a / 2
                shifted[i - 1] += h * a / 2
        shifted[0] += coefficient
        cheb = shifted
    cheb = cheb[:degree + 1]
    chebyshev_t = [[Fraction(1)], [Fraction(0), Fraction(1)]]   # Tn in powers of t
    while len(chebyshev_t) < len(cheb):
        nxt = [Fraction(0)] + [2 * v for v in chebyshev_t[-1]]
        for i, v in enumerate(chebyshev_t[-2]):
            nxt[i] -= v
        chebyshev_t.append(nxt)
    in_t = [Fraction(0)] * len(cheb)
    for k, ck in enumerate(cheb):
        for i, v in enumerate(chebyshev_t[k]):
            in_t[i] += ck * v
    in_x = [Fraction(0)] * len(cheb)                   # t = (x - c) / h
    for i, v in enumerate(in_t):
        for j in range(i + 1):
            in_x[j] += v * math.comb(i, j) * (-c) ** (i - j) / h ** i
    return [float(v) for v in in_x]


# Polynomials (degrees chosen so the economisation error is below 0.02 ulp of
# the result; tests/test_vecmath.py measures the end-to-end error):
# exp(r) - 1 = r + r**2 Q(r), Q = sum 1/k! r**(k-2), |r| <= ln2/2 (+ margin)
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12) = _economise(
    [Fraction(1, math.factorial(k)) for k in range(2, 22)], Fraction(-3466, 10000),
    Fraction(3466, 10000), 10)
# log(1 + f) = f - f**2/2 + s (f**2/2 + z P(z)), P = sum 2/(2k+1) z**(k-1), z = s**2 <= 0.0295
(_L1, _L2, _L3, _L4, _L5, _L6, _L7) = _economise(
    [Fraction(2, 2 * k + 1) for k in range(1, 20)], 0, Fraction(2944, 100000), 6)
# sin(y) = y - y**3/6 + y**5 S(z), cos(y) = 1 - z/2 + z**2 C(z), z = y**2 <= (pi/4)**2
(_S2, _S3, _S4, _S5, _S6, _S7) = _economise(
    [Fraction((-1) ** k, math.factorial(2 * k + 1)) for k in range(2, 16)], 0,
    Fraction(6169, 10000), 5)
_S1 = -1.0 / 6.0
(_C2, _C3, _C4, _C5, _C6, _C7) = _economise(
    [Fraction((-1) ** k, math.factorial(2 * k)) for k in range(2, 16)], 0,
    Fraction(6169, 10000), 5)

_jit = numba.njit(inline="always", error_model="numpy", nogil=True)


# -- building blocks -----------------------------------------------------------------
@_jit
def _pow2(k):
    """2.0**k for an int64 k in [-1022, 1023], from its bits."""
    return _from_bits((k + 1023) << 52)


@_jit
def _scale(p, n):
    """p * 2**n for n in [-1100, 1024], rounding once into the denormals."""
    half = n >> 1
    return p * _pow2(half) * _pow2(n - half)


@_jit
def _round(y):
    """(y rounded to the nearest integer as a float, and as an int64), |y| < 2**51.

    Adding 1.5 * 2**52 leaves the integer in the low bits of the sum, so the
    int64 is a subtraction of bit patterns: no float-to-int64 conversion,
    which AVX2 has no packed instruction for."""
    shifted = y + _SHIFTER
    return shifted - _SHIFTER, _bits(shifted) - _SHIFTER_BITS


@_jit
def _expm1_poly(r):
    """exp(r) - 1 for |r| <= 0.35."""
    q = _E12
    q = _mul_add(q, r, _E11)
    q = _mul_add(q, r, _E10)
    q = _mul_add(q, r, _E9)
    q = _mul_add(q, r, _E8)
    q = _mul_add(q, r, _E7)
    q = _mul_add(q, r, _E6)
    q = _mul_add(q, r, _E5)
    q = _mul_add(q, r, _E4)
    q = _mul_add(q, r, _E3)
    q = _mul_add(q, r, _E2)
    return r + r * r * q


@_jit
def _log1p_kernel(f, k, correction):
    """log(2**k * (1 + f)) + correction for f in [sqrt(1/2) - 1, sqrt(2) - 1]."""
    s = f / (2.0 + f)
    z = s * s
    big_r = _L7
    big_r = _mul_add(big_r, z, _L6)
    big_r = _mul_add(big_r, z, _L5)
    big_r = _mul_add(big_r, z, _L4)
    big_r = _mul_add(big_r, z, _L3)
    big_r = _mul_add(big_r, z, _L2)
    big_r = _mul_add(big_r, z, _L1)
    big_r = big_r * z
    half_f2 = 0.5 * f * f
    return k * _LN2_HI + (f - (half_f2 - (s * (half_f2 + big_r) + (k * _LN2_LO + correction))))


@_jit
def _split_mantissa(u):
    """(f, k) with u = 2**k * (1 + f), 1 + f in [sqrt(1/2), sqrt(2)), for a positive
    normal u."""
    i = _bits(u)
    e = (i >> 52) - 1023
    m = _from_bits((i & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    return m - 1.0, np.float64(e)


# -- the functions ---------------------------------------------------------------------
@_jit
def vm_exp(x):
    """exp(x), branch-free."""
    x = np.float64(x)
    xc = x if x < 710.0 else 710.0
    xc = xc if xc > -746.0 else -746.0   # nan goes here too; restored below
    fn, n = _round(xc * _LOG2E)
    r = (xc - fn * _LN2_HI) - fn * _LN2_LO
    result = _scale(1.0 + _expm1_poly(r), n)
    return result if x == x else x


@_jit
def vm_expm1(x):
    """exp(x) - 1, branch-free, accurate near 0."""
    x = np.float64(x)
    xc = x if x < 710.0 else 710.0
    xc = xc if xc > -45.0 else -45.0     # expm1(-45) rounds to -1
    fn, n = _round(xc * _LOG2E)
    r = (xc - fn * _LN2_HI) - fn * _LN2_LO
    q = _expm1_poly(r)
    # 2**n - 1 is exact for n <= 52: 2**n * q + (2**n - 1) keeps q's accuracy
    n_small = n if n < 52 else 52
    p = _pow2(n_small)
    small = p * q + (p - 1.0)
    large = _scale(q + 1.0, n) - 1.0
    result = large if n > 52 else small
    result = x if x == 0.0 else result   # keeps -0.0
    return result if x == x else x


@_jit
def vm_log(x):
    """log(x), branch-free: -inf at 0, nan below, denormals scaled first."""
    x = np.float64(x)
    tiny = x < _MIN_NORMAL
    u = x * _TWO52 if tiny else x
    f, k = _split_mantissa(u)
    k = k - 52.0 if tiny else k
    result = _log1p_kernel(f, k, 0.0)
    result = -_INF if x == 0.0 else result
    result = _NAN if x < 0.0 else result
    return result if x < _INF else x     # +inf and nan pass through


@_jit
def vm_log1p(x):
    """log(1 + x), branch-free, accurate near 0."""
    x = np.float64(x)
    u = 1.0 + x
    # the rounding error of 1 + x, exactly (Fast2Sum, larger operand first)
    err = (x - (u - 1.0)) if abs(x) <= 1.0 else (1.0 - (u - x))
    uc = u if u > _MIN_NORMAL else 1.0   # x <= -1: replaced below
    f, k = _split_mantissa(uc)
    result = _log1p_kernel(f, k, err / uc)
    result = x if x == 0.0 else result   # keeps -0.0
    result = -_INF if x == -1.0 else result
    result = _NAN if x < -1.0 else result
    return result if x < _INF else x


@_jit
def vm_tanh(x):
    """tanh(x) = sign(x) * e / (e + 2) with e = expm1(2|x|), branch-free."""
    x = np.float64(x)
    a = abs(x)
    a = a if a < 40.0 else 40.0          # tanh(40) is 1.0 in float64
    e = vm_expm1(2.0 * a)
    t = e / (e + 2.0)
    t = -t if x < 0.0 else t
    t = x if a < 1e-300 else t           # +-0 and the smallest denormals exactly
    return t if x == x else x


@_jit
def vm_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp(-|x|) only."""
    x = np.float64(x)
    e = vm_exp(-abs(x))
    d = 1.0 + e
    return 1.0 / d if x >= 0.0 else e / d   # nan: e / d is nan


@_jit
def _reduce_pio2(x):
    """(y0, y1, n): x = n*pi/2 + y0 + y1, |y0 + y1| <= pi/4, for |x| <= SIN_COS_BOUND."""
    fn, n = _round(x * _TWO_OVER_PI)
    t = x - fn * _PIO2_1                 # exact
    w = fn * _PIO2_2
    r = t - w
    w = fn * _PIO2_2T - ((t - r) - w)
    t = r
    w = fn * _PIO2_3
    r = t - w
    w = fn * _PIO2_3T - ((t - r) - w)
    y0 = r - w
    y1 = (r - y0) - w
    return y0, y1, n


@_jit
def _sin_kernel(y0, y1, z):
    p = _S7
    p = _mul_add(p, z, _S6)
    p = _mul_add(p, z, _S5)
    p = _mul_add(p, z, _S4)
    p = _mul_add(p, z, _S3)
    p = _mul_add(p, z, _S2)
    v = z * y0
    return y0 - ((z * (0.5 * y1 - v * p) - y1) - v * _S1)


@_jit
def _cos_kernel(y0, y1, z):
    p = _C7
    p = _mul_add(p, z, _C6)
    p = _mul_add(p, z, _C5)
    p = _mul_add(p, z, _C4)
    p = _mul_add(p, z, _C3)
    p = _mul_add(p, z, _C2)
    half_z = 0.5 * z
    w = 1.0 - half_z
    return w + (((1.0 - w) - half_z) + (z * z * p - y0 * y1))


@_jit
def sin_cos_in_range(x):
    """True where vm_sin/vm_cos are accurate: |x| <= SIN_COS_BOUND, inf or nan."""
    x = np.float64(x)
    return not (abs(x) > SIN_COS_BOUND) or abs(x) == _INF


@_jit
def _sin_cos(x, want_cos):
    x = np.float64(x)
    inside = abs(x) <= SIN_COS_BOUND
    xr = x if inside else 0.0
    y0, y1, n = _reduce_pio2(xr)
    z = y0 * y0
    s = _sin_kernel(y0, y1, z)
    c = _cos_kernel(y0, y1, z)
    q = n + 1 if want_cos else n         # cos(x) = sin(x + pi/2)
    swap = (q & 1) != 0
    negate = (q & 2) != 0
    v = c if swap else s
    v = -v if negate else v
    return v if inside else _NAN         # inf, nan and |x| beyond the bound


@_jit
def vm_sin(x):
    """sin(x) for |x| <= SIN_COS_BOUND (nan beyond it and for inf/nan)."""
    x = np.float64(x)
    result = _sin_cos(x, False)
    return x if abs(x) < 1e-300 else result   # keeps -0.0


@_jit
def vm_cos(x):
    """cos(x) for |x| <= SIN_COS_BOUND (nan beyond it and for inf/nan)."""
    return _sin_cos(x, True)


# -- integration with the code generator ---------------------------------------------
# How the generator uses this module (one fused loop per kernel):
# 1. when sg.config.vector_math is on and the loop is long enough to vectorise,
#    write ``vector_math_call(op, arg, dtype)`` instead of ``np.<op>(arg)`` for
#    every op in VECTOR_MATH (None: keep the libm expression);
# 2. for an op with a range check (``range_check_call``), OR its negation into
#    a flag in the same loop, ``outside |= not sin_cos_in_range(v3)``, and after
#    the loop, if the flag is set, run the same loop written with libm (rare:
#    |x| > 823549 in a sin or cos);
# 3. put IMPORT_LINE at the top of the generated module and SOURCE_HASH in its
#    text: Numba's on-disk cache does not see changes in functions a cached
#    kernel inlines, so the hash must change the module's name.

#: op name -> (vectorisable function name in this module, range predicate or None).
VECTOR_MATH = {
    "exp": ("vm_exp", None),
    "expm1": ("vm_expm1", None),
    "log": ("vm_log", None),
    "log1p": ("vm_log1p", None),
    "tanh": ("vm_tanh", None),
    "sigmoid": ("vm_sigmoid", None),
    "sin": ("vm_sin", "sin_cos_in_range"),
    "cos": ("vm_cos", "sin_cos_in_range"),
}

IMPORT_LINE = ("from compiler.codegen.vecmath import "
               + ", ".join(sorted({f for pair in VECTOR_MATH.values() for f in pair if f})))

with open(__file__, "rb") as _source:
    #: identifies this module's code, for the names of cached generated modules
    SOURCE_HASH = hashlib.sha256(_source.read()).hexdigest()[:16]


def vector_math_call(op: str, argument: str, dtype) -> str | None:
    """The scalar expression computing ``op`` of the expression ``argument``
    with this module's functions, or None when ``op`` has none (keep libm).

    float32 is computed in float64 and rounded once, so the result stays float32.
    """
    entry = VECTOR_MATH.get(op)
    if entry is None:
        return None
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return f"{entry[0]}({argument})"
    if dtype == np.float32:
        return f"np.float32({entry[0]}(np.float64({argument})))"
    return None


def range_check_call(op: str, argument: str) -> str | None:
    """The boolean expression true where ``op``'s vector-math function is
    accurate for ``argument``, or None when it is accurate everywhere."""
    entry = VECTOR_MATH.get(op)
    return None if entry is None or entry[1] is None else f"{entry[1]}({argument})"


_LOOPS: dict = {}


def elementwise_loop(function):
    """A compiled ``loop(x, out)`` writing ``function(x[i])`` into ``out``
    (1-d, any float dtype; float32 goes through float64). Cached per function."""
    loop = _LOOPS.get(function)
    if loop is None:
        @numba.njit(error_model="numpy", nogil=True)
        def loop(x, out):
            for i in range(x.shape[0]):
                out[i] = function(x[i])
        _LOOPS[function] = loop
    return loop

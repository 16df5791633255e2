"""A correct number or a clear error: the reproducers of issue 14.

Every fix holds on the reference interpreter and on the compiled kernel, on
the first call of a specialisation (answered from the trace) and on later
calls (the kernel): each test calls its function at least twice per backend.
"""
import numpy as np
import pytest

import staticgrad as sg
from staticgrad.errors import UnsupportedOperationError

BACKENDS = ["interpreter", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    saved = sg.config.backend
    sg.config.backend = request.param
    yield request.param
    sg.config.backend = saved


def _twice(f, *args):
    """f(*args) on the first and on a later call: both must agree."""
    first = f(*args)
    later = f(*args)
    np.testing.assert_allclose(later, first)
    return later


# -- 2. out-of-bounds integer indices -----------------------------------------------
def _sum_sq_at(x, i):
    return np.sum(x[i] ** 2)


def test_index_argument_out_of_bounds_raises(backend):
    g = sg.grad(_sum_sq_at)
    x = np.arange(5.0)
    for _ in range(2):  # at trace time, then from the kernel
        with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
            g(x, np.array([7]))
    np.testing.assert_allclose(_twice(g, x, np.array([1])), [0, 2, 0, 0, 0])
    for bad in ([7], [1, -6], [5]):
        for _ in range(2):
            with pytest.raises(IndexError, match=f"index {bad[-1]} is out of bounds"):
                g(x, np.array(bad))


def test_negative_index_arguments_wrap_as_in_numpy(backend):
    g = sg.grad(_sum_sq_at)
    x = np.arange(5.0)
    expected = np.zeros(5)
    np.add.at(expected, np.array([-1, 2, -5]) % 5, 2 * x[np.array([-1, 2, -5])])
    _twice(g, x, np.array([0, 1, 2]))
    np.testing.assert_allclose(_twice(g, x, np.array([-1, 2, -5])), expected)


def test_index_bounds_inside_numba_function():
    f = sg.grad(_sum_sq_at).compile(np.arange(5.0), np.array([1]))
    np.testing.assert_allclose(f.numba_function(np.arange(5.0), np.array([-1])), [0, 0, 0, 0, 8])
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
        f.numba_function(np.arange(5.0), np.array([7]))


def test_index_update_out_of_bounds_raises(backend):
    def f(x, i, v):
        y = x.copy()
        y[1:, i] = v
        return np.sum(y ** 2)

    g = sg.grad(f, argnums=2)
    x, v = np.ones((3, 4)), np.ones((2, 2))
    _twice(g, x, np.array([0, -1]), v)
    for _ in range(2):
        with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
            g(x, np.array([0, 4]), v)


def test_python_int_index_argument_is_checked_and_wraps(backend):
    f = sg.jit(lambda x, i: x[i] * 2)
    x = np.arange(5.0)
    assert [f(x, i) for i in (1, -1, 3, -5)] == [2.0, 8.0, 6.0, 0.0]

    def g(x, i):
        y = x.copy()
        y[i] = 0.0
        y[i] += 1.0
        return y

    h = sg.jit(g)
    for i in (2, -1, 2):
        np.testing.assert_array_equal(h(x, i), g(x, i))
    for bad in (7, -6):
        for fun in (f, h):
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
                fun(x, bad)


def test_constant_index_arrays_and_ints_are_checked_at_trace_time():
    captured = np.array([0, 9])
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 0 with size 5"):
        sg.jit(lambda x: x[captured])(np.arange(5.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        sg.jit(lambda x: x[:, 3])(np.ones((2, 3)))
    negative = np.array([-1, -5])
    np.testing.assert_allclose(sg.jit(lambda x: x[negative])(np.arange(5.0)), [4, 0])


# -- 3. arguments are honoured or refused by name, never ignored -------------------------
_M = np.arange(1.0, 13.0).reshape(3, 4) * np.array([1, -1, 1, -1])
_T = np.arange(1.0, 25.0).reshape(2, 3, 4)
_V = np.array([1.5, -2.0, 0.5])

# (name, function, argument): each compared with NumPy itself on the same argument
HONOURED = [
    ("ravel_F", lambda x: np.ravel(x, order="F"), _M),
    ("method_ravel_F", lambda x: x.ravel("F"), _M),
    ("flatten_F", lambda x: x.flatten("F"), _M),
    ("reshape_F", lambda x: np.reshape(x, (2, 6), order="F"), _M),
    ("method_reshape_F", lambda x: x.reshape(6, 2, order="F"), _M),
    ("reshape_F_3d", lambda x: x.reshape((4, 6), order="F"), _T),
    ("trace_offset", lambda x: np.trace(x, offset=1) + 10 * np.trace(x, -1), _M),
    ("trace_axes", lambda x: np.trace(x, 1, 2, 0), _T),
    ("diagonal_offset", lambda x: np.diagonal(x, 1), _M),
    ("diagonal_negative_offset", lambda x: np.diagonal(x, offset=-2), _M),
    ("diagonal_3d", lambda x: np.diagonal(x), _T),
    ("diagonal_3d_axes", lambda x: x.diagonal(0, 1, 2), _T),
    ("diagonal_3d_swapped", lambda x: np.diagonal(x, 1, axis1=2, axis2=0), _T),
    ("norm_matrix_1", lambda x: np.linalg.norm(x, 1), _M),
    ("norm_matrix_inf", lambda x: np.linalg.norm(x, np.inf, axis=(0, 1)), _M),
    ("norm_matrix_minus_1", lambda x: np.linalg.norm(x, -1, axis=(1, 0)), _M),
    ("norm_matrix_minus_inf", lambda x: np.linalg.norm(x, -np.inf), _M),
    ("norm_fro_axes", lambda x: np.linalg.norm(x, "fro", axis=(1, 2), keepdims=True), _T),
    ("norm_matrix_3d_1", lambda x: np.linalg.norm(x, 1, axis=(2, 0)), _T),
    ("norm_vector_p", lambda x: np.linalg.norm(x, 3) + np.linalg.norm(x, -np.inf), _V),
    ("norm_vector_axis", lambda x: np.linalg.norm(x, 1, axis=1, keepdims=True), _M),
    ("fmax_nan", lambda x: np.fmax(x, np.nan) + np.fmin(np.nan, x) + np.fmax(x, 0.0), _V),
    ("float_power_float32", lambda x: np.float_power(x, 2), _V.astype(np.float32)),
    ("sum_dtype", lambda x: np.sum(x, dtype=np.float32), _M),
    ("mean_dtype_axis", lambda x: x.mean(axis=0, dtype=np.float32), _M),
    ("std_correction", lambda x: np.std(x, axis=1, correction=1), _M),
    ("concatenate_dtype", lambda x: np.concatenate([x, x], axis=None, dtype=np.float32), _M),
    ("moveaxis_lists", lambda x: np.moveaxis(x, [0, 1], [1, 0]), _T),
    ("moveaxis_lists_2", lambda x: np.moveaxis(x, [0, -1], [-1, 1]), _T),
]


@pytest.mark.parametrize("name,fun,x", HONOURED, ids=[c[0] for c in HONOURED])
def test_arguments_are_honoured(interpreter_backend, name, fun, x):
    expected = fun(x)
    got = _twice(sg.jit(fun), x)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    if np.asarray(expected).dtype.kind == "f" and x.dtype == np.float64:
        sg.check_grads(fun, (x,), order=1, modes=("rev",))


def test_arguments_are_honoured_by_the_kernel():
    cases = [c for c in HONOURED if c[2] is _M]

    def together(x):
        return [np.ravel(fun(x)).astype(np.float64) for _, fun, _ in cases]

    expected = np.concatenate(together(_M))
    f = sg.jit(lambda x: np.concatenate(together(x)))
    np.testing.assert_allclose(f(_M), expected, rtol=1e-6)
    np.testing.assert_allclose(f(_M), expected, rtol=1e-6)  # the kernel


def test_traced_norm_method_honours_p(interpreter_backend):
    # torch/paddle spelling, as Tensor.norm: the p-norm of all elements
    f = sg.jit(lambda x: x.norm(1) + 10 * x.norm() + 100 * x.norm(np.inf, dim=1))
    expected = (np.sum(np.abs(_M)) + 10 * np.linalg.norm(_M.ravel())
                + 100 * np.max(np.abs(_M), axis=1))
    np.testing.assert_allclose(_twice(f, _M), expected)


def test_bitwise_operators_on_integers(backend):
    i, j = np.array([3, 5, 12]), np.array([1, 4, 10])
    f = sg.jit(lambda a, b: (a & b) * 100 + (a | b) + ((a > 3) & (b > 3)))
    np.testing.assert_array_equal(_twice(f, i, j), (i & j) * 100 + (i | j) + ((i > 3) & (j > 3)))


REFUSED = [
    ("percentile method", lambda x: np.percentile(x, 50, method="nearest"), "np.percentile",
     "method='nearest'"),
    ("pad mode", lambda x: np.pad(x, 1, mode="maximum"), "np.pad", "mode='maximum'"),
    ("ravel K", lambda x: np.ravel(x, order="K"), "np.ravel", "order='K'"),
    ("reshape A", lambda x: x.reshape(12, order="A"), "np.reshape", "order='A'"),
    ("take mode", lambda x: np.take(x, [0, 5], mode="wrap"), "np.take", "mode='wrap'"),
    ("gradient edge_order", lambda x: np.gradient(x, edge_order=2), "np.gradient", "edge_order=2"),
    ("svd hermitian", lambda x: np.linalg.svd(x, hermitian=True), "np.linalg.svd", "hermitian=True"),
    ("var mean", lambda x: np.var(x, mean=np.zeros(1)), "np.var", "mean="),
    ("concatenate casting", lambda x: np.concatenate([x, x], casting="unsafe"),
     "np.concatenate", "casting='unsafe'"),
    ("ufunc where", lambda x: np.exp(x, where=x > 0), "np.exp", "where="),
    ("sum out", lambda x: np.sum(x, out=np.zeros(())), "np.sum", "out="),
    ("ufunc out", lambda x: np.add(x, x, out=np.zeros((3, 4))), "np.add", "out="),
    ("clip ufunc keyword", lambda x: np.clip(x, 0, 1, dtype=np.float32), "np.clip", "dtype="),
    ("reduce initial", lambda x: np.add.reduce(x, initial=2.0), "np.add.reduce", "initial="),
]


@pytest.mark.parametrize("name,fun,function,argument", REFUSED, ids=[c[0] for c in REFUSED])
def test_unsupported_arguments_are_refused_by_name(interpreter_backend, name, fun, function,
                                                   argument):
    with pytest.raises(UnsupportedOperationError) as info:
        sg.jit(fun)(_M)
    assert function in str(info.value) and argument in str(info.value)


def test_unsupported_calls_name_the_users_line():
    def f(x):
        return np.sum(np.fft.rfft(x).real)   # the line named

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(UnsupportedOperationError,
                       match=f"np.fft.rfft.*test_correctness.py:{line}"):
        sg.grad(f)(np.ones(3))

    def g(x):
        return np.sum(np.percentile(x, 50, method="nearest"))

    with pytest.raises(UnsupportedOperationError,
                       match=f"method='nearest'.*test_correctness.py:{g.__code__.co_firstlineno + 1}"):
        sg.grad(g)(np.ones(3))


def test_astype_follows_numpys_casting_rule(interpreter_backend):
    f = sg.jit(lambda x: x.astype(np.float32, casting="same_kind"))
    assert f(_M).dtype == np.float32
    with pytest.raises(TypeError, match="Cannot cast"):
        sg.jit(lambda x: x.astype(np.int64, casting="safe"))(_M)


def test_every_table_entry_is_bound_to_numpys_signature():
    """Each parameter of each NumPy function in the table is honoured by its
    entry, or only concerns memory layout, or is refused by name when given."""
    import inspect

    from staticgrad.numpy_api import _LAYOUT_ONLY, FUNCTIONS, _taken, public_name

    required = {"b": lambda a: a, "shape": lambda a: (3, 4), "axis1": lambda a: 0,
                "axis2": lambda a: 1, "source": lambda a: 0, "destination": lambda a: 1,
                "fill_value": lambda a: 1.0, "axis": lambda a: 0, "indices": lambda a: [0],
                "q": lambda a: 50.0, "repeats": lambda a: 2, "reps": lambda a: 2,
                "pad_width": lambda a: 1, "shift": lambda a: 1, "obj": lambda a: 0,
                "values": lambda a: a, "v": lambda a: a, "x": lambda a: a, "y": lambda a: a,
                "condition": lambda a: [True, False, True], "indices_or_sections": lambda a: 3,
                "kth": lambda a: 1, "new_shape": lambda a: 12, "n": lambda a: 2,
                "choices": lambda a: [a, a], "choicelist": lambda a: [a],
                "condlist": lambda a: [a > 0], "deg": lambda a: 1, "xp": lambda a: [0.0, 1.0],
                "fp": lambda a: [0.0, 1.0], "subscripts": lambda a: "ij"}
    checked = 0
    for func, (impl, _) in FUNCTIONS.items():
        params = list(inspect.signature(func).parameters.values())
        if not params or params[0].kind is params[0].VAR_POSITIONAL:
            continue
        for param in params[1:]:
            if (param.name in _taken(impl) or param.name in _LAYOUT_ONLY
                    or param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)):
                continue

            if any(p.default is p.empty and p.name != param.name and p.name not in required
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params[1:]):
                continue  # no sample value for a required argument

            def call(a, func=func, params=params, name=param.name, marker=object()):
                first = [a, a] if params[0].name in ("arrays", "tup") else a
                kwargs = {p.name: required[p.name](a) for p in params[1:]
                          if p.default is p.empty and p.name != name
                          and p.kind is not p.VAR_KEYWORD}
                return func(first, **kwargs, **{name: marker})

            with pytest.raises(UnsupportedOperationError,
                               match=f"{public_name(func)}.*{param.name}="):
                sg.jit(call).trace(_M)
            checked += 1
    assert checked >= 15


# -- 4. dtype promotion follows NumPy 2 (NEP 50: Python scalars are weak) -----------------
_F32 = np.array([1.5, -0.5, 2.0], np.float32)
_I32 = np.array([1, 2, 3], np.int32)
_I8 = np.array([1, -2, 3], np.int8)

# (name, function, arguments, argnums to differentiate or None)
PROMOTION = [
    ("f32_times_python_float", lambda x, s: np.sum(x * s), (_F32, 2.0), (0, 1)),
    ("f32_times_python_int", lambda x, s: x * s, (_F32, 3), None),
    ("python_float_minus_f32", lambda x, s: s - x, (_F32, 0.25), None),
    ("f32_pow_python_float", lambda x, s: np.sum(x ** s + s ** x), (_F32, 2.0), (0, 1)),
    ("f32_where_python_float", lambda x, s: np.where(x > 0, x, s), (_F32, -1.0), None),
    ("f32_clip_python_floats", lambda x, lo: np.clip(x, lo, 1.0), (_F32, -0.1), None),
    ("f32_maximum_python_float", lambda x, s: np.maximum(x, s), (_F32, 0.7), None),
    ("weak_times_weak_then_f32", lambda x, s, t: np.sum(x * (s * t) - s), (_F32, 2.0, 3.0),
     (0, 1, 2)),
    ("f32_times_numpy_float64", lambda x, s: x * s, (_F32, np.float64(2.0)), None),
    ("f32_times_0d_float64_array", lambda x, s: x * s, (_F32, np.array(2.0)), None),
    ("f32_times_f64_array", lambda x, y: np.sum(x * y), (_F32, np.ones(3)), (0, 1)),
    ("i32_plus_python_float", lambda i, s: i + s, (_I32, 0.5), None),
    ("i8_plus_python_int", lambda i, s: i + s, (_I8, 3), None),
    ("i8_times_python_float", lambda i, s: i * s, (_I8, 1.5), None),
    ("bool_plus_python_int", lambda i, s: (i > 1) + s, (_I32, 2), None),
    ("f32_compare_python_float", lambda x, s: x > s, (_F32, 0.5), None),
    ("exp_of_python_float", lambda x, s: np.exp(s) * x, (_F32, 1.0), None),  # np.float64
    ("negated_python_float", lambda x, s: -s * x, (_F32, 1.0), None),
    ("f32_times_captured_python_float", lambda x, s: x * 0.1 + s, (_F32, 1), None),
    ("f32_true_divide_python_int", lambda x, s: x / s, (_F32, 4), None),
    ("i32_true_divide_python_int", lambda i, s: i / s, (_I32, 2), None),
]


@pytest.mark.parametrize("name,fun,args,argnums", PROMOTION, ids=[c[0] for c in PROMOTION])
def test_result_dtypes_follow_numpy(interpreter_backend, name, fun, args, argnums):
    expected = np.asarray(fun(*args))
    got = np.asarray(_twice(sg.jit(fun), *args))
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    if argnums is not None:
        value, grads = sg.value_and_grad(fun, argnums=argnums)(*args)
        assert np.asarray(value).dtype == expected.dtype
        for a, g in zip([args[i] for i in argnums], grads):
            # a gradient has its argument's dtype (a Python float's is float64)
            assert np.asarray(g).dtype == np.asarray(a).dtype


def test_python_float_argument_keeps_float32_on_the_kernel():
    f = sg.value_and_grad(lambda x, s: np.sum(x * s), argnums=(0, 1))
    for _ in range(2):
        value, (gx, gs) = f(_F32, 2.0)
        assert np.asarray(value).dtype == np.float32 and gx.dtype == np.float32
        np.testing.assert_allclose(value, 6.0)
        np.testing.assert_allclose(gs, np.sum(_F32))


# -- 5. augmented assignment through a subscript; np.add.at -----------------------------
def _iadd_slice(x, v):
    y = x.copy()
    y[1:3] += v
    y[0, :] *= 2.0
    y[-1] -= v[0]
    return y


def _iadd_fancy(x, v, i):
    y = x.copy()
    y[i, :] += v           # advanced index (a copy in NumPy, then a setitem)
    y[:, [0, 2]] /= 2.0
    return y


def _view_write_through(x, v):
    y = x * 1.0
    row = y[1]             # a view: updating it updates y
    row += v[0]
    block = y[1:, ::2]
    block[0] = 7.0
    return y * 2


def _add_at(x, v, i):
    y = np.zeros_like(x)
    np.add.at(y, i, v)     # repeated indices accumulate
    np.subtract.at(y, (i, 0), 1.5)
    return y * x


AUGMENTED = [
    ("slice", _iadd_slice, (np.arange(12.0).reshape(4, 3), np.ones((2, 3)) * 0.5)),
    ("fancy", _iadd_fancy, (np.arange(12.0).reshape(4, 3), np.array([1.0, 2.0, 3.0]),
                            np.array([0, 2, 2]))),
    ("view", _view_write_through, (np.arange(12.0).reshape(4, 3), np.array([0.25]))),
    ("add_at", _add_at, (np.arange(12.0).reshape(4, 3), np.ones((4, 3)) * 0.5,
                         np.array([1, 1, 3, 1]))),
]


@pytest.mark.parametrize("name,fun,args", AUGMENTED, ids=[c[0] for c in AUGMENTED])
def test_augmented_assignment_through_a_subscript(backend, name, fun, args):
    np.testing.assert_allclose(_twice(sg.jit(fun), *args), fun(*args))
    floats = tuple(k for k, a in enumerate(args) if a.dtype.kind == "f")
    w = np.random.default_rng(0).standard_normal(fun(*args).shape)
    grads = _twice_tuple(sg.grad(lambda *a: np.sum(fun(*a) * w), argnums=floats), *args)
    for k, g in zip(floats, grads):
        np.testing.assert_allclose(g, _numerical_grad(lambda *a: np.sum(fun(*a) * w), args, k),
                                   rtol=1e-6, atol=1e-8)


def _twice_tuple(f, *args):
    first, later = f(*args), f(*args)
    for a, b in zip(first, later):
        np.testing.assert_allclose(a, b)
    return later


def _numerical_grad(f, args, k, h=1e-6):
    x = np.array(args[k], dtype=float)
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        a_up = list(args); a_up[k] = up
        a_down = list(args); a_down[k] = down
        g[j] = (f(*a_up) - f(*a_down)) / (2 * h)
    return g


def test_inplace_update_of_an_input_view_is_still_an_error():
    def f(x):
        x[1:] += 1.0
        return np.sum(x)

    with pytest.raises(sg.InPlaceMutationError, match="input"):
        sg.jit(f)(np.ones(3))


# -- 6. non-array Python arguments are static ---------------------------------------------
import enum


class Reduction(enum.Enum):
    SUM = "sum"
    MEAN = "mean"


def _loss(x, reduction="mean", activation=None, scale=2.0):
    y = x * scale if activation is None else activation(x) * scale
    if isinstance(reduction, Reduction):
        reduction = reduction.value
    return np.sum(y) if reduction == "sum" else np.mean(y)


@pytest.mark.parametrize("args,kwargs", [
    (("sum",), {}), (("mean",), {}), ((), {"reduction": "sum"}),
    ((Reduction.SUM,), {}), ((Reduction.MEAN, np.tanh), {}), (("sum", None, 3.0), {}),
    ((), {"reduction": "sum", "activation": np.sin}),
], ids=["str", "str2", "kwarg", "enum", "enum_callable", "none_float", "kwarg_callable"])
def test_non_array_arguments_are_static(backend, args, kwargs):
    x = np.array([0.5, -1.0, 2.0])
    f = sg.value_and_grad(_loss)
    expected = _loss(x, *args, **kwargs)
    for _ in range(2):
        value, g = f(x, *args, **kwargs)
        np.testing.assert_allclose(value, expected)
        np.testing.assert_allclose(g, _numerical_grad(lambda x: _loss(x, *args, **kwargs), (x,), 0),
                                   rtol=1e-6)


def test_static_values_are_part_of_the_cache_key():
    f = sg.jit(lambda x, how: np.sum(x) if how == "sum" else np.max(x))
    x = np.array([1.0, 3.0])
    assert f(x, "sum") == 4.0 and f(x, "max") == 3.0 and f(x, "sum") == 4.0
    assert f(x, ("max", None)[0]) == 3.0
    info = f.cache_info()
    assert info.specializations == 2 and info.hits >= 2
    assert any("static" in r for r in info.retraces)


def test_unhashable_non_array_argument_is_a_clear_error():
    class Options:
        __hash__ = None

    with pytest.raises(sg.ArgumentTypeError, match="Options.*hashable"):
        sg.jit(lambda x, o: x)(np.ones(2), Options())


# -- 10. clear errors ---------------------------------------------------------------
def test_object_array_argument_is_a_clear_error():
    with pytest.raises(sg.ArgumentTypeError, match="dtype object"):
        sg.grad(lambda x: np.sum(x))(np.array([1.0, "a"], dtype=object))


# -- 8. hessian and jacobian with tuple argnums ------------------------------------------
def _coupled(x, y):
    return np.sum(x ** 2 * y[0]) + np.sum(np.sin(y) * x[1]) + y[1] ** 3


def test_hessian_with_tuple_argnums_gives_nested_blocks(backend):
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25])
    h = sg.hessian(_coupled, argnums=(0, 1))
    for _ in range(2):
        blocks = h(x, y)
        assert isinstance(blocks, tuple) and all(isinstance(row, tuple) for row in blocks)
        assert [[b.shape for b in row] for row in blocks] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
        full = np.block([[blocks[0][0], blocks[0][1]], [blocks[1][0], blocks[1][1]]])

        def flat(z):
            return _coupled(z[:3], z[3:])

        grad = sg.grad(flat)
        z = np.concatenate([x, y])
        expected = np.stack([_numerical_grad(lambda z: grad(z)[k], (z,), 0) for k in range(5)])
        np.testing.assert_allclose(full, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sg.hessian(_coupled, argnums=1)(x, y), blocks[1][1])


def test_jacobian_with_tuple_argnums_and_tuple_outputs(backend):
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25])
    jac = sg.jacobian(lambda x, y: (x * y[0], np.sum(y) * x[:2]), argnums=(0, 1))
    for _ in range(2):
        (jxa, jya), (jxb, jyb) = jac(x, y)
        np.testing.assert_allclose(jxa, np.eye(3) * y[0])
        np.testing.assert_allclose(jya, np.stack([x, np.zeros(3)], axis=1))
        np.testing.assert_allclose(jxb, np.eye(2, 3) * np.sum(y))
        np.testing.assert_allclose(jyb, np.stack([x[:2], x[:2]], axis=1))
    single = sg.jacobian(lambda x, y: x * y[0], argnums=(0, 1))(x, y)
    assert isinstance(single, tuple) and len(single) == 2


# -- 9. a trajectory built in a Python loop and stacked ----------------------------------
def _trajectory(n):
    def f(x0, v):
        x, traj = x0, []
        for _ in range(n):
            x = x + 0.1 * np.sin(x) * v
            traj.append(x)
        return np.sum(np.stack(traj, axis=1) ** 2)
    return f


def test_stacked_trajectory_is_correct(backend):
    # 20 parts: more than a kernel reads through, so the stack is copied part by part
    f = _trajectory(20)
    x0, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -0.25])
    value, g = _twice_tuple(sg.value_and_grad(f), x0, v)
    np.testing.assert_allclose(value, f(x0, v))
    np.testing.assert_allclose(g, _numerical_grad(f, (x0, v), 0), rtol=1e-6)


def test_trajectory_trace_grows_linearly():
    sizes = {}
    for n in (50, 100, 200):
        traced = sg.grad(_trajectory(n)).trace(np.ones(3), np.ones(3))
        sizes[n] = len(traced.raw)
    # a fixed number of nodes per step (plus a constant): no copy of the list per append
    per_step = (sizes[200] - sizes[100]) / 100
    assert per_step == (sizes[100] - sizes[50]) / 50
    assert per_step <= 20


def test_grad_of_a_function_returning_a_tuple_names_it():
    def loss_and_pred(x):
        return np.sum(x ** 2), x * 2

    with pytest.raises(sg.NonScalarOutputError) as info:
        sg.grad(loss_and_pred)(np.ones(2))
    message = str(info.value)
    assert "tuple" in message and "has_aux" in message and "value_and_grad" in message
    assert "loss_and_pred" in message and "test_correctness.py" in message
    g, aux = sg.grad(loss_and_pred, has_aux=True)(np.ones(2))  # the suggestion works
    np.testing.assert_allclose(g, [2.0, 2.0])
    np.testing.assert_allclose(aux, [2.0, 2.0])


def test_storing_a_traced_value_into_a_numpy_buffer_says_so():
    def f(x):
        out = np.zeros(3)
        out[0] = np.sum(x ** 2)   # the line the message names
        return np.sum(out)

    line = f.__code__.co_firstlineno + 2
    with pytest.raises(sg.TracerConversionError) as info:
        sg.grad(f)(np.ones(2))
    message = str(info.value)
    assert "stored into a NumPy array" in message and "np.stack" in message
    assert f"test_correctness.py:{line}" in message

    def g(x):
        out = np.zeros((2, 2))
        out[0] = x                # a whole row: NumPy asks for the array itself
        return np.sum(out)

    with pytest.raises(sg.TracerConversionError, match=r"test_correctness.py:\d+.*np.stack"):
        sg.grad(g)(np.ones(2))


# -- 1. NumPy functions on eager Tensors that require grad --------------------------------
import types
import warnings

# Functions that write or read files, print, or change NumPy's global state:
# not called here (they have nothing to differentiate).
_NOT_CALLED = {
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt",
    "fromfile", "fromregex", "info", "show_config", "show_runtime", "seterr", "seterrcall",
    "setbufsize", "set_printoptions", "printoptions", "test", "source", "get_include",
    "getbufsize", "geterr", "geterrcall", "get_printoptions",
}


def _numpy_public_functions():
    for module, prefix in ((np, "np."), (np.linalg, "np.linalg.")):
        for name in sorted(dir(module)):
            fn = getattr(module, name)
            if name.startswith("_") or name in _NOT_CALLED or isinstance(
                    fn, (type, types.ModuleType)) or not callable(fn):
                continue
            yield prefix + name, fn


def _detached(out) -> bool:
    """A floating value that is not a Tensor recording its gradient."""
    if isinstance(out, sg.Tensor):
        return out.dtype.kind in "fc" and not out.requires_grad
    if isinstance(out, (np.ndarray, np.generic)):
        return out.dtype.kind in "fc"
    if isinstance(out, (float, complex)):
        return True
    if isinstance(out, (list, tuple)):
        return any(_detached(v) for v in out)
    if isinstance(out, dict):
        return any(_detached(v) for v in out.values())
    return False


def test_every_numpy_function_on_a_requires_grad_tensor_is_recorded_or_refused():
    base = np.array([[2.0, 1.0], [0.5, 3.0]])
    checked, recorded, refused = 0, 0, 0
    problems = []
    for name, fn in _numpy_public_functions():
        for extra in ((), ("t",), (1,)):
            t = sg.tensor(base, requires_grad=True)
            args = (t,) + tuple(t if e == "t" else e for e in extra)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = fn(*args)
            except UnsupportedOperationError as e:
                refused += 1
                # (aliases are named by the function's own name: np.acos is np.arccos)
                if fn.__name__ not in str(e) and "cannot be converted to a NumPy" not in str(e):
                    problems.append(f"{name}{extra}: refused without its name: {e}")
                continue
            except Exception:
                continue    # NumPy's own refusal of these arguments
            finally:
                np.testing.assert_array_equal(t.detach().numpy(), base)  # never changed
            checked += 1
            if _detached(out):
                problems.append(f"{name}{extra} returned a value without its gradient: "
                                f"{type(out).__name__}")
            elif isinstance(out, sg.Tensor) and out.requires_grad:
                recorded += 1
    assert not problems, "\n".join(problems)
    assert recorded > 50 and refused > 100, (recorded, refused)


def test_eager_reproducers_are_refused_by_name():
    for name, fn in [("np.linalg.eigvals", lambda a: np.linalg.eigvals(a).real),
                     ("np.fft.fft", lambda a: np.fft.fft(a).real),
                     ("np.unique", np.unique), ("np.linalg.eig", lambda a: np.linalg.eig(a)[0])]:
        a = sg.tensor([[2.0, 1.0], [0.5, 3.0]], requires_grad=True)
        with pytest.raises(UnsupportedOperationError, match=name.replace(".", r"\.")):
            y = fn(a) + a.sum()
            y.backward()
    with sg.no_grad():   # nothing to record: NumPy's value
        a = sg.tensor([[2.0, 1.0], [0.5, 3.0]], requires_grad=True)
        assert np.isclose(np.linalg.det(a), 5.5)
    assert np.isclose(np.linalg.det(a.detach()), 5.5)


def test_conversions_of_a_requires_grad_tensor():
    a = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(UnsupportedOperationError, match="detach"):
        np.asarray(a)
    np.testing.assert_array_equal(np.asarray(a.detach()), [1.0, 2.0])
    with sg.no_grad():
        np.testing.assert_array_equal(np.asarray(a), [1.0, 2.0])
    # what needs no gradient keeps working
    assert sg.zeros_like(a).shape == (2,) and sg.ones_like(a).dtype == a.dtype
    assert sg.tensor(a).tolist() == [1.0, 2.0] and float(a.sum()) == 3.0
    assert np.argmax(a) == 1 and np.shape(a) == (2,) and "requires_grad" in repr(a)


# -- 7. np.moveaxis with sequences of axes --------------------------------------------
def test_moveaxis_with_lists(backend):
    w = np.arange(24.0).reshape(3, 2, 4)

    def f(x):
        return np.sum(np.moveaxis(x, [0, 1], [1, 0]) * w)

    g = _twice(sg.grad(f), _T)
    np.testing.assert_allclose(g, np.moveaxis(w, [1, 0], [0, 1]))
    np.testing.assert_allclose(_twice(sg.jit(f), _T), f(_T))

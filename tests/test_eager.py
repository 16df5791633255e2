"""The eager Tensor API: PyTorch/Paddle/TensorFlow semantics, checked against
the functional transforms (sg.grad / sg.vjp of the same NumPy code), and the
static mode of its backward."""
import gc
import weakref

import numpy as np
import pytest

import staticgrad as sg
from staticgrad.eager import Tensor

CONFIGURED_BACKEND = sg.config.backend
pytestmark = pytest.mark.usefixtures("interpreter_backend")
rng = np.random.default_rng(0)


def leaf(array, dtype=np.float64):
    return sg.tensor(np.asarray(array, dtype), requires_grad=True)


# -- gradients agree with the functional API on the same NumPy code ------------------
W = rng.standard_normal((4, 3))
FUNCTIONS = {
    "sin_times_x": lambda x: np.sum(np.sin(x) * x),
    "tanh_matmul_mean": lambda x: np.mean(np.tanh(x @ W) ** 2),
    "maximum_square": lambda x: np.sum(np.maximum(x, 0.3) ** 2),
    "slices": lambda x: (x[1:] * x[:-1]).sum(),
    "where_cube": lambda x: np.sum(np.where(x > 0, x, -x) ** 3),
    "norm": lambda x: np.linalg.norm(x),
    "softmax_weighted": lambda x: np.sum(np.exp(x) / np.sum(np.exp(x)) * x),
    "broadcast_outer": lambda x: np.sum(np.reshape(x, (4, 1)) * np.reshape(x, (1, 4)) / (1 + x)),
    "exp_log_sqrt": lambda x: np.sum(np.log(1 + np.exp(x)) + np.sqrt(x * x + 1)),
    "reductions": lambda x: np.max(x) + np.min(x) * np.prod(x) + np.mean(x, axis=0),
    "transpose_reshape": lambda x: np.sum(np.reshape(x, (2, 2)).T @ np.reshape(x, (2, 2))),
    "division_power": lambda x: np.sum(x ** 2 / (x ** 2 + 1) - 2 ** x),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_eager_gradient_equals_functional_grad(name):
    f = FUNCTIONS[name]
    x = rng.standard_normal(4)
    t = leaf(x)
    out = f(t)
    assert isinstance(out, Tensor) and out.grad_fn is not None
    np.testing.assert_allclose(out.data, f(x), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(t.grad.data, sg.grad(f)(x), rtol=1e-10, atol=1e-12)


def test_numpy_functions_and_methods_on_tensors_return_tensors():
    t = leaf([1.0, 2.0, 3.0])
    for result in (np.sin(t), np.sum(t), np.where(t > 1, t, 0), t.sum(), t.mean(),
                   t.norm(), t.dot(t), sg.sigmoid(t), t @ t, t[1:], t.T, np.maximum(t, 2.0)):
        assert isinstance(result, Tensor) and result.requires_grad
    assert isinstance(np.isfinite(t), Tensor)  # no derivative needed: evaluated


def test_module_functions_accept_tensors_traced_values_and_arrays():
    x = rng.standard_normal(3)

    def f(v):
        return sg.sum(sg.sigmoid(v) * sg.exp(v)) + sg.mean(sg.tanh(v))

    assert isinstance(f(sg.tensor(x)), Tensor)
    np.testing.assert_allclose(np.asarray(f(x)), f(sg.tensor(x)).data)
    t = leaf(x)
    f(t).backward()
    np.testing.assert_allclose(t.grad.data, sg.grad(f)(x), rtol=1e-12)


def test_a_numpy_function_without_a_rule_is_refused_on_tensors_requiring_grad():
    t = leaf([1.0, 2.0])
    with pytest.raises(sg.UnsupportedOperationError, match="rfft"):
        np.fft.rfft(t)
    np.testing.assert_allclose(np.asarray(np.fft.rfft(t.detach())), np.fft.rfft([1.0, 2.0]))


def test_numpy_table_functions_work_on_tensors():
    t = leaf([1.0, 2.0, 4.0])
    np.sum(np.cumsum(t) * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_allclose(t.grad.data, [6.0, 5.0, 3.0])


# -- PyTorch semantics ---------------------------------------------------------------------
def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf([1.0, -2.0])
    (x ** 2).sum().backward()
    (x ** 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3 * x.data ** 2)
    x.grad.zero_()
    (x ** 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2)


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 3
    kept = x * 3
    kept.retain_grad()
    ((h ** 2).sum() + (kept ** 2).sum()).backward()
    assert h.grad is None and not h.is_leaf and x.is_leaf
    np.testing.assert_allclose(kept.grad.data, 2 * kept.data)
    np.testing.assert_allclose(x.grad.data, 2 * (2 * 3 * h.data))


def test_second_backward_through_a_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x ** 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    y = (x ** 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * 2 * x.data)
    z = (x ** 3).sum()
    z.backward(create_graph=True)  # retain_graph defaults to True here
    z.backward()


def test_nonscalar_backward_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError,
                       match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(sg.ones(3))


def test_gradient_weights_outputs_as_vjp():
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)

    def f(a):
        return np.sin(a) * a[::-1]

    t = leaf(x)
    f(t).backward(gradient=sg.tensor(v))
    (expected,) = sg.vjp(f, x)[1](v)
    np.testing.assert_allclose(t.grad.data, expected, rtol=1e-12)


def test_backward_of_a_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (sg.tensor([1.0, 2.0]) * 2).sum().backward()


def test_inputs_limit_accumulation():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[x])
    np.testing.assert_allclose(x.grad.data, w.data)
    assert w.grad is None


def test_create_graph_gives_second_derivatives():
    x = sg.tensor(2.0, requires_grad=True)
    (g,) = sg.autograd.grad(x ** 3, x, create_graph=True)
    assert g.grad_fn is not None
    (g2,) = sg.autograd.grad(g, x)
    assert g2.item() == pytest.approx(12.0)
    assert g2.item() == pytest.approx(sg.grad(sg.grad(lambda v: v ** 3))(2.0))


def test_create_graph_through_intermediate_values_matches_the_hessian():
    x = rng.standard_normal(3)

    def f(a):
        return np.sum(np.tanh(a) * np.exp(a[::-1]))

    t = leaf(x)
    f(t).backward(create_graph=True)
    v = rng.standard_normal(3)
    (hv,) = sg.autograd.grad((t.grad * sg.tensor(v)).sum(), t)
    np.testing.assert_allclose(hv.data, sg.hessian(f)(x) @ v, rtol=1e-10)


def test_create_graph_makes_no_reference_cycle():
    gc.collect()
    gc.disable()
    try:
        x = sg.tensor([2.0], requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        assert x.grad.grad_fn is not None
        alive = weakref.ref(x)
        del x
        assert alive() is None  # freed by reference counting alone
    finally:
        gc.enable()


def test_inplace_change_of_a_saved_tensor_is_detected():
    x = leaf([1.0, 2.0])
    b = x * 1
    c = (b * b).sum()
    with sg.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.backward()


def test_inplace_change_of_an_unsaved_tensor_is_harmless():
    x = leaf([1.0, 2.0])
    b = x * 1
    c = (b + 1).sum()  # add saves nothing
    with sg.no_grad():
        b.add_(1)
    c.backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_inplace_on_a_leaf_requiring_grad_raises_except_under_no_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 5.0
    with sg.no_grad():
        x -= 1
    np.testing.assert_allclose(x.data, [0.0, 1.0])
    assert x.is_leaf and x.requires_grad


def test_setitem_joins_the_graph():
    x = leaf([[-1.5], [2.7]])
    y = sg.empty([3, 1], dtype=sg.float64)
    y[0] = x[0] ** 2
    y[1] = x[1] ** 3
    y[2] = x[1] ** 4
    assert type(y.grad_fn).__name__ == "CopySlicesBackward0"
    v = rng.standard_normal((3, 1))
    y.backward(gradient=v)

    def f(a):
        return np.concatenate([a[0] ** 2, a[1] ** 3, a[1] ** 4])

    (expected,) = sg.vjp(f, x.data)[1](v.reshape(3))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_detach_and_no_grad_record_nothing():
    x = leaf([1.0, 2.0])
    assert (x.detach() * 2).grad_fn is None
    with sg.no_grad():
        assert (x * 2).grad_fn is None

    @sg.no_grad()
    def double(t):
        return t * 2

    @sg.no_grad
    def triple(t):
        return t * 3

    assert double(x).grad_fn is None and triple(x).grad_fn is None
    assert (x * 2).grad_fn is not None
    with sg.no_grad():
        with sg.enable_grad():
            assert (x * 2).grad_fn is not None
    with sg.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert (x * 2).grad_fn is not None


def test_autograd_grad_returns_without_accumulating():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = sg.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None
    unused = leaf([1.0])
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        sg.autograd.grad((x * 2).sum(), [x, unused])
    assert sg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        sg.autograd.grad((x * 2).sum(), [sg.tensor([1.0])])


def test_autograd_backward_with_several_outputs_and_weights():
    x = leaf([1.0, 2.0])
    sg.autograd.backward([(x ** 2).sum(), x * 3], [None, sg.tensor([1.0, -1.0])])
    np.testing.assert_allclose(x.grad.data, 2 * x.data + np.array([3.0, -3.0]))


def test_paddle_spelling():
    x = sg.to_tensor([1.0, 2.0], dtype="float32", stop_gradient=False)
    assert x.requires_grad and not x.stop_gradient and x.dtype == np.float32
    sg.autograd.backward(sg.sum(x ** 2), None, True)
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    assert sg.to_tensor([1.0]).stop_gradient


def test_requires_grad_only_changes_on_leaves():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        sg.tensor([1, 2]).requires_grad_()


def test_float32_stays_float32_with_python_scalars():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    assert x.dtype == np.float32
    y = (2.5 * x ** 2 + 1).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    assert sg.arange(4.0).dtype == np.float32 and sg.arange(4).dtype == np.int64


def test_gradient_tape():
    x = sg.tensor([1.0, 2.0, 3.0])
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = sg.reduce_sum(x ** 2)
    np.testing.assert_allclose(tape.gradient(y, x).data, 2 * x.data)
    assert not x.requires_grad  # watching lasts while the tape is open
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, x)

    v = sg.tensor([1.0, 2.0], requires_grad=True)
    with sg.GradientTape(persistent=True) as tape:
        y = sg.reduce_sum(v ** 3)
    grads = tape.gradient(y, {"v": v})
    np.testing.assert_allclose(grads["v"].data, 3 * v.data ** 2)
    np.testing.assert_allclose(tape.gradient(y, [v])[0].data, 3 * v.data ** 2)
    assert tape.gradient(y, sg.tensor([1.0], requires_grad=True)) is None


def test_nested_gradient_tapes_give_second_derivatives():
    x = sg.tensor(2.0, requires_grad=True)
    with sg.GradientTape() as outer:
        with sg.GradientTape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    assert outer.gradient(dy, x).item() == pytest.approx(12.0)


# -- printing, as PyTorch -------------------------------------------------------------------
@pytest.mark.parametrize("make, text", [
    (lambda: sg.ones(1, requires_grad=True), "tensor([1.], requires_grad=True)"),
    (lambda: sg.tensor([0.0, 4.0, 8.0, 12.0]), "tensor([ 0.,  4.,  8., 12.])"),
    (lambda: sg.zeros(4), "tensor([0., 0., 0., 0.])"),
    (lambda: sg.tensor([[-1.5], [2.7]], requires_grad=True),
     "tensor([[-1.5000],\n        [ 2.7000]], requires_grad=True)"),
    (lambda: sg.tensor(28.0, requires_grad=True) * 1, "tensor(28., grad_fn=<MulBackward0>)"),
    (lambda: sg.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: sg.tensor([True, False]), "tensor([ True, False])"),
    (lambda: sg.tensor([1, 22]), "tensor([ 1, 22])"),
    (lambda: sg.tensor([1.5], dtype=sg.float64), "tensor([1.5000], dtype=float64)"),
    (lambda: sg.tensor([]), "tensor([])"),
])
def test_repr_as_pytorch(make, text):
    assert repr(make()) == text


def test_long_tensors_are_summarised():
    text = repr(sg.arange(2000.0))
    assert text.startswith("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ...,")
    assert text.endswith("1.9990e+03])")


# -- static mode ------------------------------------------------------------------------------
def mlp_loss(X, W1, W2, Y):
    return np.mean((np.tanh(X @ W1) @ W2 - Y) ** 2)


def test_static_mode_compiles_at_the_threshold_and_reuses_with_current_values():
    sg.autograd.clear_cache()
    W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 2))
    w1, w2 = leaf(W1), leaf(W2)
    for step in range(4):
        X, Y = rng.standard_normal((6, 5)), rng.standard_normal((6, 2))
        w1.grad = w2.grad = None
        mlp_loss(sg.tensor(X), w1, w2, sg.tensor(Y)).backward()
        info = sg.autograd.cache_info()
        assert (info.builds, info.compiles, info.reuses) == (1, int(step >= 1), max(step - 1, 0))
        g1, g2 = sg.grad(mlp_loss, argnums=(1, 2))(X, w1.data, w2.data, Y)
        np.testing.assert_allclose(w1.grad.data, g1, rtol=1e-10)
        np.testing.assert_allclose(w2.grad.data, g2, rtol=1e-10)
        with sg.no_grad():
            w1 -= 0.1 * w1.grad
            w2 -= 0.1 * w2.grad


def test_compile_threshold_is_configurable_and_retained_graphs_reuse_their_backward():
    sg.autograd.clear_cache()
    saved = sg.config.eager_compile_threshold
    sg.config.eager_compile_threshold = 3
    try:
        x = leaf([1.0, 2.0])
        y = (np.sin(x) * x).sum()
        for k in range(5):
            y.backward(retain_graph=True)
        info = sg.autograd.cache_info()
        assert (info.builds, info.compiles, info.reuses, info.structures) == (1, 1, 2, 1)
        np.testing.assert_allclose(x.grad.data, 5 * sg.grad(lambda a: np.sum(np.sin(a) * a))(
            x.data))
    finally:
        sg.config.eager_compile_threshold = saved


def test_a_new_structure_is_a_new_entry():
    sg.autograd.clear_cache()
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    (x ** 3).sum().backward()
    leaf(np.ones(3)).sum().backward()
    assert sg.autograd.cache_info().builds == 3


def test_static_mode_with_the_configured_backend():
    """The one test that runs the backend sg.config selects (Numba when set)."""
    sg.autograd.clear_cache()
    saved = sg.config.backend
    sg.config.backend = CONFIGURED_BACKEND
    try:
        W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 2))
        for step in range(3):
            X, Y = rng.standard_normal((6, 5)), rng.standard_normal((6, 2))
            w1, w2 = leaf(W1 + step), leaf(W2 - step)
            mlp_loss(sg.tensor(X), w1, w2, sg.tensor(Y)).backward()
            g1, g2 = sg.grad(mlp_loss, argnums=(1, 2))(X, w1.data, w2.data, Y)
            np.testing.assert_allclose(w1.grad.data, g1, rtol=1e-9)
            np.testing.assert_allclose(w2.grad.data, g2, rtol=1e-9)
        assert sg.autograd.cache_info().compiles == 1
    finally:
        sg.config.backend = saved


def test_the_eager_mlp_example_trains(capsys):
    import pathlib
    import runpy
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "eager_mlp.py"
    runpy.run_path(str(script), run_name="__main__")
    losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()
              if line.startswith("step")]
    assert len(losses) == 6 and losses[-1] < 0.05 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))


def test_a_leaf_output_and_a_gradient_that_requires_grad():
    x = sg.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0
    w = sg.tensor([2.0], requires_grad=True)
    y = sg.tensor([1.0], requires_grad=True)
    (y * 5).backward(gradient=w * 1, create_graph=True)
    (g,) = sg.autograd.grad(y.grad.sum(), w)
    assert g.item() == 5.0


def test_data_shares_the_array_and_is_not_tracked():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    w.data.sub_(0.5 * w.grad)  # d2l's SGD: no error, no recording
    w.grad.data.zero_()
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(w.grad.numpy(), [0.0, 0.0])
    assert w.is_leaf and w.grad_fn is None
    w.data = np.array([3.0, 4.0])
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 8.0])


def test_a_changing_python_float_is_a_value_not_structure():
    sg.autograd.clear_cache()
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    for scale in (0.5, 1.5, 2.5):
        x.grad = None
        y = (scale * x ** 2 + x / scale).sum()
        assert y.dtype == np.float32
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * scale * x.detach().numpy() + 1 / scale,
                                   rtol=1e-6)
    assert sg.autograd.cache_info().builds == 1


def test_results_never_share_memory_with_their_operands():
    a = sg.tensor([1.0, 2.0, 3.0])
    for result in (a.clone(), np.positive(a), a.reshape(3), a[:], a[1:], a.T,
                   a.expand(2, 3), np.copy(a)):
        assert not np.shares_memory(np.asarray(result), np.asarray(a))


def test_gradients_made_with_create_graph_accept_later_accumulation_and_zeroing():
    x = sg.tensor(1.0, requires_grad=True)
    (2 * x).backward(create_graph=True)  # a constant gradient
    (2 * x).backward()
    assert x.grad.item() == 4.0
    x.grad.zero_()
    assert x.grad.item() == 0.0


def test_tape_keeps_each_output_gradient_with_its_target():
    x = leaf([1.0, 2.0])
    constant = sg.tensor([5.0, 5.0])  # requires no grad: contributes nothing
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    weights = [sg.tensor([1.0, 1.0]), sg.tensor([10.0, 100.0])]
    (g,) = tape.gradient([constant, y], [x], output_gradients=weights)
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy() * [10.0, 100.0])


def test_numpy_function_with_a_tensor_keyword_argument():
    x, lo = leaf([-1.0, 0.5, 2.0]), leaf([0.0, 0.0, 0.0])
    y = np.clip(x, a_min=lo, a_max=1.0)
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(lo.grad.numpy(), [1.0, 0.0, 0.0])
